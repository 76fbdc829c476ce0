"""Warm overhead of each handler with the network taken out: events/s on one core and p99 latency.

The handlers run exactly as deployed (Powertools wiring, parsing, domain), but their adapters are
in-memory: the link store is the in-memory fake, and Jira answers instantly from a fake client, so
what is measured is the bridge's own work per event.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in ("layers/shared", "functions/incident_events", "functions/jira_webhook", "functions/ci_notify", "local"):
    sys.path.insert(0, str(ROOT / path))

os.environ.update({
    "POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_METRICS_NAMESPACE": "JiraBridge",
    "LINK_TABLE_NAME": "links", "IDEMPOTENCY_TABLE_NAME": "idempotency", "CONNECTOR_SECRET_PREFIX": "bench/",
    "EVENT_BUS_NAME": "bus", "INCIDENT_EVENTS_DLQ_URL": "https://sqs.invalid/dlq", "CONFIG_DIR": str(ROOT / "config"),
    "JIRA_CHANGES_QUEUE_URL": "https://sqs.invalid/changes.fifo",
    "AWS_DEFAULT_REGION": "us-east-1",
})

from jira_bridge import adapters  # noqa: E402
from jira_bridge.connectors.model import Connector, parse_connector_secret  # noqa: E402
from jira_bridge.connectors.registry import ConnectorRegistry  # noqa: E402
from jira_bridge.connectors.routing import ConnectorRouting  # noqa: E402
from jira_bridge.incidents.jira_metadata import JiraMetadata  # noqa: E402
from jira_bridge.incidents.runbooks import load_runbooks  # noqa: E402
from jira_bridge.incidents.sync import IncidentSync, JiraSite  # noqa: E402
from jira_bridge.jira.client import CreatedIssue, JiraField, JiraUser, SearchPage, Transition  # noqa: E402
from jira_bridge.links.store import InMemoryLinkStore  # noqa: E402

SECRET = "bench-webhook-secret"  # noqa: S105 - a benchmark's own value
CI_API_KEY = "bench-ci-api-key-0123456789"


class InstantJira:
    """Answers the calls the incident flow makes, at once, like a Jira with zero latency."""

    def __init__(self) -> None:
        self.next_id = 10000
        self.status: dict[str, str] = {}

    def fields(self) -> list[JiraField]:
        return [JiraField("customfield_10041", "customfield_10041", "Severity", True, {"type": "option"})]

    def find_user_by_email(self, email: str) -> JiraUser:
        return JiraUser(account_id="acc-" + email, display_name=email, email_address=email, active=True)

    def create_issue(self, fields: Any, properties: Any = None) -> CreatedIssue:
        self.next_id += 1
        self.status[str(self.next_id)] = "To Do"
        return CreatedIssue(id=str(self.next_id), key=f"OPS-{self.next_id}")

    def get_issue(self, issue: str, fields: Any = None, properties: Any = None) -> dict[str, Any]:
        return {"fields": {"status": {"name": self.status[issue]}, "issuetype": {"name": "Incident"}}}

    def get_transitions(self, issue: str, expand_fields: bool = True) -> list[Transition]:
        graph = {"To Do": ("In Progress", "indeterminate"), "In Progress": ("In Review", "indeterminate"),
                 "In Review": ("Done", "done")}
        target, category = graph.get(self.status[issue], ("To Do", "new"))
        return [Transition(id=target, name=target, to_status_id=target, to_status_name=target,
                           to_status_category=category, has_screen=False, is_available=True)]

    def transition_issue(self, issue: str, transition_id: str, fields: Any = None, comment: Any = None) -> None:
        self.status[issue] = transition_id

    def add_comment(self, issue: str, body: Any, properties: Any = None) -> Any:
        return type("Comment", (), {"id": "1"})()

    def edit_issue(self, issue: str, fields: Any = None, update: Any = None) -> None:
        return None

    def search_jql(self, *args: Any, **kwargs: Any) -> SearchPage:
        return SearchPage(issues=[], next_page_token=None, is_last=True)


class InstantQueue:
    """SQS send_message answering at once (the network is what the benchmark leaves out)."""

    def send_message(self, **kwargs: Any) -> dict[str, str]:
        return {"MessageId": "m"}


class StaticConnectors:
    def get(self, name: str) -> Connector:
        return parse_connector_secret(name, "bench", {"site_url": "https://bench.atlassian.net", "email": "b@x.io",
                                                      "api_token": "t", "webhook_secret": SECRET})


def incident_sqs_events(count: int) -> list[dict[str, Any]]:
    base = json.loads((ROOT / "events" / "incident-created.eventbridge.json").read_text())
    events = []
    for n in range(count):
        body = json.loads(json.dumps(base))
        incident = f"INC-{n}"
        body["detail"]["incident"]["id"] = incident
        records = [{"messageId": f"m-{n}-{kind}", "receiptHandle": "r", "attributes": {"MessageGroupId": "g"},
                    "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:1:q.fifo", "awsRegion": "us-east-1",
                    "body": json.dumps(body)} for kind in ("created",)]
        changed = json.loads(json.dumps(body))
        changed["detail"].update(event_id=f"e-{n}-2", sequence=2)
        changed["detail"]["incident"]["state"] = "resolved"
        changed["detail"]["change"] = {"kind": "field_changed", "field": "state", "old_value": "triggered",
                                       "new_value": "resolved"}
        records.append({**records[0], "messageId": f"m-{n}-state", "body": json.dumps(changed)})
        events.append({"Records": records})
    return events


def webhook_events(count: int) -> list[dict[str, Any]]:
    body = (Path(ROOT.parent / "shared" / "contracts" / "jira-webhooks" /
                 "jira-issue_updated.status-transition.cloud.json")).read_bytes()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    event = {"resource": "/webhooks/jira", "path": "/webhooks/jira", "httpMethod": "POST",
             "headers": {"X-Hub-Signature": signature, "X-Atlassian-Webhook-Identifier": "1"},
             "multiValueHeaders": {}, "queryStringParameters": None, "pathParameters": None,
             "requestContext": {"requestId": "r", "stage": "v1", "resourcePath": "/webhooks/jira",
                                "httpMethod": "POST", "path": "/v1/webhooks/jira"},
             "body": body.decode(), "isBase64Encoded": False}
    return [event] * count


class InstantSoftware:
    """Jira's builds/deployments API accepting everything at once."""

    mode = "oauth"

    def cloud_id(self) -> str:
        return "bench-cloud"

    def submit_builds(self, payload: dict[str, Any]) -> Any:
        from jira_bridge.jira.software import SubmissionResult

        keys = [{"pipelineId": b["pipelineId"], "buildNumber": b["buildNumber"]} for b in payload["builds"]]
        return SubmissionResult.from_json("builds", {"acceptedBuilds": keys})

    def submit_deployments(self, payload: dict[str, Any]) -> Any:
        from jira_bridge.jira.software import SubmissionResult

        return SubmissionResult.from_json("deployments", {"acceptedDeployments": [{} for _ in payload["deployments"]]})


class InstantOnce:
    """The idempotency record kept in memory (DynamoDB is the network the benchmark leaves out)."""

    def __init__(self) -> None:
        self.done: dict[str, dict[str, Any]] = {}

    def register_lambda_context(self, context: Any) -> None:
        return None

    def __call__(self, key: str, work: Any) -> tuple[dict[str, Any], bool]:
        if key in self.done:
            return self.done[key], False
        self.done[key] = work()
        return self.done[key], True


class StaticCallers:
    def directory(self) -> Any:
        from jira_bridge.ci.callers import CallerDirectory, parse_callers_secret

        return CallerDirectory(parse_callers_secret("bench", {"callers": {"bench": {"api_key": CI_API_KEY}}}))


def ci_notify_events(count: int, per_body: int) -> list[dict[str, Any]]:
    """POST /ci/notify with an API key; every body distinct (a redelivery would cost nothing)."""
    events = []
    for n in range(count):
        notes = [{"pipeline": {"id": "acme/shop/ci.yml", "name": "shop CI"}, "build_number": n * per_body + i,
                  "url": f"https://ci.example.com/runs/{n}", "state": "success", "updated_at": "2026-11-23T03:00:00Z",
                  "pr_title": "[OPS-1] Faster checkout", "commits": [{"id": "9f1c2e4", "message": "OPS-1: cache"}],
                  "branch": "feature/OPS-1-faster-checkout"} for i in range(per_body)]
        body = json.dumps(notes[0] if per_body == 1 else {"notifications": notes})
        events.append({"resource": "/ci/notify", "path": "/ci/notify", "httpMethod": "POST",
                       "headers": {"Authorization": f"Bearer {CI_API_KEY}", "Content-Type": "application/json"},
                       "multiValueHeaders": {}, "queryStringParameters": None, "pathParameters": None,
                       "requestContext": {"requestId": "r", "stage": "v1", "resourcePath": "/ci/notify",
                                          "httpMethod": "POST", "path": "/v1/ci/notify"},
                       "body": body, "isBase64Encoded": False})
    return events


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def run(handler: Any, events: list[dict[str, Any]], per_event: int) -> dict[str, float]:
    # EMF metrics are printed to stdout as in Lambda; keep them (their cost is real) but off the screen.
    with contextlib.redirect_stdout(io.StringIO()):
        return _run(handler, events, per_event)


def _run(handler: Any, events: list[dict[str, Any]], per_event: int) -> dict[str, float]:
    context = Context()
    for event in events[:20]:  # warm up
        handler(event, context)
    samples = []
    started = time.perf_counter()
    for event in events[20:]:
        t = time.perf_counter()
        handler(event, context)
        samples.append((time.perf_counter() - t) * 1000 / per_event)
    elapsed = time.perf_counter() - started
    samples.sort()
    return {
        "events_per_second": round(len(samples) * per_event / elapsed),
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3),
    }


PATCHED = ("incident_sync", "connector_registry", "link_store", "aws_client", "ci_reporter", "ci_once", "ci_callers")


def measure(count: int = 1000) -> dict[str, Any]:
    """The handlers with in-memory adapters; the real factories and settings are restored afterwards
    (bench/run.py goes on to run the handlers against the local stack in the same process)."""
    from jira_bridge.settings import load_settings

    saved = {name: getattr(adapters, name) for name in PATCHED}
    try:
        return _measure(count)
    finally:
        for name, factory in saved.items():
            setattr(adapters, name, factory)
        load_settings.cache_clear()
        adapters.reset()


def _measure(count: int) -> dict[str, Any]:
    registry = ConnectorRegistry(ConnectorRouting(), StaticConnectors())
    jira = InstantJira()
    site = JiraSite(connector="default", client=jira, metadata=JiraMetadata(jira))  # type: ignore[arg-type]
    store = InMemoryLinkStore()
    sync = IncidentSync(runbooks=load_runbooks(ROOT / "config" / "runbooks.yaml"), links=store,
                        site_for_project=lambda _p: site, site_named=lambda _n: site)
    adapters.incident_sync = lambda _settings: sync  # type: ignore[assignment]
    adapters.connector_registry = lambda _settings: registry  # type: ignore[assignment]
    adapters.link_store = lambda _settings: store  # type: ignore[assignment]
    adapters.aws_client = lambda _service: InstantQueue()  # type: ignore[assignment]

    from jira_bridge.ci.reporting import CiReporter
    from jira_bridge.ci.sites import CiSite, SiteDirectory

    ci_site = CiSite("default", "https://bench.atlassian.net", jira, InstantSoftware())  # type: ignore[arg-type]
    reporter = CiReporter(SiteDirectory(lambda _p: "default", lambda _n: ci_site))
    adapters.ci_reporter = lambda _settings: reporter  # type: ignore[assignment]
    once = InstantOnce()
    adapters.ci_once = lambda _settings: once  # type: ignore[assignment]
    adapters.ci_callers = lambda _settings: StaticCallers()  # type: ignore[assignment]

    import ci_notify_handler
    import incident_events_handler
    import jira_webhook_handler

    return {
        "IncidentEventsFunction (create + 3-hop transition per incident)":
            run(incident_events_handler.lambda_handler, incident_sqs_events(count), per_event=2),
        "JiraWebhookFunction (verify + parse + queue)":
            run(jira_webhook_handler.lambda_handler, webhook_events(count * 2), per_event=1),
        "CiNotifyFunction (auth + parse + keys + build payload + read 202, one notification per body)":
            run(ci_notify_handler.lambda_handler, ci_notify_events(count * 2, 1), per_event=1),
        "CiNotifyFunction (10 notifications per body, one Jira request)":
            run(ci_notify_handler.lambda_handler, ci_notify_events(count // 5, 10), per_event=10),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))

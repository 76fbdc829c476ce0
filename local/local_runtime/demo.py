"""`jira-bridge local demo`: an incident's life in Jira, end to end, on loopback, in well under a minute.

Everything runs for real: the EventBridge rule, FIFO queue and tables come from template.yaml (moto),
the handlers are the ones the template names, and Jira is the simulator speaking Jira Cloud's API, or
with ``site="datacenter"`` Jira Data Center's (REST v2, wiki markup, a personal access token, CI runs
shown as remote issue links).
The last chapters run the template's queues in the local SQS model on a simulated clock, so two
hours of Jira outage and the DLQ runbook take seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import requests

from jira_sim.seed import ALICE_EMAIL
from jira_sim.webhooks import sign
from local_runtime.environment import LocalEnvironment

INCIDENT = "INC-1042"
QUIET = {
    "Parameters": {
        "POWERTOOLS_LOG_LEVEL": "ERROR",  # the timeline is the demo's output, not the functions' logs
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
}


class Timeline:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def say(self, actor: str, text: str) -> None:
        print(f"  {time.perf_counter() - self.started:6.2f}s  {actor:<10} {text}", flush=True)

    def heading(self, text: str) -> None:
        print(f"\n{text}", flush=True)


def incident_event(sequence: int, state: str, change: dict[str, Any], actor: str = "PagerDuty",
                   notes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "Source": "com.example.incidents",
        "DetailType": "Incident Changed",
        "Detail": {
            "event_id": f"demo-{sequence}", "sequence": sequence, "occurred_at": now, "source": "demo",
            "actor": {"name": actor},
            "incident": {
                "id": INCIDENT, "title": "Checkout API returns 502", "state": state, "severity": "SEV1",
                "description": "Error rate above 20% on checkout-api since 03:00 UTC.", "service": "checkout-api",
                "priority": "P1", "owner": {"name": "Alice Oncall", "email": "Alice@Example.com"},
                "url": f"https://incidents.example.com/{INCIDENT}", "notes": notes or [],
            },
            "change": change,
        },
    }


Site = Literal["cloud", "datacenter"]


def run_demo(site: Site = "cloud") -> int:
    timeline = Timeline()
    jira = "Jira Data Center 10.3" if site == "datacenter" else "Jira Cloud"
    print(f"Jira Bridge local demo: an incident's life in Jira (simulated {jira} + AWS on loopback)")
    with LocalEnvironment(env_overrides=QUIET, site=site) as env:
        _setup(timeline, env)
        bus = env.stack.resolve({"Ref": "IncidentBus"})

        def publish(event: dict[str, Any]) -> None:
            env.put_events([{**event, "EventBusName": bus}])
            env.drain()

        timeline.heading("1. An incident is created")
        timeline.say("incident", f"{INCIDENT} triggered: 'Checkout API returns 502' (SEV1, owner alice@example.com)")
        publish(incident_event(1, "triggered", {"kind": "created"}))
        issue = _issue_for(env)
        if issue is None:
            timeline.say("jira", "no issue was created (see `jira-bridge status INC-1042`)")
            return 1
        key = str(issue["key"])
        fields = issue["fields"]
        timeline.say("jira", f"{key} created: {fields['summary']!r}, status {_status(issue)}, "
                             f"priority {fields['priority']['name']}, "
                             f"assignee {(fields.get('assignee') or {}).get('displayName', '-')}"
                             + (f"; description in wiki markup: {str(fields['description']).splitlines()[0]!r}"
                                if site == "datacenter" else ""))

        timeline.heading("2. The incident is acknowledged")
        publish(incident_event(2, "acknowledged", {"kind": "field_changed", "field": "state",
                                                   "old_value": "triggered", "new_value": "acknowledged"},
                               actor="Alice Oncall"))
        timeline.say("jira", f"{key} transitioned to {_status(_view(env, key))}, with a comment")

        timeline.heading("3. A note is added to the incident")
        note = {"id": "note-1", "text": "Rolled back checkout-api to v2.14.3; error rate falling.",
                "author": {"name": "Alice Oncall"}}
        publish(incident_event(3, "acknowledged", {"kind": "note_added", "note": note}, notes=[note]))
        timeline.say("jira", f"{key} has {_comments(env, key)} comments")

        timeline.heading("4. The same event arrives again, and an old one arrives late")
        before = env.jira.count()
        publish({**incident_event(2, "acknowledged", {"kind": "field_changed", "field": "state",
                                                      "old_value": "triggered", "new_value": "acknowledged"})})
        timeline.say("bridge", f"duplicate and late events changed nothing in Jira "
                               f"({env.jira.count() - before} write requests)")

        timeline.heading("5. Someone resolves the issue in Jira")
        alice = env.jira.as_user(ALICE_EMAIL)
        alice.comment(key, "Root cause: bad deploy of checkout-api v2.15.0. Resolving.")
        path = alice.move_to(key, "Done")
        timeline.say("alice", f"comments on {key}, then moves it through {' -> '.join(path)} in Jira")
        env.jira.webhooks.wait_idle(timeout=5)
        env.drain()
        incident_requests = env.incident_requests()
        _report_webhooks(timeline, env, len(incident_requests))
        for request in incident_requests:
            detail = request["detail"]
            asked = {k: detail[k] for k in ("state", "priority", "owner_email") if detail.get(k)}
            if detail.get("note"):
                asked["note"] = detail["note"]["text"]
            timeline.say("incident", f"{request['detail-type']} for {detail['incident_id']}: {asked}")
        forged = requests.post(env.api.url("/webhooks/jira"), data=b'{"webhookEvent":"jira:issue_deleted"}',
                               headers={"X-Hub-Signature": sign(b"{}", "not-the-secret")}, timeout=5)
        timeline.say("bridge", f"a forged webhook (wrong signature) was refused with HTTP {forged.status_code}")

        # 6. A CI build whose commit says [OPS-1], then a deployment; 6b. it fires again; 6c. the issue moves
        key = _reopen_and_move_story(timeline, env, key, publish)

        _final_state(timeline, env, key)
    _outage_story(timeline, site)  # 7. Jira down for two hours, then a refusal parked, fixed and replayed
    print(f"\nDone in {time.perf_counter() - timeline.started:.1f}s.")
    return 0


def _outage_story(timeline: Timeline, site: Site = "cloud") -> None:
    """The same stack with the template's queues in the local SQS model, on a simulated clock: two
    hours of Jira outage and the DLQ runbook, in a few seconds."""
    from jira_bridge_cli.dlq_commands import Resources, Selection, run_list, run_replay
    from local_runtime.clock import SimClock

    timeline.heading("7. Jira is down for two hours (simulated clock; the template's queue settings)")
    clock = SimClock()
    quiet = {"Parameters": {**QUIET["Parameters"], "POWERTOOLS_LOG_LEVEL": "CRITICAL"}}  # the timeline says it
    with LocalEnvironment(env_overrides=quiet, queues="model", clock=clock, site=site) as env:
        bus = env.stack.resolve({"Ref": "IncidentBus"})

        def publish(incident: str, *events: dict[str, Any]) -> None:
            entries = []
            for event in events:
                detail = {**event["Detail"], "event_id": f"{incident}-{event['Detail']['sequence']}"}
                detail["incident"] = {**detail["incident"], "id": incident}
                entries.append({**event, "Detail": detail, "EventBusName": bus})
            env.put_events(entries)
            env.drain()

        def sim(label: str) -> None:
            timeline.say("clock", f"{label} at +{clock.elapsed / 60:.0f} min simulated")

        env.jira.faults.outage(seconds=2 * 3600)
        note = {"id": "note-7", "text": "Failing over to the standby region.", "author": {"name": "Alice Oncall"}}
        publish("INC-2001", incident_event(1, "triggered", {"kind": "created"}),
                incident_event(2, "triggered", {"kind": "note_added", "note": note}, notes=[note]))
        publish("INC-2002", incident_event(1, "triggered", {"kind": "created"}))
        timeline.say("jira", "answers 503 to everything; INC-2001 and INC-2002 wait in their own message groups, "
                             "retried after 10 s, 20 s, 40 s ... 15 min (no Lambda sleeps)")
        assert env.event_sources is not None  # queues="model"
        report = env.event_sources.run_until_idle(max_sim_seconds=6 * 3600)
        tries = sum(1 for d in report.deliveries if d.failed)
        sim(f"Jira back; {len(env.jira.issues())} issues created after {tries} failed tries")
        parked = env.sqs.get_queue_attributes(QueueUrl=env.stack.queue_urls["IncidentEventsDLQ"],
                                              AttributeNames=["ApproximateNumberOfMessages"])
        timeline.say("bridge", f"nothing was parked ({parked['Attributes']['ApproximateNumberOfMessages']} in "
                               f"the DLQ); INC-2001's note reached its issue after the create, in order")

        timeline.heading("8. A refusal is parked, fixed and replayed (`jira-bridge dlq`)")
        api = "/rest/api/2" if site == "datacenter" else "/rest/api/3"
        env.jira.faults.server_error(403, count=None, method="POST", path=f"{api}/issue")
        publish("INC-2003", incident_event(1, "triggered", {"kind": "created"}))
        timeline.say("jira", "refuses to create INC-2003's issue (403: the bridge's account lost permission)")
        resources = Resources(lambda service: env.sqs if service == "sqs" else env.aws.client(service),
                              env.stack.queue_urls.get, local=True)
        print("  $ jira-bridge dlq list --queue incident-events", flush=True)
        run_list(resources, "incident-events", Selection(), as_json=False, now=clock.time)
        env.jira.faults.clear()
        clock.advance(600)
        timeline.say("admin", "restores the permission in Jira ten minutes later")
        print("  $ jira-bridge dlq replay --incident INC-2003", flush=True)
        run_replay(resources, "incident-events", Selection(incident="INC-2003"), dry_run=False, now=clock.time)
        env.drain()
        keys = sorted(i.key for i in env.jira.issues())
        timeline.say("jira", f"issues now: {', '.join(keys)} (replaying again would change nothing)")


def _setup(timeline: Timeline, env: LocalEnvironment) -> None:
    counts = {kind: len(env.stack.of_type(kind)) for kind in (
        "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Events::Rule", "AWS::SecretsManager::Secret")}
    timeline.say("setup", f"AWS provisioned from template.yaml: {counts['AWS::DynamoDB::Table']} tables, "
                          f"{counts['AWS::SQS::Queue']} queues, {counts['AWS::Events::Rule']} rule, "
                          f"{counts['AWS::SecretsManager::Secret']} connector secret")
    timeline.say("setup", f"Jira simulator at {env.jira.base_url}, API routes at {env.api.url('')}")
    if env.jira.flavour == "datacenter":
        timeline.say("setup", "connector kind datacenter: REST v2, personal access token (Authorization: "
                              "Bearer), users by username, wiki markup")


def _issue_for(env: LocalEnvironment) -> dict[str, Any] | None:
    issues = env.jira.issues()
    return _view(env, issues[0].key) if issues else None


def _view(env: LocalEnvironment, key: str) -> dict[str, Any]:
    """The issue as a person sees it through Jira's REST API (not the simulator's internals)."""
    answer: dict[str, Any] = env.jira.as_user(ALICE_EMAIL).call("GET", f"/rest/api/3/issue/{key}")
    return answer


def _status(issue: dict[str, Any]) -> str:
    return str(issue["fields"]["status"]["name"])


def _comments(env: LocalEnvironment, key: str) -> int:
    return len(env.jira.issue(key).comments)


def _report_webhooks(timeline: Timeline, env: LocalEnvironment, requests_made: int) -> None:
    deliveries = [d for d in env.jira.webhooks.deliveries if d.status]
    accepted = [d for d in deliveries if d.status == 202]
    timeline.say("jira", f"sent {len(deliveries)} signed webhooks; the bridge verified and queued {len(accepted)}")
    timeline.say("bridge", f"{requests_made} became requests for the incident; the rest were the bridge's own "
                           "changes coming back (echoes) or changed nothing the incident tracks")


def _ci_story(timeline: Timeline, env: LocalEnvironment, key: str) -> None:
    """The CI side: a pipeline reports a build and a deployment; Jira's Development panel shows both."""
    from local_runtime.environment import LOCAL_CI_API_KEY

    timeline.heading(f"6. A CI build whose commit says [{key}], then a deployment to production")
    headers = {"Authorization": f"Bearer {LOCAL_CI_API_KEY}"}
    commit = f"[{key}] Pin the checkout-api connection pool\n\nv2.15.0 halved it, which caused the 502s."
    run = {
        "pipeline": {"id": "acme/checkout-api/.github/workflows/ci.yml", "name": "checkout-api CI",
                     "url": "https://github.com/acme/checkout-api/actions"},
        "build_number": 215, "url": "https://github.com/acme/checkout-api/actions/runs/215", "state": "success",
        "commits": [{"id": "4f9e2c1", "message": commit}], "branch": "fix/checkout-pool",
        "repository_url": "https://github.com/acme/checkout-api",
    }
    before = env.jira.count()
    build = requests.post(env.api.url("/ci/notify"), json=run, headers=headers, timeout=10)
    timeline.say("ci", f"build #215 of checkout-api CI succeeded; its commit says \"{commit.splitlines()[0]}\"")
    result = build.json()["results"][0]
    timeline.say("bridge", f"HTTP {build.status_code}: {result['kind']} {result['status']} for "
                           f"{', '.join(result['issueKeys'])}")
    deploy = requests.post(env.api.url("/ci/notify"), headers=headers, timeout=10,
                           json={**run, "ENVIRONMENT_NAME": "Production EU", "state": "SUCCEEDED"})
    result = deploy.json()["results"][0]
    timeline.say("ci", "build #215 deployed to \"Production EU\"")
    extra = "remote links read and upserted" if env.jira.flavour == "datacenter" else "token and cloud id included"
    timeline.say("bridge", f"HTTP {deploy.status_code}: {result['kind']} {result['status']} "
                           f"({env.jira.count() - before} Jira requests for both, {extra})")
    if env.jira.flavour == "datacenter":
        for link in env.jira.issue(key).remote_links.values():
            timeline.say("jira", f"{key} remote link ({link['relationship']}): {link['object']['title']!r} "
                                 f"-> {link['object']['url']}")
    panel = env.jira.development_info(key)
    for shown in panel["builds"]:
        timeline.say("jira", f"{key} Development panel: build {shown['displayName']!r} {shown['state']}, "
                             f"{shown['label']}")
    for shown in panel["deployments"]:
        environment = shown["environment"]
        timeline.say("jira", f"{key} Development panel: deployment to {environment['displayName']!r} "
                             f"({environment['type']}) {shown['state']}")
    gate = requests.get(env.api.url(f"/ci/approval/{key}"), headers={"X-Api-Key": LOCAL_CI_API_KEY}, timeout=10)
    answer = gate.json()
    timeline.say("bridge", f"approval gate for {key}: {answer['decision']} ({answer['reason']})")


def _reopen_and_move_story(timeline: Timeline, env: LocalEnvironment, key: str,
                           publish: Callable[[dict[str, Any]], None]) -> str:
    _ci_story(timeline, env, key)
    timeline.heading("6b. The incident fires again after it was resolved")
    publish(incident_event(4, "resolved", {"kind": "field_changed", "field": "state",
                                           "old_value": "acknowledged", "new_value": "resolved"}))
    publish(incident_event(5, "triggered", {"kind": "field_changed", "field": "state",
                                            "old_value": "resolved", "new_value": "triggered"}))
    link = _link(env)
    moved = next((a.detail for a in reversed(link.actions) if a.action == "transition"), "-") if link else "-"
    timeline.say("jira", f"{key} is {_status(_view(env, key))} again, along a path planned before the first "
                         f"move ({moved}); `reopen: {{mode: new_issue}}` in runbooks.yaml would open a new "
                         "issue instead and keep this one as history")

    timeline.heading("6c. Someone moves the issue to another project")
    new_key = env.jira.move_issue(key, "PAY", by=ALICE_EMAIL)
    env.jira.webhooks.wait_idle(timeout=5)
    env.drain()
    env.incident_requests()
    link = _link(env)
    timeline.say("jira", f"{key} is now {new_key} (same issue id); the link follows: "
                         f"{link.issue_key if link else '-'}")
    note = {"id": "note-2", "text": "Customer comms sent.", "author": {"name": "Alice Oncall"}}
    publish(incident_event(6, "triggered", {"kind": "note_added", "note": note}, notes=[note]))
    timeline.say("jira", f"a new incident note lands on {new_key}: {_comments(env, new_key)} comments")
    return new_key


def _final_state(timeline: Timeline, env: LocalEnvironment, key: str) -> None:
    timeline.heading("Final state")
    fields = _view(env, key)["fields"]
    print(f"  Jira      {key}: status {fields['status']['name']}, resolution "
          f"{(fields.get('resolution') or {}).get('name', '-')}, priority {fields['priority']['name']}, "
          f"{_comments(env, key)} comments, labels {', '.join(fields.get('labels') or [])}")
    from jira_bridge_cli.status_command import render_status

    link = _link(env)
    if link is not None:
        print("  Link      " + render_status(link).replace("\n", "\n            "))
    if env.jira.flavour == "datacenter":
        titles = [link["object"]["title"] for link in env.jira.issue(key).remote_links.values()]
        print(f"  Jira      {key} remote links: {'; '.join(titles) or 'none'}")
    else:
        panel = env.jira.development_info(key)
        print(f"  Jira      {key} Development panel: {len(panel['builds'])} build(s), "
              f"{len(panel['deployments'])} deployment(s)")
    apis = sorted({"/".join(r.path.split("/")[:4]) for r in env.jira.requests if r.path.startswith("/rest/")})
    print(f"  Jira API  {env.jira.count()} requests in all, to {', '.join(apis)} "
          f"(see {env.jira.base_url}/_sim/requests)")


def _link(env: LocalEnvironment) -> Any:
    from jira_bridge.links.store import DynamoLinkStore

    table = env.stack.physical_name("LinkTable")
    dynamodb: Callable[[], Any] = lambda: env.aws.client("dynamodb")  # noqa: E731
    return DynamoLinkStore(table, dynamodb).get_by_incident(INCIDENT)

"""Everything a local run needs, wired together: the Jira simulator, AWS on loopback provisioned from
template.yaml, the in-process runner and the API routes, with the default connector pointing at the
simulator and the simulator's admin webhook pointing at the local API.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from jira_sim import DeliveryPolicy, JiraSimulator
from jira_sim.seed import INTEGRATION_EMAIL
from local_runtime.api_gateway import LocalApi
from local_runtime.clock import Clock, SimClock
from local_runtime.event_sources import EventSourceMappings
from local_runtime.local_aws import LocalAws
from local_runtime.runner import LocalRunner
from local_runtime.sqs_model import LocalSqs
from local_runtime.stack import Stack

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
CONTRACTS_DIR = REPO_ROOT.parent / "shared" / "contracts"
LOCAL_WEBHOOK_SECRET = "local-webhook-secret"  # noqa: S105 - the simulator's, never a real one
LOCAL_PAGERDUTY_SECRET = "local-pagerduty-webhook-secret"  # noqa: S105 - local only
# CI callers of the local stack (secret jira-bridge/<stack>/ci-callers): an API-key caller, an HMAC caller, GitHub.
LOCAL_CI_API_KEY = "local-ci-api-key-0123456789"
LOCAL_CI_HMAC_CALLER = "local-hmac"
LOCAL_CI_HMAC_SECRET = "local-ci-hmac-secret-0123456789"  # noqa: S105 - local only
LOCAL_GITHUB_WEBHOOK_SECRET = "local-github-webhook-secret"  # noqa: S105 - local only
LOCAL_GITLAB_WEBHOOK_TOKEN = "local-gitlab-webhook-token"  # noqa: S105 - local only


LOCAL_INCIDENT_API_KEY = "local-incident-tool-key-0123456789"  # POST /incidents, caller local-tool


def local_ci_callers() -> dict[str, Any]:
    return {
        "github_webhook_secret": LOCAL_GITHUB_WEBHOOK_SECRET,
        "gitlab_webhook_token": LOCAL_GITLAB_WEBHOOK_TOKEN,
        "callers": {
            "local-ci": {"api_key": LOCAL_CI_API_KEY},
            LOCAL_CI_HMAC_CALLER: {"hmac_secret": LOCAL_CI_HMAC_SECRET},
        },
    }


def simulator_connector_secret(jira: JiraSimulator) -> dict[str, Any]:
    """A connector secret acting as the simulator's integration account (as the stack's would): on a
    Data Center site, its personal access token."""
    bot = jira.user(INTEGRATION_EMAIL)
    if jira.flavour == "datacenter":
        return {
            "kind": "datacenter",
            "site_url": jira.base_url,
            "username": bot.username,
            "personal_access_token": bot.personal_access_token,
            "webhook_secret": LOCAL_WEBHOOK_SECRET,
        }
    oauth = jira.site.oauth_clients[0]
    return {
        "site_url": jira.base_url,
        "email": bot.email,
        "api_token": bot.api_token,
        "webhook_secret": LOCAL_WEBHOOK_SECRET,
        "oauth_client_id": oauth.client_id,
        "oauth_client_secret": oauth.client_secret,
        "api_gateway_url": jira.base_url,
        "auth_url": jira.base_url,
    }


@dataclass
class LocalEnvironment:
    template: Path = TEMPLATE
    stack_name: str = "jira-bridge-local"
    env_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    with_api: bool = True
    jira_delivery: DeliveryPolicy | None = None  # tests shorten Jira's webhook retry backoff
    # "model": the template's queues live in the local SQS model (`sqs_model.LocalSqs`) on `clock`
    # (a SimClock unless given), delivered by Lambda's event source mapping model (`event_sources`);
    # the handlers reach it through `adapters.aws_client("sqs")`. "moto" (default): moto's queues.
    queues: Literal["moto", "model"] = "moto"
    clock: Clock | None = None
    # Which Jira the simulator is: "cloud", or "datacenter" (REST v2, wiki markup, PAT; see jira_sim).
    site: Literal["cloud", "datacenter"] = "cloud"

    def __post_init__(self) -> None:
        self.stack = Stack(self.template, stack_name=self.stack_name)
        self.sqs_model: LocalSqs | None = None
        if self.queues == "model":
            self.clock = self.clock or SimClock()
            self.sqs_model = LocalSqs(self.clock, region=self.stack.region)
        self.aws = LocalAws(self.stack, sqs_model=self.sqs_model)
        contracts = CONTRACTS_DIR if CONTRACTS_DIR.exists() else None
        fault_clock: Any = self.clock or time
        self.jira = JiraSimulator(contracts_dir=contracts, delivery_policy=self.jira_delivery, fault_clock=fault_clock,
                                  flavour=self.site)
        self.runner = LocalRunner(self.stack, self.env_overrides)
        self.api = LocalApi(self.runner)
        self.event_sources = EventSourceMappings(self.runner, self.sqs_model) if self.sqs_model else None

    @property
    def sqs(self) -> Any:
        """The SQS client holding the template's queues (the model, or a boto3 client on moto)."""
        return self.aws.queues_client()

    def __enter__(self) -> LocalEnvironment:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalEnvironment:
        self.aws.start()
        self.aws.provision()
        self.jira.start()
        if self.with_api:
            self.api.start()
        from jira_bridge import adapters

        adapters.reset()  # clients cached by an earlier stack in this process point at its endpoints
        self.configure()
        return self

    def stop(self) -> None:
        self.api.stop()
        self.jira.stop()
        self.aws.stop()

    def cold_start(self) -> None:
        """Every function's next invocation runs in a new container (a deploy, a scale-out): clients and
        everything cached in process are gone; what is in AWS (links, the shared metadata) and Jira stays."""
        from jira_bridge import adapters

        adapters.reset()
        self._install_overrides()

    def _install_overrides(self) -> None:
        if self.sqs_model is not None:
            from jira_bridge import adapters

            adapters.override_aws_client("sqs", self.sqs_model)
            if self.clock is not None:  # request budgets and hint gates keep simulated time, like the queues
                adapters.override_clock(self.clock.monotonic, self.clock.sleep, self.clock.time)

    def configure(self) -> None:
        """Point the default connector at the simulator, and the simulator's webhook at our API."""
        self._install_overrides()
        self.aws.put_secret(self.connector_secret_name("default"), self.connector_secret())
        self.aws.put_secret(str(self.stack.resolve({"Fn::Sub": "jira-bridge/${AWS::StackName}/pagerduty"})), {
            "api_token": "local-pagerduty-token", "from_email": "jira-bridge@example.com",
            "webhook_secrets": [LOCAL_PAGERDUTY_SECRET]})
        self.aws.put_secret(self.ci_callers_secret_name(), local_ci_callers())
        if "IncidentCallersSecret" in self.stack.resources:
            self.aws.put_secret(str(self.stack.resolve({"Fn::Sub": "jira-bridge/${AWS::StackName}/incident-callers"})),
                                {"callers": {"local-tool": {"api_key": LOCAL_INCIDENT_API_KEY}}})
        self.capture_incident_requests()
        if self.with_api:
            self.jira.webhooks.register(
                self.api.url("/webhooks/jira"),
                ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created",
                 "comment_updated"],
                secret=LOCAL_WEBHOOK_SECRET,
                name="jira-bridge (local)",
            )

    def capture_incident_requests(self) -> None:
        """Stand in for the incident tool: a queue that receives what the bridge asks of it."""
        sqs, events = self.aws.client("sqs"), self.aws.client("events")
        url = sqs.create_queue(QueueName="local-incident-tool")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = str(self.stack.resolve({"Ref": "IncidentBus"}))
        events.put_rule(Name="local-incident-tool", EventBusName=bus, State="ENABLED", EventPattern=json.dumps(
            {"detail-type": ["Incident Update Requested", "Incident Create Requested"]}))
        events.put_targets(Rule="local-incident-tool", EventBusName=bus, Targets=[{"Id": "tool", "Arn": arn}])
        self._incident_tool_queue = url
        # The incident's timeline: "Incident Note Requested" (what a person on the incident should know).
        url = sqs.create_queue(QueueName="local-incident-timeline")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="local-incident-timeline", EventBusName=bus, State="ENABLED", EventPattern=json.dumps(
            {"detail-type": ["Incident Note Requested"]}))
        events.put_targets(Rule="local-incident-timeline", EventBusName=bus, Targets=[{"Id": "timeline", "Arn": arn}])
        self._incident_timeline_queue = url

    def incident_requests(self) -> list[dict[str, Any]]:
        """Every request the bridge has published for the incident tool since the last call."""
        return self._receive_all(self._incident_tool_queue)

    def incident_notes(self) -> list[dict[str, Any]]:
        """Every timeline note ("Incident Note Requested") the bridge has published since the last call."""
        return self._receive_all(self._incident_timeline_queue)

    def _receive_all(self, queue_url: str) -> list[dict[str, Any]]:
        sqs = self.aws.client("sqs")
        received: list[dict[str, Any]] = []
        while True:
            answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def reset(self, site: Literal["cloud", "datacenter"] | None = None,
              dc_version: tuple[int, int, int] = (10, 3, 19)) -> None:
        """A clean stack and site between tests: AWS re-provisioned, Jira re-seeded (as a Cloud or a
        Data Center site of ``dc_version`` when ``site`` says), caches dropped."""
        from jira_bridge import adapters

        self.jira.reset()  # first: it waits for in-flight webhook deliveries to finish
        if site is not None:
            self.site = site
            self.jira.configure_site(site, dc_version)
        self.aws.reset()
        self.runner.invocations.clear()
        adapters.reset()
        self.configure()

    def connector_secret_name(self, connector: str) -> str:
        prefix = self.stack.resolve({"Fn::Sub": "jira-bridge/${AWS::StackName}/connectors/"})
        return f"{prefix}{connector}"

    def ci_callers_secret_name(self) -> str:
        return str(self.stack.resolve({"Fn::Sub": "jira-bridge/${AWS::StackName}/ci-callers"}))

    def connector_secret(self) -> dict[str, Any]:
        return simulator_connector_secret(self.jira)

    def drain(self) -> int:
        """Run every queued message through its function until the queues are quiet (with the SQS model:
        what is visible now; `event_sources.run_until_idle` also lets simulated time pass)."""
        if self.event_sources is None:
            return self.runner.drain(self.aws.client("sqs"))
        delivered = 0
        while True:
            moved = self.runner.drain(self.aws.client("sqs"), sqs_events=False)
            while done := sum(len(d.deleted) for d in self.event_sources.step()):
                moved += done  # a round that only failed ends it: failures wait for their visibility
            delivered += moved
            if moved == 0:
                return delivered

    def put_events(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        answer: dict[str, Any] = self.aws.client("events").put_events(
            Entries=[{**e, "Detail": json.dumps(e["Detail"]) if not isinstance(e["Detail"], str)
                      else e["Detail"]} for e in entries]
        )
        return answer

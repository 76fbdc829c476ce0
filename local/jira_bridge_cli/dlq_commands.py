"""`jira-bridge dlq list|show|replay`: the runbook for "events were parked".

What lands where (template.yaml):

==================  =========================  ============================================  ===================
``--queue``         dead-letter queue          what is in it                                 replay sends it to
==================  =========================  ============================================  ===================
incident-events     IncidentEventsDLQ (FIFO)   events the worker refused/could not apply     IncidentEventsQueue
                                               (attribute ``reason``), or redriven after     (the incident's
                                               maxReceiveCount; one group per incident       group)
incident-delivery   IncidentEventsDeliveryDLQ  events EventBridge could not deliver to the   IncidentEventsQueue
                                               router (the event itself, ``ERROR_*``         (the incident's
                                               attributes) or router invocations that kept   group)
                                               failing (a Lambda invocation record whose
                                               ``requestPayload`` is the event)
jira-changes        JiraChangesDLQ (FIFO)      verified Jira deliveries that kept failing    JiraChangesQueue
                                               (group ``connector#issueId``)                 (same group)
ci-events           CiEventsFailures           CodeBuild/CodePipeline events (rule DLQ or    CiNotifyFunction
                                               invocation records)                           (async invoke)
reconcile           JiraReconcileFailures      failed scheduled reconciliation runs          JiraReconcileFunction
                                                                                             (async invoke)
pagerduty-events    PagerDutyEventsFailures    PagerDuty EventBridge-integration events      PagerDutyWebhook-
                                               (rule DLQ or invocation records)              Function (async)
==================  =========================  ============================================  ===================

Why receive/send and not SQS ``StartMessageMoveTask``: a move task only redrives DLQs whose source is
another SQS queue (not the EventBridge/Lambda-fed delivery, CI and reconcile queues), moves a whole
queue (no choosing one incident or message), cannot set a fresh ``MessageDeduplicationId`` and offers
no dry run; FIFO redrive also interleaves moved messages with new ones in arrival order, not in an
incident's ``sequence``. So replay receives, sends each message to where it is applied with the
original group and a fresh deduplication id (a fixed id, or content-based deduplication, would let
SQS drop a replay sent within 5 minutes of an earlier send), one incident's messages in order
(``detail.sequence``, then ``SentTimestamp``), and deletes a message only after its send succeeded.
Every path it re-enters is idempotent (incident events by event id and sequence, Jira deliveries by
delivery id, CI runs by event id), so a replay repeated any number of times applies nothing twice.

Delivery-DLQ events are sent straight to the incident events FIFO queue in their incident's group
rather than re-published with PutEvents: that is exactly what the router does with them (the shared
``incident_group_id``), and it keeps them in one ordered FIFO group with the same incident's events
replayed from IncidentEventsDLQ in the same run (merged by ``sequence``), where a re-published event
would reach the queue through an asynchronous invocation in no guaranteed order, and would also be
delivered a second time to any other rule on the incident bus.

A FIFO DLQ shows at most the first 10 messages of each group while they are being looked at (SQS
hands out nothing else of a group with messages in flight); ``list`` says how many it could not
reach, and ``replay`` works group by group, so it reaches them all.

Exit codes: 0 success; 1 ``show`` found no such message, or ``replay`` could not send some messages
(they stay parked; the line says why); 2 bad input; 4 the stack/queues could not be reached (AWS).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jira_bridge.errors import ConfigurationError
from jira_bridge.sqs_ids import incident_group_id, sqs_id

LIST_VISIBILITY_SECONDS = 30  # long enough to read a page, short if the CLI dies before releasing
REPLAY_VISIBILITY_SECONDS = 300  # held while one round is sent; deleted or released well before
REASON_ATTRIBUTE = "reason"  # set by the incident functions when they park a message


@dataclass(frozen=True)
class DlqKind:
    name: str
    dlq: str  # logical id in template.yaml
    target: str  # logical id replay sends to
    route: str  # "fifo": SendMessage to `target`; "invoke": async-invoke function `target`
    incident_events: bool = False  # bodies are Incident Changed events (grouped per incident)


KINDS = (
    DlqKind("incident-events", "IncidentEventsDLQ", "IncidentEventsQueue", "fifo", incident_events=True),
    DlqKind("incident-delivery", "IncidentEventsDeliveryDLQ", "IncidentEventsQueue", "fifo", incident_events=True),
    DlqKind("jira-changes", "JiraChangesDLQ", "JiraChangesQueue", "fifo"),
    DlqKind("ci-events", "CiEventsFailures", "CiNotifyFunction", "invoke"),
    DlqKind("reconcile", "JiraReconcileFailures", "JiraReconcileFunction", "invoke"),
    DlqKind("pagerduty-events", "PagerDutyEventsFailures", "PagerDutyWebhookFunction", "invoke"),
)
KIND_NAMES = [k.name for k in KINDS]


# ----- where the stack's resources are -------------------------------------------------------------


class Resources:
    """Physical resources of one stack, and clients that reach them."""

    def __init__(self, client: Callable[[str], Any], physical: Callable[[str], str | None], local: bool,
                 outputs: dict[str, str] | None = None) -> None:
        self.client = client
        self._physical = physical
        self.local = local
        self._outputs = outputs or {}
        self._urls: dict[str, str] = {}

    def output(self, name: str) -> str | None:
        """One of the stack's outputs (template.yaml `Outputs`), e.g. DefaultConnectorSecretName."""
        return self._outputs.get(name)

    def physical(self, logical_id: str) -> str | None:
        return self._physical(logical_id)

    def has(self, logical_id: str) -> bool:
        return self._physical(logical_id) is not None

    def queue_url(self, logical_id: str) -> str:
        if logical_id not in self._urls:
            physical = self._physical(logical_id)
            if physical is None:
                raise ConfigurationError(f"the stack has no {logical_id}")
            if not physical.startswith(("http://", "https://")):  # a name (local): ask SQS for the URL
                physical = self.client("sqs").get_queue_url(QueueName=physical)["QueueUrl"]
            self._urls[logical_id] = physical
        return self._urls[logical_id]

    def function_name(self, logical_id: str) -> str:
        physical = self._physical(logical_id)
        if physical is None:
            raise ConfigurationError(f"the stack has no {logical_id}")
        return physical


def local_resources() -> Resources:
    """The stack `jira-bridge local start` (and the tests) run: template names on moto's endpoint."""
    from local_runtime.environment import TEMPLATE
    from local_runtime.local_aws import LOCAL_CREDENTIALS
    from local_runtime.stack import Stack

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise ConfigurationError("--local needs AWS_ENDPOINT_URL: set it to the 'AWS (moto)' address that "
                                 "`jira-bridge local start` printed")
    stack = Stack(TEMPLATE)

    def client(service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=endpoint, region_name=stack.region,  # type: ignore[call-overload]
                            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                            aws_session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"])

    def physical(logical_id: str) -> str | None:
        if logical_id not in stack.resources:
            return None
        if stack.resources[logical_id]["Type"] == "AWS::Serverless::Function":
            # moto cannot run Lambda: the local runtime stands a queue in for each EventBridge rule
            # on a function and drains it into the handler. An async invoke is a send to that queue.
            for event in stack.function(logical_id).events:
                if event.type == "EventBridgeRule":
                    return f"local-{logical_id}-{event.name}"
            return None
        return stack.physical_name(logical_id)

    outputs = {name: str(stack.resolve(spec["Value"])) for name, spec in stack.template.get("Outputs", {}).items()}
    return Resources(client, physical, local=True, outputs=outputs)


def cloudformation_resources(stack_name: str, region: str | None, profile: str | None) -> Resources:
    """A deployed stack: its outputs (``<LogicalId>Url``), else its resources' physical ids."""
    import boto3

    session = boto3.Session(profile_name=profile, region_name=region)
    cloudformation = session.client("cloudformation")
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    physical_ids: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("PhysicalResourceId"):
                physical_ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]

    def physical(logical_id: str) -> str | None:
        # An SQS queue's physical id is its URL and a function's is its name; outputs are preferred.
        return outputs.get(f"{logical_id}Url") or physical_ids.get(logical_id)

    return Resources(session.client, physical, local=False, outputs=outputs)  # type: ignore[arg-type]


# ----- parked messages -----------------------------------------------------------------------------


@dataclass
class Parked:
    kind: DlqKind
    message: dict[str, Any]
    payload: Any = None  # what replay sends: the event / delivery itself (unwrapped)
    incident_id: str | None = None
    event_type: str | None = None
    sequence: int | None = None
    reason: str = ""
    invocation_record: dict[str, Any] | None = None
    group: str | None = None  # replay's MessageGroupId (fifo routes)

    @property
    def message_id(self) -> str:
        return str(self.message["MessageId"])

    @property
    def attributes(self) -> dict[str, str]:
        attributes: dict[str, str] = self.message.get("Attributes", {})
        return attributes

    @property
    def sent_ms(self) -> int:
        return int(self.attributes.get("SentTimestamp", "0"))

    @property
    def receive_count(self) -> int:
        return int(self.attributes.get("ApproximateReceiveCount", "0"))

    @property
    def dlq_group(self) -> str | None:
        return self.attributes.get("MessageGroupId")

    def order_key(self) -> tuple[int, int, str]:
        return (self.sequence if self.sequence is not None else sys.maxsize, self.sent_ms, self.message_id)

    def summary(self, now_ms: int) -> dict[str, Any]:
        return {"queue": self.kind.name, "message_id": self.message_id, "group": self.dlq_group,
                "incident_id": self.incident_id, "event_type": self.event_type, "sequence": self.sequence,
                "reason": self.reason, "age_seconds": max(0, (now_ms - self.sent_ms) // 1000),
                "receive_count": self.receive_count}


def parse_parked(kind: DlqKind, message: dict[str, Any]) -> Parked:
    parked = Parked(kind, message)
    body = message.get("Body", "")
    try:
        payload: Any = json.loads(body)
    except ValueError:
        payload = None
    attributes = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
    if isinstance(payload, dict) and "requestContext" in payload and "requestPayload" in payload:
        # A Lambda on-failure destination record: the event is requestPayload, the reason its error.
        parked.invocation_record = payload
        context, response = payload.get("requestContext") or {}, payload.get("responsePayload")
        error = response.get("errorMessage") if isinstance(response, dict) else response
        parked.reason = f"{context.get('condition', 'failed')} after {context.get('approximateInvokeCount', '?')} " \
                        f"invocation(s): {error or 'no error message'}"
        payload = payload["requestPayload"]
    elif REASON_ATTRIBUTE in attributes:
        parked.reason = attributes[REASON_ATTRIBUTE]
    elif "ERROR_CODE" in attributes:  # EventBridge's dead-letter attributes
        parked.reason = "EventBridge could not deliver: " \
                        f"{attributes['ERROR_CODE']} {attributes.get('ERROR_MESSAGE', '')}"
    elif "DeadLetterQueueSourceArn" in parked.attributes:
        source = parked.attributes["DeadLetterQueueSourceArn"].rsplit(":", 1)[-1]
        parked.reason = f"retries exhausted in {source} (maxReceiveCount)"
    parked.reason = parked.reason.strip() or "(no reason recorded)"
    parked.payload = payload if payload is not None else body
    _describe(parked)
    return parked


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _describe(parked: Parked) -> None:
    payload = parked.payload
    if not isinstance(payload, dict):
        parked.group = parked.dlq_group
        return
    detail = _mapping(payload.get("detail"))
    incident = _mapping(detail.get("incident"))
    if parked.kind.incident_events:
        parked.incident_id = str(incident["id"]) if incident.get("id") else None
        sequence = detail.get("sequence")
        parked.sequence = sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else None
        change = _mapping(detail.get("change"))
        parked.event_type = "/".join(str(p) for p in (change.get("kind"), change.get("field")) if p) or None
        # The router's own grouping (one group per incident), so a replay queues behind, and merges
        # with, the incident's other events; a body that names no incident keeps its parked group.
        parked.group = incident_group_id(parked.incident_id) if parked.incident_id else parked.dlq_group
    elif parked.kind.name == "jira-changes":
        try:
            jira = _mapping(json.loads(payload.get("body", "")))
        except (TypeError, ValueError):
            jira = {}
        issue = _mapping(jira.get("issue"))
        parked.event_type = " ".join(str(p) for p in (jira.get("webhookEvent"), issue.get("key")) if p) or None
        parked.group = parked.dlq_group
    else:
        parked.event_type = str(payload.get("detail-type") or "") or None


# ----- reading a DLQ -------------------------------------------------------------------------------


@dataclass
class Snapshot:
    kind: DlqKind
    url: str
    parked: list[Parked] = field(default_factory=list)
    approximate: int = 0  # SQS's count (visible + in flight) before we looked

    @property
    def unreached(self) -> int:
        return max(0, self.approximate - len(self.parked))


def receive_all(sqs: Any, kind: DlqKind, url: str, visibility: int, skip: set[str]) -> Snapshot:
    """Every message we can see now, held invisible for ``visibility`` seconds (release or delete them)."""
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    snapshot = Snapshot(kind, url, approximate=int(counts.get("ApproximateNumberOfMessages", 0))
                        + int(counts.get("ApproximateNumberOfMessagesNotVisible", 0)))
    if snapshot.approximate == 0:
        return snapshot
    seen: set[str] = set()
    waited = False
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility,
                                     AttributeNames=["All"], MessageAttributeNames=["All"],
                                     WaitTimeSeconds=1 if waited else 0)
        received = answer.get("Messages", [])
        # Seen earlier in this look and released (skipped), so handed out again: release it again.
        release(sqs, url, [m for m in received if m["MessageId"] in seen])
        messages = [m for m in received if m["MessageId"] not in seen]
        if not messages:
            # Short polls sample some SQS servers; one long poll asks them all before we stop.
            if waited or len(seen) >= snapshot.approximate:
                break
            waited = True
            continue
        for message in messages:
            seen.add(message["MessageId"])
            if message["MessageId"] in skip:
                release(sqs, url, [message])
                continue
            snapshot.parked.append(parse_parked(kind, message))
    return snapshot


def release(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    """Make looked-at messages visible again at once (their FIFO group unblocks)."""
    if not messages:
        return
    for start in range(0, len(messages), 10):
        chunk = messages[start:start + 10]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(chunk)])


def _kinds(resources: Resources, queue: str) -> list[DlqKind]:
    kinds = [k for k in KINDS if queue in ("all", k.name)]
    present = [k for k in kinds if resources.has(k.dlq)]
    if not present:
        raise ConfigurationError(f"the stack has no {queue} dead-letter queue ({', '.join(k.dlq for k in kinds)})")
    return present


@dataclass
class Selection:
    incident: str | None = None
    message_ids: frozenset[str] = frozenset()

    def matches(self, parked: Parked) -> bool:
        if self.message_ids and parked.message_id not in self.message_ids:
            return False
        return self.incident is None or parked.incident_id == self.incident


def look(resources: Resources, kinds: list[DlqKind], visibility: int, skip: set[str]) -> list[Snapshot]:
    sqs = resources.client("sqs")
    return [receive_all(sqs, kind, resources.queue_url(kind.dlq), visibility, skip) for kind in kinds]


# ----- list / show ---------------------------------------------------------------------------------


def run_list(resources: Resources, queue: str, selection: Selection, as_json: bool,
             now: Callable[[], float] = time.time) -> int:
    snapshots = look(resources, _kinds(resources, queue), LIST_VISIBILITY_SECONDS, set())
    sqs = resources.client("sqs")
    for snapshot in snapshots:
        release(sqs, snapshot.url, [p.message for p in snapshot.parked])
    now_ms = int(now() * 1000)
    if as_json:
        print(json.dumps({"queues": [{
            "queue": s.kind.name, "dlq": s.kind.dlq, "url": s.url, "approximate_count": s.approximate,
            "unreached": s.unreached,
            "messages": [p.summary(now_ms) for p in sorted(s.parked, key=_list_order) if selection.matches(p)],
        } for s in snapshots]}, indent=2))
        return 0
    for snapshot in snapshots:
        shown = [p for p in sorted(snapshot.parked, key=_list_order) if selection.matches(p)]
        extra = f", {snapshot.unreached} not reachable now (in flight, or behind a group's first 10)" \
            if snapshot.unreached else ""
        print(f"{snapshot.kind.name:<18} {snapshot.kind.dlq:<26} {len(snapshot.parked)} parked{extra}")
        if not shown:
            continue
        print(f"  {'MESSAGE ID':<36}  {'GROUP':<24}  {'INCIDENT':<12}  {'EVENT':<22}  {'SEQ':>4}  {'AGE':>6}  "
              f"{'RECV':>4}  REASON")
        for parked in shown:
            row = parked.summary(now_ms)
            print(f"  {row['message_id']:<36}  {_cut(row['group'], 24):<24}  {_cut(row['incident_id'], 12):<12}  "
                  f"{_cut(row['event_type'], 22):<22}  {_dash(row['sequence']):>4}  {_age(row['age_seconds']):>6}  "
                  f"{row['receive_count']:>4}  {_cut(row['reason'], 100)}")
    return 0


def parked_for_incident(resources: Resources, incident_id: str, now: Callable[[], float] = time.time
                        ) -> list[dict[str, Any]]:
    """Every parked message of one incident, in every DLQ of the stack (looked at, then released)."""
    snapshots = look(resources, _kinds(resources, "all"), LIST_VISIBILITY_SECONDS, set())
    sqs = resources.client("sqs")
    for snapshot in snapshots:
        release(sqs, snapshot.url, [p.message for p in snapshot.parked])
    now_ms = int(now() * 1000)
    selection = Selection(incident=incident_id)
    return [{"queue": s.kind.name, **p.summary(now_ms)}
            for s in snapshots for p in sorted(s.parked, key=_list_order) if selection.matches(p)]


def _list_order(parked: Parked) -> tuple[str, tuple[int, int, str]]:
    return (parked.group or "", parked.order_key())


def run_show(resources: Resources, queue: str, message_id: str) -> int:
    snapshots = look(resources, _kinds(resources, queue), LIST_VISIBILITY_SECONDS, set())
    sqs = resources.client("sqs")
    found: Parked | None = None
    for snapshot in snapshots:
        release(sqs, snapshot.url, [p.message for p in snapshot.parked])
        found = found or next((p for p in snapshot.parked if p.message_id == message_id), None)
    if found is None:
        print(f"jira-bridge: no parked message {message_id} in {queue} (see `jira-bridge dlq list`)", file=sys.stderr)
        return 1
    summary = found.summary(int(time.time() * 1000))
    print(f"queue       {found.kind.name} ({found.kind.dlq})")
    for key in ("message_id", "group", "incident_id", "event_type", "sequence", "receive_count"):
        print(f"{key.replace('_', ' '):<11} {_dash(summary[key])}")
    print(f"age         {_age(summary['age_seconds'])}")
    print(f"reason      {found.reason}")
    print("attributes")
    for name, value in sorted(found.attributes.items()):
        print(f"  {name} = {value}")
    for name, value in sorted(found.message.get("MessageAttributes", {}).items()):
        print(f"  {name} (message attribute) = {value.get('StringValue', value.get('BinaryValue'))}")
    if found.invocation_record is not None:
        record = {k: v for k, v in found.invocation_record.items() if k != "requestPayload"}
        print("invocation record (without requestPayload)")
        print(json.dumps(record, indent=2, default=str))
    print("body" if found.invocation_record is None else "requestPayload (what replay sends)")
    print(json.dumps(found.payload, indent=2) if not isinstance(found.payload, str) else found.payload)
    return 0


# ----- replay --------------------------------------------------------------------------------------


@dataclass
class Plan:
    parked: Parked
    snapshot: Snapshot
    destination: str
    group: str | None
    deduplication: str | None

    def describe(self) -> str:
        where = f"group={self.group} dedup={self.deduplication}" if self.group else "async invoke"
        seq = f" seq={self.parked.sequence}" if self.parked.sequence is not None else ""
        incident = f" incident={self.parked.incident_id}" if self.parked.incident_id else ""
        return (f"{self.parked.kind.name} {self.parked.message_id}{incident}{seq} "
                f"-> {self.destination} ({where})")


def run_replay(resources: Resources, queue: str, selection: Selection, dry_run: bool,
               now: Callable[[], float] = time.time) -> int:
    """``now``: the clock SQS's SentTimestamp is on (the local runtime's simulated clock in the demo)."""
    kinds = _kinds(resources, queue)
    run_id = uuid.uuid4().hex[:12]
    started_ms = int(now() * 1000)
    handled: set[str] = set()  # replayed, failed or left alone this run: never picked twice
    sent = failed = planned = 0
    while True:
        snapshots = look(resources, kinds, REPLAY_VISIBILITY_SECONDS, handled)
        plans: list[Plan] = []
        for snapshot in snapshots:
            keep = []
            for parked in snapshot.parked:
                # Parked again after this run started (a replay that failed again): next run, not this one.
                if selection.matches(parked) and parked.sent_ms < started_ms:
                    plans.append(_plan(resources, snapshot, parked, run_id))
                else:
                    keep.append(parked.message)
                    handled.add(parked.message_id)
            release(resources.client("sqs"), snapshot.url, keep)
        if not plans:
            break
        for plan in _in_order(plans):
            handled.add(plan.parked.message_id)
            planned += 1
            if dry_run:
                print(f"would send {plan.describe()}")
                continue
            error = _send(resources, plan)
            if error:
                failed += 1
                print(f"kept     {plan.describe()}: {error}", file=sys.stderr)
                continue
            resources.client("sqs").delete_message(QueueUrl=plan.snapshot.url,
                                                  ReceiptHandle=plan.parked.message["ReceiptHandle"])
            sent += 1
            print(f"replayed {plan.describe()}")
        if dry_run:
            for snapshot in snapshots:
                release(resources.client("sqs"), snapshot.url,
                        [p.parked.message for p in plans if p.snapshot is snapshot])
            break  # a dry run changes nothing, so later messages of a FIFO group stay out of reach
    if dry_run:
        print(f"would replay {planned} message(s); nothing was changed")
    else:
        print(f"replayed {sent} message(s)" + (f", {failed} kept in the DLQ" if failed else ""))
    if planned == 0:
        print("(nothing matched: see `jira-bridge dlq list`)", file=sys.stderr)
    return 1 if failed else 0


def _plan(resources: Resources, snapshot: Snapshot, parked: Parked, run_id: str) -> Plan:
    kind = parked.kind
    if kind.route == "invoke":
        return Plan(parked, snapshot, kind.target, None, None)
    if not parked.group:
        raise ConfigurationError(f"{kind.name} message {parked.message_id} has no message group to replay into")
    # Fresh per replay run (SQS would drop a repeat of an id sent in the last 5 minutes), but stable
    # within this run, so botocore's own retry of one send cannot queue it twice.
    deduplication = sqs_id("replay", run_id, parked.message_id)
    return Plan(parked, snapshot, kind.target, parked.group, deduplication)


def _in_order(plans: list[Plan]) -> Iterator[Plan]:
    """Per destination and group, by sequence then SentTimestamp; groups in order of their oldest message."""
    groups: dict[tuple[str, str], list[Plan]] = {}
    for plan in plans:
        groups.setdefault((plan.destination, plan.group or plan.parked.message_id), []).append(plan)
    ordered = [sorted(g, key=lambda p: p.parked.order_key()) for g in groups.values()]
    for group in sorted(ordered, key=lambda g: min(p.parked.sent_ms for p in g)):
        yield from group


def _send(resources: Resources, plan: Plan) -> str | None:
    """Send one message where it is applied; the error text, or None once it was accepted."""
    from botocore.exceptions import BotoCoreError, ClientError

    payload = plan.parked.payload
    body = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    try:
        if plan.group is not None:
            resources.client("sqs").send_message(QueueUrl=resources.queue_url(plan.destination), MessageBody=body,
                                                 MessageGroupId=plan.group, MessageDeduplicationId=plan.deduplication)
        elif resources.local:  # the local runtime's stand-in queue for the function's async invocations
            resources.client("sqs").send_message(QueueUrl=resources.queue_url(plan.destination), MessageBody=body)
        else:
            answer = resources.client("lambda").invoke(
                FunctionName=resources.function_name(plan.destination), InvocationType="Event", Payload=body)
            if answer.get("StatusCode") != 202:
                return f"Lambda answered {answer.get('StatusCode')}"
    except (BotoCoreError, ClientError) as error:
        return aws_error(error)
    except ConfigurationError as error:
        return str(error)
    return None


# ----- command line ---------------------------------------------------------------------------------


def add_dlq_commands(commands: Any) -> None:
    dlq = commands.add_parser("dlq", help="list, inspect and replay parked events (the DLQ runbook)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = dlq.add_subparsers(dest="dlq_command", required=True)

    def common(parser: argparse.ArgumentParser, queue_default: str) -> None:
        parser.add_argument("--queue", choices=[*KIND_NAMES, "all"], default=queue_default,
                            help=f"which dead-letter queue (default: {queue_default})")
        where_arguments(parser)

    listing = verbs.add_parser("list", help="count per queue, and each parked message")
    common(listing, "all")
    listing.add_argument("--incident", help="only this incident's events")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=_list)

    show = verbs.add_parser("show", help="one parked message: body, reason, attributes")
    show.add_argument("message_id")
    common(show, "all")
    show.set_defaults(run=_show)

    replay = verbs.add_parser("replay", help="send parked messages back where they are applied, in order")
    common(replay, "all")
    replay.add_argument("--incident", help="only this incident's events")
    replay.add_argument("--message-id", action="append", default=[], help="only this message (repeatable)")
    replay.add_argument("--all", action="store_true", help="everything in the chosen queue(s)")
    replay.add_argument("--dry-run", action="store_true", help="print what would be sent where; change nothing")
    replay.set_defaults(run=_replay)


def where_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """`--local` or `--stack NAME [--region R] [--profile P]`: every command that reaches the stack."""
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--local", action="store_true", help="the local stack (`jira-bridge local start`)")
    where.add_argument("--stack", help="deployed CloudFormation stack name")
    parser.add_argument("--region", help="AWS region of --stack (default: the AWS CLI's, e.g. AWS_REGION)")
    parser.add_argument("--profile", help="AWS profile for --stack (default: the AWS CLI's, e.g. AWS_PROFILE)")


def resources_for(args: argparse.Namespace) -> Resources:
    """The stack `args` names (see `where_arguments`); one line naming the fix when it cannot be read."""
    if args.local:
        return local_resources()
    from botocore.exceptions import BotoCoreError, ClientError

    from jira_bridge_cli.errors import EXIT_AWS, Unreachable, describe

    try:
        return cloudformation_resources(args.stack, args.region, args.profile)
    except (BotoCoreError, ClientError) as error:
        raise Unreachable(f"cannot read stack {args.stack}: {describe(error)[0]}", EXIT_AWS) from None


_resources = resources_for


def aws_error(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return f"{response['Error'].get('Code')}: {response['Error'].get('Message')}"
    return str(error)


def _guarded(action: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    from jira_bridge_cli.errors import aws_guarded

    return aws_guarded(action, lambda args: f"dlq {args.dlq_command}: ")


@_guarded
def _list(args: argparse.Namespace) -> int:
    return run_list(_resources(args), args.queue, Selection(incident=args.incident), args.json)


@_guarded
def _show(args: argparse.Namespace) -> int:
    return run_show(_resources(args), args.queue, args.message_id)


@_guarded
def _replay(args: argparse.Namespace) -> int:
    if not (args.all or args.incident or args.message_id):
        raise ConfigurationError("dlq replay: choose what to replay: --incident ID, --message-id ID or --all "
                                 "(add --dry-run to see it first)")
    selection = Selection(incident=args.incident, message_ids=frozenset(args.message_id))
    return run_replay(_resources(args), args.queue, selection, args.dry_run)


def _cut(value: Any, width: int) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"

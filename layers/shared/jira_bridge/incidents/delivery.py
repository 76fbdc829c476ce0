"""How incident events travel: one SQS FIFO message group per incident, backoff per message, parking.

EventBridge's SQS target can only set a static ``MessageGroupId``, so ``IncidentRouterFunction``
receives each "Incident Changed" event and queues it in its incident's own group
(:func:`jira_bridge.sqs_ids.incident_group_id`). SQS then hands the worker an incident's events one
at a time and in order, while any number of incidents run in parallel; a failing incident blocks
only its own group (docs/architecture.md, "Incident delivery").

The worker never sleeps through an outage. A transient failure sets that message's visibility to
its retry delay (:mod:`jira_bridge.queue_retries`: Jira's ``Retry-After`` when it gave one, else 10 s
doubling to 15 min) and the message is reported failed; the incident's later messages wait behind
it (FIFO group blocking), and the queue's ``maxReceiveCount`` (100) outlasts about a day of that.
What a retry cannot fix is parked in the DLQ with its reason, in the same group, for ``jira-bridge dlq replay``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from jira_bridge.incidents.envelope import IncidentEventEnvelope
from jira_bridge.incidents.events import canonical_field
from jira_bridge.sqs_ids import incident_group_id, sqs_id

INVALID_GROUP = "invalid"
REASON_ATTRIBUTE = "reason"
_MAX_REASON = 1024


class InvalidIncidentEvent(ValueError):
    """Not an "Incident Changed" event this bridge can apply: the reason says which part and why."""


def parse_envelope(body: str | bytes | dict[str, Any]) -> IncidentEventEnvelope:
    """The event in a queue message body (or as EventBridge passes it), or :class:`InvalidIncidentEvent`."""
    try:
        if isinstance(body, dict):
            return IncidentEventEnvelope.model_validate(body)
        return IncidentEventEnvelope.model_validate_json(body)
    except ValidationError as error:
        raise InvalidIncidentEvent("not an Incident Changed event: " + "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:5])) from None
    except RecursionError:
        raise InvalidIncidentEvent("not an Incident Changed event: JSON nested too deeply") from None


@dataclass(frozen=True)
class IncidentQueue:
    """The incident events FIFO queue and its DLQ, over an injected SQS client (boto3's shape)."""

    sqs: Any
    queue_url: str
    dead_letter_queue_url: str

    def route(self, event: dict[str, Any]) -> str:
        """Queue one EventBridge event in its incident's group; returns the group. Invalid: parked."""
        try:
            envelope = parse_envelope(event)
        except InvalidIncidentEvent as invalid:
            body = _json(event)
            self.park(body, INVALID_GROUP, str(invalid), deduplication=sqs_id("invalid", str(event.get("id", ""))))
            raise
        detail = envelope.detail
        group = incident_group_id(detail.incident.id)
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=_json(event),
            MessageGroupId=group,
            # The producer's event id: EventBridge's own retries and a producer publishing twice within
            # SQS's 5-minute window collapse here; anything later is caught by the sync's ordering.
            MessageDeduplicationId=sqs_id("event", detail.event_id),
        )
        return group

    def park(self, body: str, group: str, reason: str, *, deduplication: str) -> None:
        """Move a message no retry can fix to the DLQ, in its incident's group, with the reason."""
        self.sqs.send_message(
            QueueUrl=self.dead_letter_queue_url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=deduplication,
            MessageAttributes={REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:_MAX_REASON] or "-"}},
        )


def superseded(records: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Coalescing: field changes in one batch that a later change of the same field of the same
    incident makes moot, as {message id: the event id that supersedes it}.

    ``records`` are (message id, body) in queue order. Only ``field_changed`` events coalesce (a note
    or a create always applies); the newest change of a field reaches the same final state in fewer
    Jira writes (one transition path, one edit), which matters under Jira's per-issue write limit.
    A body that does not parse is left to the worker to park. The worker skips a superseded change
    only when its runbooks leave no trace of their own (``RunbookSet.only_sets_fields``).
    """
    newest: dict[tuple[str, str], tuple[int, str, str]] = {}
    changes: list[tuple[str, tuple[str, str], int]] = []
    for message_id, body in records:
        try:
            detail = json.loads(body)["detail"]
            change = detail["change"]
            if change.get("kind") != "field_changed" or not change.get("field"):
                continue
            key = (str(detail["incident"]["id"]), canonical_field(str(change["field"])))
            sequence = int(detail["sequence"])
            event_id = str(detail["event_id"])
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            continue
        changes.append((message_id, key, sequence))
        if key not in newest or sequence > newest[key][0]:
            newest[key] = (sequence, message_id, event_id)
    return {message_id: newest[key][2] for message_id, key, sequence in changes
            if sequence < newest[key][0] and newest[key][1] != message_id}


def _json(event: Any) -> str:
    # Lone surrogates cannot be encoded as UTF-8 for SQS; escape them rather than crash.
    return json.dumps(event, ensure_ascii=True, separators=(",", ":"))

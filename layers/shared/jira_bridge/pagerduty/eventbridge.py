"""PagerDuty's Amazon EventBridge integration: what its events look like, and their mapping.

What PagerDuty documents in its "Amazon EventBridge Integration Guide"
(https://support.pagerduty.com/main/docs/amazon-eventbridge-integration-guide; read from a copy of
that page at github.com/pdt-ahickmon/pd_support_bot, `pagerduty_docs/amazon-eventbridge-integration-guide.md`
@ 757f2877; the guide says it "details configuration of the Amazon EventBridge v1 integration"):

* It is a service *extension* (Service -> Integrations -> Extensions -> "Amazon EventBridge"), not a
  V3 webhook subscription: the V3 subscription API knows only `http_delivery_method` (see
  `WebhookSubscription.delivery_method.type` in the REST spec).
* PagerDuty creates a partner event source named
  `aws.partner/pagerduty.com/{pagerduty-subdomain}-{eventSourceName}`; the customer associates it
  with a partner event bus of the same name and adds rules there. The guide's rule pattern is
  `{"detail-type": ["PagerDuty Webhook"]}`.
* Each event is a standard EventBridge envelope: `version "0"`, `id`, `detail-type "PagerDuty
  Webhook"`, `source "aws.partner/pagerduty.com/<...>"`, `account`, `time`, `region`,
  `resources ["pagerduty"]`, `detail`.
* **`detail` is not a V3 body.** It is one *V2 webhook message*: `event` is a string with the V2
  verb (`incident.trigger`, `.acknowledge`, `.unacknowledge`, `.resolve`, `.assign`, `.escalate`,
  `.delegate`, `.annotate`, `.custom`), `id` (the message id), `created_on`, `log_entries[]` (the
  log entry that caused it: `id`, `type`, `created_at`, `agent`, `channel`; an annotate entry has
  `channel.content`, an assign entry `assignees[]`), `webhook` (the extension) and the *full*
  `incident` (`id`, `incident_number`, `title`, `description`, `status`, `incident_key`, `service`,
  `assignments[].assignee`, `priority`, `urgency`, `escalation_policy`, `teams`, `html_url`, ...).
  V2 has no priority-updated, reassigned (other than assign) or reopened events.

No EventBridge delivery of V3 events is documented anywhere we searched, and V2 webhooks are past
end of support since 31 Oct 2022 (developer-docs `docs/webhooks/01-Overview.md`): the signed V3 API
route is the primary path, this one the alternative for accounts that already use the extension.
So this module accepts both what the guide shows and a V3 body inside an EventBridge envelope
(what a relay of V3 webhooks onto a bus would carry; see :func:`jira_bridge.pagerduty.inbound.to_canonical`).

V2 mapping: trigger -> created; acknowledge / unacknowledge / resolve -> `state`; assign -> `owner`;
annotate -> note_added (note id = the annotate *log entry* id, text = `channel.content`); escalate,
delegate and custom -> ignored. `event_id` is the message id; `sequence` is the log entry's
`created_at` in epoch milliseconds. V2 timestamps have whole seconds only, so two changes of the
same field within one second get the same sequence and the later one may be taken for a
redelivery; the V3 route (millisecond `occurred_at`) does not have this limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field

from jira_bridge.incidents.events import Change, ChangeKind, Incident, IncidentChanged, Note
from jira_bridge.pagerduty.canonical import (
    PagerDutyModel,
    Reference,
    canonical_event,
    custom_fields,
    owner,
    person,
    summaries,
)

PARTNER_SOURCE_PREFIX = "aws.partner/pagerduty.com/"
DETAIL_TYPE = "PagerDuty Webhook"
EVENT_PATTERN: dict[str, Any] = {
    "source": [{"prefix": PARTNER_SOURCE_PREFIX}],
    "detail-type": [DETAIL_TYPE],
}
"""The rule pattern for the partner event bus (the guide's, narrowed to PagerDuty's sources)."""

_STATE_EVENTS: dict[str, tuple[str | None, str]] = {
    # V2 verb -> (old state, new state); the old one only where PagerDuty's state machine fixes it
    "incident.acknowledge": (None, "acknowledged"),
    "incident.unacknowledge": ("acknowledged", "triggered"),
    "incident.resolve": (None, "resolved"),
}
MAPPED_EVENTS = frozenset({"incident.trigger", "incident.assign", "incident.annotate", *_STATE_EVENTS})


class EventBridgeEnvelope(PagerDutyModel):
    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    time: datetime | None = None
    detail: dict[str, Any]


class _Priority(PagerDutyModel):
    id: str | None = None
    summary: str | None = None
    name: str | None = None


class _Service(PagerDutyModel):
    id: str
    name: str | None = None
    summary: str | None = None


class _Assignment(PagerDutyModel):
    assignee: Reference


class V2Incident(PagerDutyModel):
    id: str = Field(min_length=1)
    title: str | None = None
    summary: str | None = None
    description: str | None = None
    status: str = Field(min_length=1)
    html_url: str | None = None
    incident_number: int | None = None
    incident_key: str | None = None
    created_at: datetime | None = None
    service: _Service | None = None
    assignments: list[_Assignment] = Field(default_factory=list)
    priority: _Priority | None = None
    urgency: str | None = None
    escalation_policy: Reference | None = None
    teams: list[Reference] = Field(default_factory=list)


class V2LogEntry(PagerDutyModel):
    id: str = Field(min_length=1)
    type: str | None = None
    created_at: datetime | None = None
    agent: Reference | None = None
    channel: dict[str, Any] | None = None


class V2Message(PagerDutyModel):
    """The `detail` of a "PagerDuty Webhook" event: one V2 webhook message."""

    event: str
    id: str = Field(min_length=1)
    created_on: datetime | None = None
    incident: V2Incident
    log_entries: list[V2LogEntry] = Field(default_factory=list)


def map_v2_message(message: V2Message, user_emails: Mapping[str, str]) -> IncidentChanged | None:
    """The canonical event for a mapped V2 message, ``None`` for the rest (escalate, delegate, custom)."""
    if message.event not in MAPPED_EVENTS:
        return None
    entry = message.log_entries[0] if message.log_entries else None
    occurred_at = (entry.created_at if entry else None) or message.created_on
    if occurred_at is None:
        raise ValueError("the message has neither a log entry time nor created_on")
    actor = person(entry.agent if entry else None, user_emails)
    snapshot = _snapshot(message.incident, user_emails)
    if message.event == "incident.trigger":
        change = Change(kind=ChangeKind.CREATED)
    elif message.event == "incident.assign":
        change = Change(kind=ChangeKind.FIELD_CHANGED, field="owner",
                        new_value=snapshot.owner.email if snapshot.owner else None)
    elif message.event == "incident.annotate":
        if entry is None:
            raise ValueError("an annotate message carries its log entry")
        channel = entry.channel or {}
        text = channel.get("content") or channel.get("summary") or ""
        note = Note(id=entry.id, text=str(text), author=actor, created_at=occurred_at)
        change = Change(kind=ChangeKind.NOTE_ADDED, note=note)
    else:
        old, new = _STATE_EVENTS[message.event]
        change = Change(kind=ChangeKind.FIELD_CHANGED, field="state", old_value=old, new_value=new)
    return canonical_event(event_id=message.id, occurred_at=occurred_at, actor=actor, incident=snapshot,
                           change=change)


def _snapshot(data: V2Incident, user_emails: Mapping[str, str]) -> Incident:
    assignees = [assignment.assignee for assignment in data.assignments]
    title = data.title or data.summary or f"PagerDuty incident {data.id}"
    priority = (data.priority.summary or data.priority.name) if data.priority else None
    service = (data.service.summary or data.service.name) if data.service else None
    return Incident(
        id=data.id,
        title=title,
        description=data.description if data.description and data.description != title else "",
        state=data.status,
        priority=priority,
        severity=data.urgency,
        service=service,
        owner=owner(assignees, user_emails),
        url=data.html_url,
        custom_fields=custom_fields(
            incident_number=data.incident_number,
            incident_key=data.incident_key,
            urgency=data.urgency,
            escalation_policy=data.escalation_policy.summary if data.escalation_policy else None,
            teams=summaries(data.teams),
            assignees=summaries(assignees),
            service_id=data.service.id if data.service else None,
            created_at=data.created_at.isoformat() if data.created_at else None,
        ),
    )

"""PagerDuty V3 webhook bodies (`{"event": {...}}`) -> the canonical incident event.

A V3 delivery holds exactly one event: `event.id` (stable across redeliveries), `event_type`,
`occurred_at` (millisecond precision), `agent` (who did it: a user or, for automatic actions, a
service reference) and `data`, whose shape depends on the type: an `incident` for the incident
events below, an `incident_note` for `incident.annotated`.

| PagerDuty event | canonical change |
|---|---|
| incident.triggered | created |
| incident.acknowledged | field_changed `state` None -> acknowledged |
| incident.unacknowledged | field_changed `state` acknowledged -> triggered |
| incident.resolved | field_changed `state` None -> resolved |
| incident.reopened | field_changed `state` resolved -> triggered/acknowledged |
| incident.priority_updated | field_changed `priority` None -> "P1" (or None when cleared) |
| incident.reassigned | field_changed `owner` None -> the assignee's e-mail (None if not mapped) |
| incident.annotated | note_added (note id = the note's id, text = its content) |
| anything else | ignored (`None`) |

Old values: V3 never says what a field was. Where PagerDuty's own state machine fixes it
(unacknowledge only leaves `acknowledged`, reopen only leaves `resolved`) the old value is filled
in; otherwise it is ``None`` (unknown) rather than a guess, so a runbook trigger with `from:` does not
fire on a value nobody saw.

Snapshot decisions: `severity` is PagerDuty's *urgency* (`high`/`low`), the only severity-like axis
PagerDuty has apart from priority, which stays `priority` (the priority's name, e.g. "P1"); map it
with the `severity` table of the mappings. `custom_fields` carries `incident_number`,
`incident_key`, `urgency`, `escalation_policy`, `teams`, `assignees` (display names),
`incident_type`, `service_id` and `created_at` when PagerDuty sent them.

A note event carries only the incident's reference, so its snapshot has the title (the reference's
summary) but state :data:`~jira_bridge.pagerduty.canonical.UNKNOWN_STATE` and no priority or owner.
A note PagerDuty marked `trimmed` is mirrored as sent (PagerDuty shortened it; fetching the whole
note would need a REST call this pure mapping does not make).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from jira_bridge.incidents.events import Change, ChangeKind, Incident, IncidentChanged, Note
from jira_bridge.pagerduty.canonical import (
    UNKNOWN_STATE,
    PagerDutyModel,
    Reference,
    canonical_event,
    custom_fields,
    owner,
    person,
    summaries,
)

# old value of `state` for each state event; None where PagerDuty does not tell and cannot be inferred
_STATE_EVENTS: dict[str, str | None] = {
    "incident.acknowledged": None,
    "incident.unacknowledged": "acknowledged",
    "incident.resolved": None,
    "incident.reopened": "resolved",
}
_INCIDENT_EVENTS = frozenset({"incident.triggered", "incident.priority_updated", "incident.reassigned",
                              *_STATE_EVENTS})
NOTE_EVENT = "incident.annotated"
MAPPED_EVENT_TYPES = frozenset({*_INCIDENT_EVENTS, NOTE_EVENT})


class V3Incident(PagerDutyModel):
    id: str = Field(min_length=1)
    type: Literal["incident"]
    title: str = Field(min_length=1)
    status: str = Field(min_length=1)
    html_url: str | None = None
    number: int | None = None
    incident_key: str | None = None
    created_at: datetime | None = None
    service: Reference | None = None
    assignees: list[Reference] = Field(default_factory=list)
    escalation_policy: Reference | None = None
    teams: list[Reference] = Field(default_factory=list)
    priority: Reference | None = None
    urgency: str | None = None
    incident_type: dict[str, Any] | None = None


class V3Note(PagerDutyModel):
    id: str = Field(min_length=1)
    type: Literal["incident_note"]
    content: str
    trimmed: bool = False
    incident: Reference


class V3Event(PagerDutyModel):
    id: str = Field(min_length=1)
    event_type: str = Field(min_length=1)
    resource_type: str | None = None
    occurred_at: datetime
    agent: Reference | None = None
    data: dict[str, Any]


class V3Body(PagerDutyModel):
    """One V3 webhook delivery."""

    event: V3Event


def map_v3(event: V3Event, user_emails: Mapping[str, str]) -> IncidentChanged | None:
    """The canonical event for a mapped V3 event, ``None`` for every other type.

    Raises pydantic's ``ValidationError`` when a mapped event's `data` is not what PagerDuty sends.
    """
    kind = event.event_type
    if kind == NOTE_EVENT:
        return _note_added(event, V3Note.model_validate(event.data), user_emails)
    if kind not in _INCIDENT_EVENTS:
        return None
    data = V3Incident.model_validate(event.data)
    snapshot = incident_snapshot(data, user_emails)
    if kind == "incident.triggered":
        change = Change(kind=ChangeKind.CREATED)
    elif kind == "incident.priority_updated":
        change = Change(kind=ChangeKind.FIELD_CHANGED, field="priority", new_value=snapshot.priority)
    elif kind == "incident.reassigned":
        new_owner = snapshot.owner.email if snapshot.owner else None
        change = Change(kind=ChangeKind.FIELD_CHANGED, field="owner", new_value=new_owner)
    else:
        change = Change(kind=ChangeKind.FIELD_CHANGED, field="state",
                        old_value=_STATE_EVENTS[kind], new_value=data.status)
    return canonical_event(event_id=event.id, occurred_at=event.occurred_at,
                           actor=person(event.agent, user_emails), incident=snapshot, change=change)


def incident_snapshot(data: V3Incident, user_emails: Mapping[str, str]) -> Incident:
    incident_type = (data.incident_type or {}).get("name")
    return Incident(
        id=data.id,
        title=data.title,
        state=data.status,
        priority=data.priority.summary if data.priority else None,
        severity=data.urgency,
        service=data.service.summary if data.service else None,
        owner=owner(data.assignees, user_emails),
        url=data.html_url,
        custom_fields=custom_fields(
            incident_number=data.number,
            incident_key=data.incident_key,
            urgency=data.urgency,
            escalation_policy=data.escalation_policy.summary if data.escalation_policy else None,
            teams=summaries(data.teams),
            assignees=summaries(data.assignees),
            incident_type=incident_type if isinstance(incident_type, str) else None,
            service_id=data.service.id if data.service else None,
            created_at=data.created_at.isoformat() if data.created_at else None,
        ),
    )


def _note_added(event: V3Event, data: V3Note, user_emails: Mapping[str, str]) -> IncidentChanged:
    author = person(event.agent, user_emails)
    note = Note(id=data.id, text=data.content, author=author, created_at=event.occurred_at)
    reference = data.incident
    snapshot = Incident(
        id=reference.id,
        title=reference.summary or f"PagerDuty incident {reference.id}",
        state=UNKNOWN_STATE,
        url=reference.html_url,
        notes=[note],
    )
    return canonical_event(event_id=event.id, occurred_at=event.occurred_at, actor=author, incident=snapshot,
                           change=Change(kind=ChangeKind.NOTE_ADDED, note=note))

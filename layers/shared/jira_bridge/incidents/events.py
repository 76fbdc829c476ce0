"""The canonical incident event: what any incident tool publishes on EventBridge for the bridge.

EventBridge `detail-type` is "Incident Changed"; `detail` is :class:`IncidentChanged`. The JSON Schema
published in `schemas/incident-changed.schema.json` is generated from these models
(`jira-bridge schema`), so the two never drift apart.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

DETAIL_TYPE = "Incident Changed"
SCHEMA_VERSION = "1.0"
INCIDENT_ACCOUNT_FIELD = "incident_account"
"""Custom field naming which account of the incident tool the incident lives in (several PagerDuty
accounts in one stack); the link remembers it so what Jira asks goes back to that account. Absent =
the tool's default account."""


_FIELD_ALIASES = {"assignee": "owner", "status": "state"}


def canonical_field(name: str) -> str:
    """One name per incident field: `assignee` is `owner`, `status` is `state`."""
    lowered = name.strip().lower()
    return _FIELD_ALIASES.get(lowered, lowered)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Person(_Model):
    name: str | None = None
    email: str | None = None


class Note(_Model):
    id: str = Field(min_length=1, description="stable id of the note in the incident tool")
    text: str
    author: Person | None = None
    created_at: datetime | None = None


class Incident(_Model):
    """The incident's current snapshot, as the incident tool sees it after the change."""

    id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1)
    description: str = ""
    state: str = Field(min_length=1, description="e.g. triggered, acknowledged, resolved")
    priority: str | None = None
    severity: str | None = None
    service: str | None = None
    environment: str | None = None
    component: str | None = None
    owner: Person | None = Field(default=None, description="assignee / incident commander")
    notes: list[Note] = Field(default_factory=list)
    url: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class ChangeKind(StrEnum):
    CREATED = "created"
    FIELD_CHANGED = "field_changed"
    NOTE_ADDED = "note_added"


class Change(_Model):
    kind: ChangeKind
    field: str | None = Field(default=None, description="for field_changed: state, priority, owner, ...")
    old_value: Any = None
    new_value: Any = None
    note: Note | None = None

    @model_validator(mode="after")
    def _complete(self) -> Change:
        if self.kind is ChangeKind.FIELD_CHANGED and not self.field:
            raise ValueError("a field_changed change names its field")
        if self.kind is ChangeKind.NOTE_ADDED and self.note is None:
            raise ValueError("a note_added change carries the note")
        return self


class IncidentChanged(_Model):
    """EventBridge detail of an "Incident Changed" event."""

    schema_version: str = SCHEMA_VERSION
    event_id: str = Field(min_length=1, description="unique per change; duplicates are delivered once")
    sequence: int = Field(ge=0, description="per-incident, increasing with each change (or epoch ms)")
    occurred_at: datetime
    source: str = Field(default="custom", description="the incident tool, e.g. pagerduty")
    actor: Person | None = None
    correlation_id: str | None = Field(
        default=None, max_length=256,
        description="set when this change fulfils a request the bridge published (\"Incident Update/Create "
                    "Requested\"): that request's `request_id`, echoed back. The bridge then never writes the "
                    "change back to Jira (recognised by id first, by the incident side's integration user "
                    "second, never by text).")
    incident: Incident
    change: Change

    def field_value(self, field: str) -> Any:
        """The snapshot's value of a field by the name runbooks use (custom fields included)."""
        field = canonical_field(field)
        if field == "owner":
            return self.incident.owner.email if self.incident.owner else None
        if field in Incident.model_fields:
            return getattr(self.incident, field)
        return self.incident.custom_fields.get(field)

    @property
    def incident_account(self) -> str | None:
        value = self.incident.custom_fields.get(INCIDENT_ACCOUNT_FIELD)
        return str(value) if value else None

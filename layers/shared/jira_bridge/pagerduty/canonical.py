"""What PagerDuty's pieces become in the canonical incident event.

PagerDuty names people and objects by *references* (`{id, type, summary, self, html_url}`); users
carry a display name in `summary`, never an e-mail address. The canonical event identifies an owner
by e-mail (that is how the Jira side finds the account), so a user becomes a :class:`Person` with an
e-mail only through a mapping of PagerDuty user id -> e-mail that the caller passes in (the
PagerDuty secret's `user_emails`). An unknown user keeps their name but has no e-mail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jira_bridge.incidents.events import Change, Incident, IncidentChanged, Person

SOURCE = "pagerduty"
"""`IncidentChanged.source` of every event this package produces."""

UNKNOWN_STATE = "unknown"
"""The snapshot's state when the PagerDuty event does not say (a V3 note event carries only the
incident's reference). The canonical `state` is required; this placeholder is never a real state."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PagerDutyModel(BaseModel):
    """Lenient about what PagerDuty adds (`extra="ignore"`), strict about what we read."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Reference(PagerDutyModel):
    id: str = Field(min_length=1)
    type: str | None = None
    summary: str | None = None
    html_url: str | None = None


def epoch_millis(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (no float rounding); a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def person(ref: Reference | None, user_emails: Mapping[str, str]) -> Person | None:
    """A user (or, for automatic actions, a service) as a canonical person."""
    if ref is None:
        return None
    email = user_emails.get(ref.id) if _is_user(ref) else None
    return Person(name=ref.summary, email=email)


def owner(assignees: Sequence[Reference], user_emails: Mapping[str, str]) -> Person | None:
    """The first assignee whose e-mail we know; ``None`` when none is known (or nobody is assigned).

    PagerDuty has no "primary" among several assignees, and an owner without an e-mail cannot be
    mapped to a Jira account, so an unknown owner is left out rather than guessed.
    """
    for ref in assignees:
        if _is_user(ref) and ref.id in user_emails:
            return Person(name=ref.summary, email=user_emails[ref.id])
    return None


def _is_user(ref: Reference) -> bool:
    return ref.type in {None, "user", "user_reference"}


def summaries(refs: Sequence[Reference]) -> list[str]:
    return [ref.summary or ref.id for ref in refs]


def custom_fields(**values: Any) -> dict[str, Any]:
    """Custom fields without the ones PagerDuty left empty (templates see only real values)."""
    return {name: value for name, value in values.items() if value not in (None, "", [], {})}


def canonical_event(
    *, event_id: str, occurred_at: datetime, actor: Person | None, incident: Incident, change: Change
) -> IncidentChanged:
    """The canonical event; `sequence` is `occurred_at` in epoch milliseconds (ordered per incident)."""
    return IncidentChanged(
        event_id=event_id,
        sequence=epoch_millis(occurred_at),
        occurred_at=occurred_at,
        source=SOURCE,
        actor=actor,
        incident=incident,
        change=change,
    )

"""The link between one incident and one Jira issue, and what the bridge did to that issue.

The record doubles as the echo ledger: every value the bridge writes to Jira is recorded in
`written`, so the Jira -> incident path can tell its own changes from a human's by identity.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from jira_bridge.jira.users import user_id

MAX_ACTIONS_KEPT = 20
MAX_REQUESTS_KEPT = 100
MAX_HISTORY_KEPT = 10


def utc_now() -> datetime:
    return datetime.now(UTC)


class LinkState(StrEnum):
    PENDING = "pending"  # changes arrived before the incident's "created": kept to settle its issue
    CLAIMED = "claimed"  # the incident is reserved; the issue may or may not exist yet
    LINKED = "linked"  # issue id and key are known
    # The issue is gone (deleted in Jira) or retired (a reopen opened a new one): it stays in `history`
    # and the incident's next create makes a new issue.
    ENDED = "ended"


class SyncStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"


class ActionRecord(BaseModel):
    """One thing the bridge did (or failed to do) to the issue, kept for `jira-bridge status`."""

    model_config = ConfigDict(frozen=True)

    at: datetime = Field(default_factory=utc_now)
    action: str
    outcome: str
    detail: str = ""


class WrittenValues(BaseModel):
    """What the bridge itself wrote, keyed so echoes are recognised by identity, never by text."""

    fields: dict[str, Any] = Field(default_factory=dict)  # field id -> last value written
    statuses: list[str] = Field(default_factory=list)  # every status entered, hops included
    comment_ids: list[str] = Field(default_factory=list)
    changelog_ids: list[str] = Field(default_factory=list)
    mirrored_notes: list[str] = Field(default_factory=list)  # incident note ids already posted as comments
    mirrored_comments: list[str] = Field(default_factory=list)  # Jira comment ids already sent to the incident
    # request_ids of the "Incident Update Requested" events published for this incident: an incident
    # event carrying one as its correlation_id is the incident side applying our request (an echo).
    requests: list[str] = Field(default_factory=list)
    told: list[str] = Field(default_factory=list)  # timeline causes already published for this incident


class PastIssue(BaseModel):
    """An issue the incident was linked to before: kept so people can follow the story."""

    model_config = ConfigDict(frozen=True)

    issue_id: str
    issue_key: str | None
    connector: str
    ended_at: datetime = Field(default_factory=utc_now)
    reason: str


class IssueLink(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    incident_id: str = Field(min_length=1)
    connector: str
    project_key: str
    state: LinkState = LinkState.CLAIMED
    issue_id: str | None = None  # numeric id: stable when the issue moves project and changes key
    issue_key: str | None = None
    # Which account of the incident tool the incident lives in (None = its default account): what
    # Jira asks of the incident goes back there (several PagerDuty accounts, pagerduty.yaml).
    incident_account: str | None = None
    settled: bool = False  # the new issue reached the incident's mapped status (the create is complete)
    issue_type: str | None = None  # with jira_values["status"], where a move starts without reading the issue
    version: int = 0
    claimed_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    last_sequence: int | None = None
    field_sequences: dict[str, int] = Field(default_factory=dict)
    # The incident's state/priority/owner as last seen or last requested: a Jira change that asks for
    # what the incident already has is not sent (this is what makes echoes and redeliveries no-ops).
    incident_values: dict[str, str | None] = Field(default_factory=dict)
    # Jira's status/priority/assignee (account id) as last written by the bridge or last seen: a Jira
    # change is one that differs from these, so a field nobody touched is never sent back.
    jira_values: dict[str, str | None] = Field(default_factory=dict)

    # The issue items the store has already written for this record (not part of the record).
    _stored_pointers: frozenset[str] = PrivateAttr(default_factory=frozenset)

    def stored_pointers(self) -> frozenset[str]:
        return self._stored_pointers

    def remember_pointers(self, keys: frozenset[str]) -> None:
        self._stored_pointers = self._stored_pointers | keys

    def jira_baseline(self) -> dict[str, str | None]:
        """`jira_values`, falling back to what the bridge itself wrote for links made before them."""
        fields = self.written.fields
        derived = {
            "status": self.written.statuses[-1] if self.written.statuses else None,
            "priority": (fields.get("priority") or {}).get("name"),
            "assignee": user_id(fields.get("assignee")),
        }
        return {**{k: v for k, v in derived.items() if v is not None}, **self.jira_values}
    written: WrittenValues = Field(default_factory=WrittenValues)
    # Events that need the issue and arrived before it existed (its "created" is late, retrying or
    # parked): kept here in sequence order and applied, in that order, as soon as the issue exists.
    deferred_events: list[dict[str, Any]] = Field(default_factory=list)
    history: list[PastIssue] = Field(default_factory=list)  # earlier issues of this incident, oldest first
    sync_status: SyncStatus = SyncStatus.OK
    last_error: str | None = None
    actions: list[ActionRecord] = Field(default_factory=list)

    def end_issue(self, reason: str) -> None:
        """The issue no longer follows the incident: keep it as history; the next create makes a new one."""
        if self.issue_id is None:
            return
        self.history = [*self.history, PastIssue(issue_id=self.issue_id, issue_key=self.issue_key,
                                                 connector=self.connector, reason=reason)][-MAX_HISTORY_KEPT:]
        self.record("end_issue", "ok", f"{self.issue_key}: {reason}")
        self.issue_id, self.issue_key, self.state, self.settled = None, None, LinkState.ENDED, False
        self.issue_type = None
        self.jira_values = {}

    def was_linked_to(self, connector: str, issue_id: str) -> PastIssue | None:
        return next((p for p in self.history if p.connector == connector and p.issue_id == issue_id), None)

    def record(self, action: str, outcome: str, detail: str = "") -> None:
        self.actions = [*self.actions, ActionRecord(action=action, outcome=outcome, detail=detail)][
            -MAX_ACTIONS_KEPT:
        ]

    def fail(self, action: str, message: str) -> None:
        self.sync_status = SyncStatus.FAILED
        self.last_error = message
        self.record(action, "failed", message)

    def hand_back_claim(self, action: str, message: str) -> None:
        """The create provably never reached Jira: nobody is creating now, the next attempt takes the
        claim and creates without searching for an issue that cannot exist. Deferred changes stay."""
        self.state = LinkState.PENDING
        self.last_error = message
        self.record(action, "retrying", message)

    def succeed(self, action: str, detail: str = "") -> None:
        self.sync_status = SyncStatus.OK
        self.last_error = None
        self.record(action, "ok", detail)

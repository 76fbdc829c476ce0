"""Apply incident changes requested from Jira to PagerDuty, through the REST API v2.

One :meth:`PagerDutyRestSink.update_incident` call is at most one `PUT /incidents/{id}` (status,
priority and assignee together) plus one `POST /incidents/{id}/notes`. Names become ids through two
per-container caches that expire (`cache_ttl`): priorities by name from `GET /priorities`, users by
e-mail from `GET /users?query=` (seeded, without any request, by the secret's `user_emails`).

Every request carries `Authorization: Token token=<key>`, `Accept:
application/vnd.pagerduty+json;version=2`, `Content-Type: application/json` and `From: <email>`:
PagerDuty requires `From` on incident writes made with an account-level key and records that user
as the one who acted, which is also how the bridge's own changes can be told apart when PagerDuty
reports them back.

Requested values PagerDuty cannot take are handled the way an incident commander would expect:
* a status the incident already has (PagerDuty's 1001 Already Resolved / 1002 Already Acknowledged)
  is a no-op, reported as `unchanged`, and the rest of the update still applies;
* an assignee e-mail no PagerDuty user has leaves the assignment alone (never cleared), reported as
  `skipped`;
* a priority name PagerDuty does not have is a configuration error: :class:`PagerDutyLookupFailed`,
  raised before anything is written, naming the priorities that do exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jira_bridge.pagerduty.errors import PagerDutyLookupFailed, PagerDutyRefused
from jira_bridge.pagerduty.transport import REST_ACCEPT, pagerduty_errors, rest_transport

if TYPE_CHECKING:
    from jira_bridge.jira.transport import JiraTransport
    from jira_bridge.pagerduty.credentials import PagerDutySecret

STATUSES = frozenset({"triggered", "acknowledged", "resolved"})
_ALREADY_IN_STATUS = {1001: "resolved", 1002: "acknowledged"}  # PagerDuty error code -> the status it had
_FIELD_NAMES = {"status": "status", "priority": "priority", "assignments": "assignee"}  # body key -> outcome name
_PAGE_SIZE = 100
_MAX_PAGES = 10  # a guard, not a limit anyone reaches: accounts have a handful of priorities


@dataclass
class UpdateOutcome:
    """What one update did: fields `applied`, already `unchanged`, `skipped` (with why), the note id.

    Record ``note_id`` with the link: when PagerDuty reports the note back (`incident.annotated`),
    that id is what marks it as the bridge's own and stops it being mirrored to Jira again.
    """

    incident_id: str
    applied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    note_id: str | None = None


class PagerDutyRestSink:
    def __init__(
        self,
        transport: JiraTransport,
        from_email: str,
        *,
        known_users: Mapping[str, str] | None = None,
        cache_ttl: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``known_users`` maps PagerDuty user id -> e-mail (the secret's ``user_emails``)."""
        if not from_email:
            raise ValueError("PagerDuty REST writes need the From e-mail of a PagerDuty user")
        self.transport = transport
        self._headers = {"Accept": REST_ACCEPT, "Content-Type": "application/json", "From": from_email}
        self._known = {email.strip().lower(): user_id for user_id, email in (known_users or {}).items()}
        self._ttl = cache_ttl
        self._clock = clock
        self._priorities: dict[str, str] = {}
        self._priority_names: list[str] = []
        self._priorities_until = float("-inf")
        self._users: dict[str, tuple[str | None, float]] = {}

    @classmethod
    def from_secret(cls, secret: PagerDutySecret, **transport_options: Any) -> PagerDutyRestSink:
        transport = rest_transport(secret.rest_url, secret.api_token.get_secret_value(), **transport_options)
        return cls(transport, secret.from_email, known_users=secret.user_emails)

    # ----- the write ------------------------------------------------------------------------------

    def update_incident(
        self,
        incident_id: str,
        *,
        status: str | None = None,
        priority_name: str | None = None,
        assignee_email: str | None = None,
        note: str | None = None,
    ) -> UpdateOutcome:
        """Set what is given (``None`` = leave alone); raise a :class:`PagerDutyError` on failure."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"PagerDuty status must be one of {', '.join(sorted(STATUSES))}, not {status!r}")
        if note is not None and not note.strip():
            raise ValueError("a PagerDuty note needs some text")
        outcome = UpdateOutcome(incident_id)
        changes: dict[str, Any] = {}
        if status is not None:
            changes["status"] = status
        if priority_name is not None:
            changes["priority"] = {"id": self.priority_id(priority_name), "type": "priority_reference"}
        if assignee_email is not None:
            user_id = self.user_id(assignee_email)
            if user_id is None:
                outcome.skipped["assignee"] = "no PagerDuty user has that e-mail; the assignment is left as is"
            else:
                changes["assignments"] = [{"assignee": {"id": user_id, "type": "user_reference"}}]
        if changes:
            self._put_incident(incident_id, changes, outcome)
        if note is not None:
            outcome.note_id = self._add_note(incident_id, note)
            outcome.applied.append("note")
        return outcome

    def _put_incident(self, incident_id: str, changes: dict[str, Any], outcome: UpdateOutcome) -> None:
        path = f"/incidents/{quote(incident_id, safe='')}"
        try:
            self._send_put(path, changes)
        except PagerDutyRefused as refused:
            already = _ALREADY_IN_STATUS.get(refused.code or 0)
            if already is None or changes.get("status") != already:
                raise
            outcome.unchanged.append("status")
            changes = {name: value for name, value in changes.items() if name != "status"}
            if changes:
                self._send_put(path, changes)
        outcome.applied.extend(_FIELD_NAMES[name] for name in changes)

    def _send_put(self, path: str, changes: dict[str, Any]) -> None:
        body = {"incident": {"type": "incident_reference", **changes}}
        with pagerduty_errors():
            self.transport.request("PUT", path, json=body, template="/incidents/{id}", headers=self._headers)

    def _add_note(self, incident_id: str, text: str) -> str | None:
        path = f"/incidents/{quote(incident_id, safe='')}/notes"
        with pagerduty_errors():
            # A POST: not repeated after a 5xx or a lost answer (it would post the note twice).
            response = self.transport.request("POST", path, json={"note": {"content": text}},
                                              template="/incidents/{id}/notes", headers=self._headers)
        note = response.body.get("note") if isinstance(response.body, dict) else None
        note_id = note.get("id") if isinstance(note, dict) else None
        return str(note_id) if note_id else None

    # ----- lookups --------------------------------------------------------------------------------

    def priority_id(self, name: str) -> str:
        """The id of the most severe priority called ``name`` (case-insensitive), cached."""
        wanted = name.strip().lower()
        fresh = False
        if self._clock() >= self._priorities_until:
            self._load_priorities()
            fresh = True
        if wanted not in self._priorities and not fresh:
            self._load_priorities()  # maybe added since we looked: one more look before refusing
        if wanted not in self._priorities:
            known = ", ".join(self._priority_names) or "none (priorities are off for this account)"
            raise PagerDutyLookupFailed(
                f"PagerDuty has no priority named {name!r}; it has {known}. Fix the priority mapping.",
                method="GET", path="/priorities",
            )
        return self._priorities[wanted]

    def _load_priorities(self) -> None:
        by_name: dict[str, str] = {}
        names: list[str] = []
        for item in self._pages("/priorities", "priorities", {}):
            # Ordered most to least severe: the first of a name wins, as PagerDuty itself does.
            for label in (item.get("name"), item.get("summary")):
                if isinstance(label, str) and label and item.get("id"):
                    by_name.setdefault(label.strip().lower(), str(item["id"]))
            if isinstance(item.get("name"), str):
                names.append(item["name"])
        self._priorities, self._priority_names = by_name, names
        self._priorities_until = self._clock() + self._ttl

    def user_id(self, email: str) -> str | None:
        """The id of the PagerDuty user with this e-mail (exact, case-insensitive), cached; None if none."""
        wanted = email.strip().lower()
        if wanted in self._known:
            return self._known[wanted]
        cached = self._users.get(wanted)
        if cached is not None and self._clock() < cached[1]:
            return cached[0]
        found: str | None = None
        # `query` matches names and e-mails loosely; only an exact e-mail match counts.
        for item in self._pages("/users", "users", {"query": email.strip()}):
            if str(item.get("email", "")).strip().lower() == wanted and item.get("id"):
                found = str(item["id"])
                break
        self._users[wanted] = (found, self._clock() + self._ttl)
        return found

    def _pages(self, path: str, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(_MAX_PAGES):
            with pagerduty_errors():
                response = self.transport.request(
                    "GET", path, params={**params, "limit": str(_PAGE_SIZE), "offset": str(page * _PAGE_SIZE)},
                    template=path, headers=self._headers,
                )
            body = response.body if isinstance(response.body, dict) else {}
            batch = body.get(key)
            items.extend(item for item in (batch if isinstance(batch, list) else []) if isinstance(item, dict))
            if not body.get("more"):
                break
        return items


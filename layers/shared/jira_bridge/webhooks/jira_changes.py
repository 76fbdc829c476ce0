"""Jira -> incident: turn a verified Jira change into requests for the incident, never echoing our own.

Echoes are recognised by identity, never by comparing text:
- the change was made by the connector's own Jira account (the bridge acts as that account);
- a comment id the bridge itself wrote (recorded on the link by the incident -> Jira flow);
- a value the incident already has (recorded on the link): asking for it again changes nothing.
A human change made right after one of ours still applies: its author is not the bridge.

The webhook body is a hint. The decision depends on the issue's *current* state, so the issue is
read again; a late or out-of-order delivery therefore never rolls the incident back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from jira_bridge.incidents.mappings import Mappings
from jira_bridge.incidents.runbooks import RunbookSet
from jira_bridge.incidents.sync import JiraSite
from jira_bridge.incidents.updates import IncidentNoteRequested, IncidentUpdateRequested, JiraOrigin, RequestedNote
from jira_bridge.jira.adf import adf_to_text
from jira_bridge.jira.errors import JiraNotFound
from jira_bridge.jira.service_desk import SD_PUBLIC_COMMENT, CommentKind, classify_comment, is_internal_property
from jira_bridge.jira.users import user_id
from jira_bridge.links.model import MAX_REQUESTS_KEPT, IssueLink
from jira_bridge.links.store import LinkStore, StaleLink
from jira_bridge.timeline import cause_key, note_for, remember_told
from jira_bridge.webhooks.jira_payload import JiraWebhookPayload, WebhookComment

ISSUE_FIELDS = ("status", "priority", "assignee", "summary", "labels", "updated")
# Which incident field each tracked Jira field feeds, and the changelog ids that announce it.
TRACKED = {"status": "state", "priority": "priority", "assignee": "owner"}
MAX_SAVE_ATTEMPTS = 5
_KIND_NAMES = {"internal": "JSM internal note", "public": "JSM agent's public reply",
               "customer": "JSM customer's comment"}


class UpdatePublisher(Protocol):
    def publish_update(self, request: IncidentUpdateRequested) -> None: ...
    def publish_note(self, request: IncidentNoteRequested) -> None: ...


@dataclass(frozen=True)
class JiraDelivery:
    """One verified webhook delivery (or a reconciliation's synthetic one: no delivery id)."""

    connector: str
    payload: JiraWebhookPayload
    delivery_id: str | None = None


@dataclass
class ChangeOutcome:
    disposition: str  # applied | echo | unchanged | ignored
    reasons: list[str] = field(default_factory=list)
    request: IncidentUpdateRequested | None = None
    incident_id: str | None = None
    jira_now: dict[str, str | None] = field(default_factory=dict)  # what the issue shows now
    jira_version: str = ""  # the issue's `updated` time: part of the request's identity
    # (cause kind, text) a person on the incident should see: unmapped/backward status, unknown user
    warnings: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class JiraChangeSync:
    runbooks: RunbookSet
    links: LinkStore
    site_named: Callable[[str], JiraSite]
    publisher: UpdatePublisher
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def apply(self, delivery: JiraDelivery) -> ChangeOutcome:
        payload = delivery.payload
        if payload.issue is None:
            return ChangeOutcome("ignored", [f"{payload.webhook_event} carries no issue"])
        link = self.links.get_by_issue(delivery.connector, payload.issue.id)
        if link is None:
            return ChangeOutcome("ignored", [f"issue {payload.issue.key} is not linked to an incident"])
        past = link.was_linked_to(delivery.connector, payload.issue.id)
        if link.issue_id != payload.issue.id and past is not None:
            return ChangeOutcome("ignored", [f"issue {payload.issue.key} no longer follows incident {link.incident_id} "
                                             f"({past.reason}); kept as history"], incident_id=link.incident_id)
        if payload.issue.key and link.issue_key and payload.issue.key != link.issue_key:
            link = self._follow_move(link, payload.issue.key)
        site = self.site_named(delivery.connector)
        outcome = ChangeOutcome("unchanged", incident_id=link.incident_id)
        if payload.actor_account_id and payload.actor_account_id == site.metadata.integration_account_id():
            outcome.disposition = "echo"
            outcome.reasons.append("made by the bridge's own Jira account")
            return outcome

        changes: dict[str, str] = {}
        note: RequestedNote | None = None
        event = payload.webhook_event
        if event in {"jira:issue_created", "jira:issue_updated"}:
            announced = None if payload.changelog is None else {item.key for item in payload.changelog.items}
            changes = self._field_changes(site, link, payload.issue.id, outcome, announced)
        elif event == "comment_created":
            note = self._note(site, link, payload, outcome)
        elif event == "comment_updated":
            note = self._edited_note(site, link, payload, outcome)
        elif event == "jira:issue_deleted":
            note = RequestedNote(text=f"Jira issue {payload.issue.key} was deleted.",
                                 jira_comment_id=f"deleted-{payload.issue.id}",
                                 author_name=payload.user.display_name if payload.user else None)
        else:
            outcome.disposition = "ignored"
            outcome.reasons.append(f"{event} does not change the incident")
            return outcome

        if outcome.warnings:
            link = self._tell(link, outcome.warnings)
        if not changes and note is None:
            if outcome.jira_now and outcome.jira_now != {k: link.jira_baseline().get(k) for k in outcome.jira_now}:
                self._remember(link, {}, None, outcome.jira_now)  # a new baseline, nothing to ask for
            return outcome
        request = IncidentUpdateRequested(
            request_id=_request_id(delivery, link, payload.issue.id, outcome.jira_version, changes, note),
            incident_id=link.incident_id,
            requested_at=self.clock(),
            state=changes.get("state"),
            priority=changes.get("priority"),
            owner_email=changes.get("owner") or None,
            owner_cleared=changes.get("owner") == "",
            note=note,
            origin=JiraOrigin(
                connector=delivery.connector, issue_id=payload.issue.id, issue_key=payload.issue.key,
                issue_url=f"{site.client.transport.base_url}/browse/{payload.issue.key}",
                actor_account_id=payload.actor_account_id,
                actor_name=payload.user.display_name if payload.user else None,
                delivery_id=delivery.delivery_id,
            ),
        )
        # The request id goes on the link before the request leaves: the incident side may echo it
        # (correlation_id) faster than this invocation finishes. The rest is recorded once published.
        link = self._note_request(link, request.request_id)
        self.publisher.publish_update(request)
        self._remember(link, changes, note, outcome.jira_now)
        if event == "jira:issue_deleted":
            self._end(link.incident_id, f"deleted in Jira by {(payload.user.display_name if payload.user else None)
                                                                or 'someone'}")
        outcome.disposition = "applied"
        outcome.request = request
        return outcome

    # ----- fields ----------------------------------------------------------------------------------

    def _field_changes(self, site: JiraSite, link: IssueLink, issue_id: str, outcome: ChangeOutcome,
                       announced: set[str] | None) -> dict[str, str]:
        """Incident fields to set, for the tracked Jira fields that really changed.

        A field counts as changed when the issue now shows something other than what the bridge last
        wrote or saw (`link.jira_baseline()`), and, for a webhook with a changelog, only if the
        changelog names it: a summary edit never re-sends the priority.
        """
        try:
            issue = site.client.get_issue(issue_id, fields=list(ISSUE_FIELDS))
        except JiraNotFound:
            outcome.reasons.append("the issue no longer exists")
            return {}
        fields: dict[str, Any] = issue.get("fields") or {}
        now = {
            "status": (fields.get("status") or {}).get("name"),
            "priority": (fields.get("priority") or {}).get("name"),
            "assignee": user_id(fields.get("assignee")),
        }
        # Only what this delivery announces becomes the new baseline: a later edit already visible in
        # this read has its own delivery coming, which must still see it as a change.
        outcome.jira_now = now if announced is None else {k: v for k, v in now.items() if k in announced}
        outcome.jira_version = str(fields.get("updated") or "")
        baseline = link.jira_baseline()
        moved = {name for name, value in now.items() if not _same(value, baseline.get(name))}
        if announced is not None:
            moved &= announced
        wanted = set(self.runbooks.inbound.sync_fields)
        changes: dict[str, str] = {}
        if "status" in moved and "state" in wanted:
            state = self._state_for(str(now["status"] or ""), link, outcome)
            if state is not None:
                changes["state"] = state
        if "priority" in moved and "priority" in wanted:
            priority = self._reverse("priority", str(now["priority"] or ""), outcome)
            if priority is not None:
                changes["priority"] = priority
        if "assignee" in moved and "owner" in wanted:
            owner = self._owner_for(fields.get("assignee"), outcome)
            if owner is not None:
                changes["owner"] = owner  # "" : unassigned in Jira, so the incident has no owner either
        unchanged = [name for name, value in changes.items() if _same(link.incident_values.get(name), value)]
        for name in unchanged:
            del changes[name]
        return changes

    def _state_for(self, jira_status: str, link: IssueLink, outcome: ChangeOutcome) -> str | None:
        state = self._reverse("status", jira_status, outcome)
        if state is None:
            return None
        order = [s.lower() for s in self.runbooks.mappings.status]
        current = (link.incident_values.get("state") or "").lower()
        if current in order and order.index(state.lower()) < order.index(current) and not (
            self.runbooks.inbound.allow_reopen
        ):
            reason = (f"Jira status {jira_status!r} would move the incident back from {current} to {state}; "
                      "set inbound.allow_reopen to allow it")
            outcome.reasons.append(reason)
            outcome.warnings.append(("backward-status", reason))
            return None
        return state

    def _reverse(self, table: str, jira_value: str, outcome: ChangeOutcome) -> str | None:
        if not jira_value:
            return None
        candidates = Mappings.reverse(self.runbooks.mappings.table(table), jira_value)
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            reason = f"Jira {table} {jira_value!r} is ambiguous: it maps back to {', '.join(candidates)}"
        else:
            reason = f"Jira {table} {jira_value!r} has no mapping back to the incident (mappings.{table})"
        outcome.reasons.append(reason)
        outcome.warnings.append((f"unmapped-{table}", reason))
        return None

    def _owner_for(self, assignee: Any, outcome: ChangeOutcome) -> str | None:
        """An email for the incident side ("" when the issue was unassigned); an unknown user leaves the
        owner unchanged (never cleared) and is told on the incident's timeline."""
        if assignee is None:
            return ""
        if not isinstance(assignee, dict):
            return None
        email = assignee.get("emailAddress")
        account = user_id(assignee) or ""
        email = email or self.runbooks.mappings.users.email_for(account)
        if not email:
            reason = (f"Jira assignee {assignee.get('displayName') or account} has no visible email and no entry in "
                      "mappings.users.accounts; the incident's owner was left unchanged")
            outcome.reasons.append(reason)
            outcome.warnings.append(("unknown-user", reason))
            return None
        return str(email).lower()

    # ----- comments --------------------------------------------------------------------------------

    def _note(self, site: JiraSite, link: IssueLink, payload: JiraWebhookPayload, outcome: ChangeOutcome,
              edited: bool = False) -> RequestedNote | None:
        comment = payload.comment
        if comment is None or not self.runbooks.inbound.mirror_comments:
            return None
        if comment.id in link.written.comment_ids:
            outcome.disposition = "echo"
            outcome.reasons.append(f"comment {comment.id} was written by the bridge")
            return None
        if comment.id in link.written.mirrored_comments and not edited:
            outcome.reasons.append(f"comment {comment.id} was already sent to the incident")
            return None
        kind = self._jsm_kind(site, link, comment)
        if kind is not None and kind not in self.runbooks.inbound.jsm_comments:
            outcome.reasons.append(f"comment {comment.id} is a {_KIND_NAMES[kind]}; inbound.jsm_comments "
                                   f"({', '.join(self.runbooks.inbound.jsm_comments) or 'empty'}) leaves it out")
            return None
        body = comment.body
        text = adf_to_text(body) if isinstance(body, dict) else str(body or "")
        author = comment.author.display_name if comment.author else None
        return RequestedNote(text=text, jira_comment_id=comment.id, author_name=author, jira_visibility=kind)

    @staticmethod
    def _jsm_kind(site: JiraSite, link: IssueLink, comment: WebhookComment) -> CommentKind | None:
        """On a JSM project: internal note, agent's public reply or customer's comment (else None).

        Cloud's payload says both (``jsdPublic``, the author's ``accountType``); what it leaves out
        (always, on Data Center) is read from Jira: the comment's ``sd.public.comment`` property and
        the author's account type, cached per account."""
        if not link.project_key or not site.metadata.is_service_desk(link.project_key):
            return None
        jsd_public = comment.jsd_public
        if jsd_public is None:
            jsd_public = not is_internal_property(site.client.get_comment_property(comment.id, SD_PUBLIC_COMMENT))
        author = comment.author
        account_type = author.account_type if author else None
        if account_type is None and author is not None and author.id and jsd_public:
            account_type = site.metadata.account_type(author.id)
        return classify_comment(jsd_public, account_type)

    def _edited_note(self, site: JiraSite, link: IssueLink, payload: JiraWebhookPayload,
                     outcome: ChangeOutcome) -> RequestedNote | None:
        """An edited comment becomes a new note marked as edited (incident tools rarely let a note be
        changed); once per version of the comment. Deleted comments are ignored by design: the
        incident's timeline keeps what was said."""
        note = self._note(site, link, payload, outcome, edited=True)
        if note is None or payload.comment is None:
            return None
        version = payload.comment.updated or hashlib.sha256(note.text.encode()).hexdigest()[:12]
        edit_id = f"{payload.comment.id}@{version}"
        if edit_id in link.written.mirrored_comments:
            outcome.reasons.append(f"edit {edit_id} was already sent to the incident")
            return None
        editor = payload.comment.update_author.display_name if payload.comment.update_author else note.author_name
        return RequestedNote(text=f"(edited) {note.text}", jira_comment_id=edit_id, author_name=editor,
                             jira_visibility=note.jira_visibility)

    # ----- bookkeeping -----------------------------------------------------------------------------

    def _tell(self, link: IssueLink, warnings: list[tuple[str, str]]) -> IssueLink:
        """Timeline feedback for what was not sent to the incident, once per cause (jira_bridge/timeline.py)."""
        for kind, text in warnings:
            note = note_for(link, cause_key(kind, text), f"From Jira: {text}.")
            if note is not None:
                self.publisher.publish_note(note)
                link = self._update(link.incident_id, partial(remember_told, note=note))
        return link

    # ----- the issue's identity: links follow the issue id -------------------------------------------

    def _follow_move(self, link: IssueLink, new_key: str) -> IssueLink:
        """The issue moved (new key, same id): the link takes the new key and project."""
        return self._update(link.incident_id, lambda current: _moved(current, new_key))

    def _end(self, incident_id: str, reason: str) -> None:
        self._update(incident_id, lambda current: current.end_issue(reason))

    def _update(self, incident_id: str, change: Callable[[IssueLink], None]) -> IssueLink:
        for _ in range(MAX_SAVE_ATTEMPTS):
            current = self.links.get_by_incident(incident_id)
            if current is None:
                raise StaleLink(incident_id)
            change(current)
            try:
                return self.links.save(current)
            except StaleLink:
                continue
        raise StaleLink(incident_id)

    def _note_request(self, link: IssueLink, request_id: str) -> IssueLink:
        current = link
        for _ in range(MAX_SAVE_ATTEMPTS):
            if request_id in current.written.requests:
                return current
            current.written.requests = [*current.written.requests, request_id][-MAX_REQUESTS_KEPT:]
            try:
                return self.links.save(current)
            except StaleLink:
                reread = self.links.get_by_incident(link.incident_id)
                if reread is None:
                    raise
                current = reread
        raise StaleLink(link.incident_id)

    def _remember(self, link: IssueLink, changes: dict[str, str], note: RequestedNote | None,
                  jira_now: dict[str, str | None]) -> None:
        current = link
        for _ in range(MAX_SAVE_ATTEMPTS):
            current.incident_values = {**current.incident_values, **changes}
            current.jira_values = {**current.jira_values, **jira_now}
            if note is not None:
                current.written.mirrored_comments = [*current.written.mirrored_comments, note.jira_comment_id][-200:]
            if changes or note:
                current.record("jira_to_incident", "ok", ", ".join(
                    [f"{k}={v}" for k, v in changes.items()] + ([f"note {note.jira_comment_id}"] if note else [])))
            try:
                self.links.save(current)
                return
            except StaleLink:
                reread = self.links.get_by_incident(link.incident_id)
                if reread is None:
                    raise
                current = reread
        raise StaleLink(link.incident_id)


def _moved(link: IssueLink, new_key: str) -> None:
    if link.issue_key == new_key:
        return
    link.record("issue_moved", "ok", f"{link.issue_key} -> {new_key} (same issue id {link.issue_id})")
    link.issue_key, link.project_key = new_key, new_key.rsplit("-", 1)[0]


def _same(left: str | None, right: str | None) -> bool:
    return (left or "").strip().lower() == (right or "").strip().lower()


def _request_id(delivery: JiraDelivery, link: IssueLink, issue_id: str, jira_version: str,
                changes: dict[str, str], note: RequestedNote | None) -> str:
    """Stable for one Jira change of one issue: a redelivered webhook (or a reconciliation of the same
    change) produces the same id; another incident, issue or later change never does."""
    changelog = delivery.payload.changelog.id if delivery.payload.changelog else ""
    note_id = note.jira_comment_id if note else ""
    material = "|".join([delivery.connector, issue_id, link.incident_id, delivery.delivery_id or "", str(changelog),
                         jira_version, str(sorted(changes.items())), note_id])
    return hashlib.sha256(material.encode()).hexdigest()[:32]

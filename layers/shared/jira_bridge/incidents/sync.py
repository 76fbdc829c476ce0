"""Incident -> Jira: apply the runbooks an incident event triggers, exactly once per incident.

The domain entry point is :meth:`IncidentSync.handle`. It never sees the raw event or boto3: the link
store, the Jira clients and the metadata cache are handed in.

Exactly one issue per incident, even with duplicate deliveries, racing invocations and a crash
between Jira's create and our link write:
1. claim the link first (a conditional put: only one claimant wins);
2. create the issue with a marker (an issue property and a label) in the same request;
3. save the issue id on the link.
A later attempt that finds a claim without an issue searches for the marker before creating, so a
crash after step 2 ends with the issue found, not a second one.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn, TypeVar

from jira_bridge.incidents.errors import ClaimInProgress, SyncRefused
from jira_bridge.incidents.events import ChangeKind, IncidentChanged, canonical_field
from jira_bridge.incidents.field_values import FieldValueProblem, check_label, format_field
from jira_bridge.incidents.jira_metadata import JiraMetadata
from jira_bridge.incidents.jsm import comment_properties_for, create_request, fields_off_form
from jira_bridge.incidents.runbooks import (
    Action,
    AddComment,
    CreateIssue,
    MappedValue,
    Runbook,
    RunbookSet,
    Transition,
    UpdateFields,
    UserValue,
)
from jira_bridge.incidents.templating import TemplateProblem, one_line, render, render_value
from jira_bridge.incidents.workflow import NoPathToStatus, TransitionOption, WorkflowMap, same_status
from jira_bridge.jira.adf import AdfNode, from_markdown
from jira_bridge.jira.client import CreatedIssue, JiraClient
from jira_bridge.jira.errors import JiraError, JiraNotFound, JiraRateLimited, JiraRequestRefused, JiraUnavailable
from jira_bridge.jira.users import user_id
from jira_bridge.links.model import IssueLink, LinkState, utc_now
from jira_bridge.links.store import ClaimOutcome, IssueAlreadyLinked, LinkStore, StaleLink
from jira_bridge.timeline import NotePublisher, cause_key, note_for, remember_told

_T = TypeVar("_T")
MARKER_PROPERTY = "jira-bridge"
# An incident opened from a Jira issue ("Incident Create Requested") names it here, so it is linked.
JIRA_ISSUE_KEY_FIELD = "jira_issue_key"
CLAIM_LEASE = timedelta(seconds=90)
MAX_SAVE_ATTEMPTS = 5
# Kept events live on the link item (twice: one item per direction), and DynamoDB items stop at 400 KB.
MAX_DEFERRED_BYTES = 120_000
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def marker_label(incident_id: str) -> str:
    """A searchable marker: issue properties are only searchable in JQL when an app indexes them."""
    return "jira-bridge-" + _LABEL_UNSAFE.sub("-", incident_id)[:200]


@dataclass
class JiraSite:
    """One connector's client and its cached metadata."""

    connector: str
    client: JiraClient
    metadata: JiraMetadata


@dataclass
class SyncResult:
    incident_id: str
    runbooks: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    issue_key: str | None = None
    # Kept events that Jira refused once the issue existed: the caller parks each for replay.
    refused_deferred: list[tuple[IncidentChanged, str]] = field(default_factory=list)


@dataclass
class IncidentSync:
    runbooks: RunbookSet
    links: LinkStore
    site_for_project: Callable[[str], JiraSite]
    site_named: Callable[[str], JiraSite]
    clock: Callable[[], float] = time.time
    # Where timeline feedback goes ("Incident Note Requested"); None: only the link and the logs.
    notes: NotePublisher | None = None
    _unknown_users: list[str] = field(default_factory=list, init=False)
    _user_fields: dict[str, str] = field(default_factory=dict, init=False)  # field id -> the e-mail it was set from
    # The last template context built: (event, the link's issue key/id/project, context); see `_context`.
    _last_context: tuple[IncidentChanged, tuple[str | None, ...] | None, dict[str, Any]] | None = field(
        default=None, init=False, repr=False)

    # ----- entry point ---------------------------------------------------------------------------

    def handle(self, event: IncidentChanged) -> SyncResult:
        result = SyncResult(incident_id=event.incident.id)
        self._unknown_users.clear()
        link = self._apply(event, result)
        if link is not None and link.issue_id is not None and link.settled and link.deferred_events:
            link = self._apply_deferred(link, result)
        if link is not None:
            for email in dict.fromkeys(self._unknown_users):
                link = self._tell(link, "unknown-user", f"{email} has no Jira account the bridge can find (or it is "
                                  "hidden): the issue was left unassigned. Add it under mappings.users.accounts.",
                                  detail=email)
            result.issue_key = link.issue_key
        return result

    def _tell(self, link: IssueLink, kind: str, text: str, detail: str | None = None) -> IssueLink:
        """Timeline feedback, once per cause and incident (see jira_bridge/timeline.py)."""
        if self.notes is None:
            return link
        note = note_for(link, cause_key(kind, detail if detail is not None else text), text)
        if note is None:
            return link
        self.notes.publish_note(note)
        return self._save(link, lambda current: remember_told(current, note))

    def _apply(self, event: IncidentChanged, result: SyncResult) -> IssueLink | None:
        matching = self.runbooks.matching(event)
        result.runbooks = [runbook.name for runbook in matching]
        link = self.links.get_by_incident(event.incident.id)
        echo = self._echo_of_our_request(event, link)
        if echo is not None:
            return self._ignore_echo(event, link, echo, result)
        needs_issue = event.change.kind is not ChangeKind.CREATED and self.runbooks.create_action() is not None
        if link is None and needs_issue:
            # A change overtook its incident's "created" (producers publish concurrently, EventBridge
            # does not order, or "created" is retrying or parked): keep it until the issue exists.
            link = self.links.claim(IssueLink(incident_id=event.incident.id, connector="", project_key="",
                                              state=LinkState.PENDING,
                                              incident_account=event.incident_account)).link
        if link is not None and self._already_applied(link, event):
            result.skipped.append(f"event {event.event_id} is older than what the issue already shows")
            if event.sequence > (link.last_sequence or 0):
                # Applied, but the function stopped before remembering it (a create or a note is recorded as
                # applied by its own write): the incident's values still go on the link, or Jira's webhooks
                # would be compared with nothing (an echo of the incident's own values, a reopen let through).
                link = self._remember_event(link, event)
            return link
        if link is not None and link.state is LinkState.ENDED and needs_issue:
            past = link.history[-1] if link.history else None
            reason = (f"the incident's issue {past.issue_key} ended ({past.reason}); its next create makes a new one"
                      if past else "the incident's issue ended")
            result.skipped.append(f"event {event.event_id}: {reason}")
            link = self._tell(link, "issue-ended", f"A change was not sent to Jira: {reason}.",
                              detail=past.issue_id if past else "")
            return self._remember_event(link, event)
        if link is not None and link.issue_id is None and needs_issue:
            return self._defer(link, event, result)
        for runbook in matching:
            for action in runbook.actions:
                link = self._run(runbook, action, event, link, result)
        if link is not None:
            link = self._remember_event(link, event)
        return link

    # ----- echoes: the incident side applying what the bridge asked of it -------------------------

    def _echo_of_our_request(self, event: IncidentChanged, link: IssueLink | None) -> str | None:
        """Why this change is the incident side applying a request of ours, or None.

        By id first (the request's id echoed as `correlation_id`), by the incident side's integration
        user second; never by text. A `created` event is never an echo: it links or creates the issue.
        """
        if event.change.kind is ChangeKind.CREATED:
            return None
        if event.correlation_id and link is not None and event.correlation_id in link.written.requests:
            return f"correlation id {event.correlation_id} is a request the bridge published"
        author = event.change.note.author if event.change.note else None
        who = self.runbooks.incident_side.is_integration_user(event.source, event.actor, author)
        if who is not None:
            return f"made by {who}, the bridge's integration user in {event.source}"
        return None

    def _ignore_echo(
        self, event: IncidentChanged, link: IssueLink | None, reason: str, result: SyncResult,
    ) -> IssueLink | None:
        """Run no runbook (each writes to Jira), but remember the change: it is the incident's state now."""
        what = f"note {event.change.note.id}" if event.change.note else (
            f"{event.change.field}={event.change.new_value}" if event.change.field else event.change.kind.value)
        result.runbooks = []
        result.skipped.append(f"event {event.event_id} ({what}) is an echo: {reason}")
        if link is None:
            return None

        def note(current: IssueLink) -> None:
            if event.change.note is not None and event.change.note.id not in current.written.mirrored_notes:
                current.written.mirrored_notes = [*current.written.mirrored_notes, event.change.note.id]
            current.record("incident_to_jira", "echo", f"{what}: {reason}; not written to Jira")

        return self._remember_event(self._save(link, note), event)

    # ----- events that wait for the issue ----------------------------------------------------------

    def _defer(self, link: IssueLink, event: IncidentChanged, result: SyncResult) -> IssueLink:
        """Keep an event that needs the issue until "created" has made it; never apply it to nothing."""
        kept = event.model_dump(mode="json")
        size = len(json.dumps([*link.deferred_events, kept]))
        if size > MAX_DEFERRED_BYTES:
            raise SyncRefused(
                f"{len(link.deferred_events)} changes of incident {event.incident.id} are already waiting for "
                "its issue (its 'created' event has not been applied: see `jira-bridge dlq list`); replay "
                "this one after the issue exists")

        def keep(current: IssueLink) -> None:
            if all(e.get("event_id") != event.event_id for e in current.deferred_events):
                current.deferred_events = sorted([*current.deferred_events, kept], key=lambda e: e["sequence"])

        link = self._save(link, keep)
        result.skipped.append(f"event {event.event_id} kept until the incident's issue exists "
                              f"({len(link.deferred_events)} waiting)")
        return link

    def _apply_deferred(self, link: IssueLink, result: SyncResult) -> IssueLink:
        """Apply kept events in sequence order; each is forgotten only once applied (or refused)."""
        while link.deferred_events:
            kept = IncidentChanged.model_validate(link.deferred_events[0])
            try:
                self._apply(kept, result)  # transient errors propagate: the trigger retries, resumes here
            except SyncRefused as refusal:
                result.refused_deferred.append((kept, str(refusal)))
            result.actions.append(f"applied kept event {kept.event_id}")

            def forget(current: IssueLink, event_id: str = kept.event_id) -> None:
                current.deferred_events = [e for e in current.deferred_events if e.get("event_id") != event_id]

            link = self._save(self.links.get_by_incident(link.incident_id) or link, forget)
        return link

    # ----- ordering --------------------------------------------------------------------------------

    @staticmethod
    def _already_applied(link: IssueLink, event: IncidentChanged) -> bool:
        """Out-of-order or duplicate: never roll a field back, never post a note twice."""
        change = event.change
        if change.kind is ChangeKind.CREATED:
            return link.issue_id is not None and link.settled  # a half-done create is finished on replay
        if change.kind is ChangeKind.NOTE_ADDED:
            return change.note is not None and change.note.id in link.written.mirrored_notes
        field_name = canonical_field(change.field or "")
        seen = link.field_sequences.get(field_name)
        return seen is not None and event.sequence <= seen

    def _remember_event(self, link: IssueLink, event: IncidentChanged) -> IssueLink:
        def update(current: IssueLink) -> None:
            if event.sequence >= (current.last_sequence or 0):
                incident = event.incident
                current.incident_values = {
                    "state": incident.state, "priority": incident.priority,
                    "owner": incident.owner.email.lower() if incident.owner and incident.owner.email else None,
                }
            current.last_sequence = max(current.last_sequence or 0, event.sequence)
            if event.change.kind is ChangeKind.FIELD_CHANGED and event.change.field:
                name = canonical_field(event.change.field)
                current.field_sequences = {**current.field_sequences,
                                           name: max(current.field_sequences.get(name, 0), event.sequence)}

        return self._save(link, update)

    # ----- actions ---------------------------------------------------------------------------------

    def _run(
        self, runbook: Runbook, action: Action, event: IncidentChanged, link: IssueLink | None, result: SyncResult
    ) -> IssueLink | None:
        spec = action.spec
        if isinstance(spec, CreateIssue):
            return self._ensure_issue(runbook, spec, event, link, result)
        if link is None or link.issue_id is None:
            result.skipped.append(f"{runbook.name}: {action.kind} needs a linked issue; the incident has none")
            return link
        site = self.site_named(link.connector)
        try:
            if isinstance(spec, UpdateFields):
                return self._update_fields(site, spec, event, link, result)
            if isinstance(spec, Transition):
                target = str(self._value(spec.to, event, link))
                known = _last_known(link)
                if known is None:  # a link from before the bridge recorded it: read once
                    issue = site.client.get_issue(str(link.issue_id), fields=["status", "issuetype"])
                    known = (str(issue["fields"]["status"]["name"]), str(issue["fields"]["issuetype"]["name"]))
                if self.runbooks.reopen is not None and self._closed_and_wanted_open(site, link, known, target):
                    return self._reopen(site, runbook, link, known, target, spec, event, result)
                return self._move(site, link, target, spec, event, result, known=known)
            if isinstance(spec, AddComment):
                return self._comment(site, spec, event, link, result)
        except JiraNotFound:
            return self._issue_gone(link, f"{runbook.name}/{action.kind}", result)
        except (JiraRequestRefused, FieldValueProblem, TemplateProblem, NoPathToStatus, SyncRefused) as error:
            if _transient(error):
                raise  # e.g. 409: a concurrent edit; the SQS retry will get through
            self._refuse(link, f"{runbook.name}/{action.kind}", error)
        return link

    def _issue_gone(self, link: IssueLink, action: str, result: SyncResult) -> IssueLink:
        """Jira answers 404 for the linked issue: it was deleted (or hidden from the bridge). End the link,
        keep it as history; nothing is parked, and the incident's next create makes a new issue."""
        reason = (f"Jira answered 404 for {link.issue_key} (id {link.issue_id}) on {action}: deleted, or no longer "
                  "visible to the bridge's account")
        result.skipped.append(reason)
        gone = link.issue_key
        link = self._save(link, lambda current: current.end_issue(reason))
        return self._tell(link, "issue-ended", f"{reason}. The link to {gone} ended (kept as history); the "
                          "incident's next create makes a new issue.", detail=str(gone))

    def _ensure_issue(
        self, runbook: Runbook, spec: CreateIssue, event: IncidentChanged, link: IssueLink | None,
        result: SyncResult,
    ) -> IssueLink:
        if link is not None and link.issue_id is not None:
            result.skipped.append(f"{runbook.name}: incident already has {link.issue_key}")
            return link if link.settled else self._resume(self.site_named(link.connector), runbook, spec, event,
                                                          link, result)
        context = self._context(event, None)
        try:
            project = render(spec.project, context).strip().upper()
        except TemplateProblem as error:
            raise SyncRefused(f"{runbook.name}/create_issue: {error}") from None
        site = self.site_named(runbook.connector) if runbook.connector else self.site_for_project(project)
        outcome = self.links.claim(IssueLink(incident_id=event.incident.id, connector=site.connector,
                                             project_key=project, incident_account=event.incident_account))
        link = outcome.link
        if link.issue_id is not None:
            result.skipped.append(f"{runbook.name}: incident already has {link.issue_key}")
            return link if link.settled else self._resume(site, runbook, spec, event, link, result)
        if link.state in {LinkState.PENDING, LinkState.ENDED}:  # nobody is creating; take it
            link = self._take_pending(link, site.connector, project)
            outcome = ClaimOutcome(link=link, claimed=True)
        existing_key = event.incident.custom_fields.get(JIRA_ISSUE_KEY_FIELD)
        if existing_key:  # an incident opened from a Jira issue: link it, never create a second one
            return self._link_existing(site, link, str(existing_key), f"{runbook.name}/link_existing", result)
        if not outcome.claimed:
            found = self._find_marked_issue(site, project, event.incident.id,
                                            skip={p.issue_id for p in link.history})
            if found is not None:
                link = self._attach(link, found["id"], found["key"], site.connector, note="recovered by marker")
                result.actions.append(f"found existing {found['key']}")
                return link
            if utc_now() - link.claimed_at < CLAIM_LEASE and link.sync_status.value == "ok":
                raise ClaimInProgress(f"incident {event.incident.id} was claimed at {link.claimed_at:%H:%M:%S}")
            recovered = self._recover_request(site, runbook, spec, event, link, project, result)
            if recovered is not None:
                return recovered
            link.claimed_at = utc_now()  # take the stale claim over; a racing taker gets StaleLink
            link = self.links.save(link)
        marker = {MARKER_PROPERTY: {"incidentId": event.incident.id, "connector": site.connector}}
        claimed = link

        def create() -> tuple[dict[str, Any], CreatedIssue]:
            fields = self._create_fields(site, spec, self._newest_snapshot(event, claimed), project)
            return fields, self._create(site, spec, project, fields, marker)

        try:
            fields, created = self._with_fresh_users(site, create)
        except (JiraRequestRefused, FieldValueProblem, TemplateProblem, SyncRefused) as error:
            if _transient(error):
                raise
            self._refuse(link, f"{runbook.name}/create_issue", error)
        except JiraError as error:
            # Transient (Jira down, throttled, timed out). If no attempt can have created the issue (a 429
            # or 503 is not processed; a request that was never sent) the claim goes back to pending:
            # the redelivery takes it and creates at once, with no marker search. Otherwise record the
            # failure, which also releases the claim's lease, so the redelivery searches for the marker
            # (the issue may exist) and creates at once instead of waiting.
            reason, action = str(error), f"{runbook.name}/create_issue"
            if _never_reached_jira(error) and link.sync_status.value == "ok":
                self._save(link, lambda current: current.hand_back_claim(action, reason))
            else:
                self._save(link, lambda current: current.fail(action, reason))
            raise
        link = self._attach(link, created.id, created.key, site.connector, written_fields=fields)
        result.actions.append(f"created {created.key}")
        if spec.request_type:
            return self._resume(site, runbook, spec, event, link, result)
        return self._settle_new_issue(site, link, event, result, issue_type=fields["issuetype"]["name"])

    @staticmethod
    def _create(site: JiraSite, spec: CreateIssue, project: str, fields: dict[str, Any],
                marker: dict[str, Any]) -> CreatedIssue:
        if spec.request_type:  # JSM: a customer request; its marker follows once linked (`_resume`)
            return create_request(site.client, site.metadata, project, spec.request_type, fields)
        return site.client.create_issue(fields, properties=marker)

    def _resume(self, site: JiraSite, runbook: Runbook, spec: CreateIssue, event: IncidentChanged,
                link: IssueLink, result: SyncResult) -> IssueLink:
        """Finish a linked create: a request's marker and off-form fields (an idempotent edit), then settle."""
        if spec.request_type:
            marker = {MARKER_PROPERTY: {"incidentId": event.incident.id, "connector": site.connector}}
            try:
                fields = self._create_fields(site, spec, event, link.project_key)
                rest = fields_off_form(site.metadata, link.project_key, spec.request_type, fields)
                site.client.edit_issue(str(link.issue_id), fields=rest or None, properties=marker)
            except (JiraRequestRefused, FieldValueProblem, TemplateProblem, SyncRefused) as error:
                if _transient(error):
                    raise
                self._refuse(link, f"{runbook.name}/create_issue (request fields)", error)
        return self._settle_new_issue(site, link, event, result, issue_type=None)

    @staticmethod
    def _newest_snapshot(event: IncidentChanged, link: IssueLink) -> IncidentChanged:
        """`event` seeing the newest incident snapshot the bridge holds: a change that overtook its
        "created" (kept on the link until the issue exists) shapes the new issue, not the older snapshot."""
        newer = [e for e in link.deferred_events if int(e.get("sequence", -1)) > event.sequence]
        if not newer:
            return event
        latest = IncidentChanged.model_validate(max(newer, key=lambda e: int(e["sequence"])))
        return event.model_copy(update={"incident": latest.incident})

    def _take_pending(self, link: IssueLink, connector: str, project: str) -> IssueLink:
        def take(current: IssueLink) -> None:
            current.state, current.connector, current.project_key = LinkState.CLAIMED, connector, project
            current.claimed_at = utc_now()

        return self._save(link, take)

    def _link_existing(self, site: JiraSite, link: IssueLink, key: str, action: str, result: SyncResult) -> IssueLink:
        try:
            issue = site.client.get_issue(key, fields=["project"])
        except JiraRequestRefused as error:
            if _transient(error):
                raise
            self._refuse(link, action, error)
        link.project_key = str(issue["fields"]["project"]["key"])
        result.actions.append(f"linked existing {issue['key']}")
        return self._attach(link, str(issue["id"]), str(issue["key"]), site.connector, note="opened from Jira")

    def _settle_new_issue(
        self, site: JiraSite, link: IssueLink, event: IncidentChanged, result: SyncResult, issue_type: str | None
    ) -> IssueLink:
        """An issue created for an incident that is already further along starts in the mapped status.

        `issue_type` is known right after the create (the workflow's initial status then saves a
        read); a replay of a half-done create passes None and reads the issue.
        """
        newest_state = event.incident.state
        if (link.last_sequence or 0) > event.sequence and link.incident_values.get("state"):
            newest_state = str(link.incident_values["state"])  # a change that arrived before "created"
        mapped = self.runbooks.mappings.lookup(self.runbooks.mappings.status, newest_state)
        # Where the workflow starts an issue (learned or configured) is where it is now: no read.
        initial = self._workflow(site, link.project_key, issue_type).initial_status if issue_type else None
        if mapped is not None and not (initial and same_status(initial, mapped)):
            known = (initial, issue_type) if issue_type is not None else None
            try:
                settle = Transition(to=mapped, fields=self.runbooks.transition_fields())
                link = self._move(site, link, mapped, settle, event, result, known=known,
                                  learn_initial=issue_type is not None)
            except (JiraRequestRefused, NoPathToStatus, SyncRefused) as error:
                if _transient(error):
                    raise
                self._refuse(link, "create_issue/initial-status", error)

        def finish(current: IssueLink) -> None:
            current.settled = True
            if initial is not None and issue_type is not None and "status" not in current.jira_values:
                _remember_status(current, initial, issue_type)  # not moved: where its workflow starts issues

        return self._save(link, finish)

    def _create_fields(self, site: JiraSite, spec: CreateIssue, event: IncidentChanged, project: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            "summary": spec.summary,
            "description": spec.description,
            "priority": spec.priority,
            "assignee": spec.assignee,
            "labels": [*spec.labels, marker_label(event.incident.id)],
            "components": spec.components or None,
            **spec.fields,
        }
        fields = self._format_fields(site, values, event, None)
        if "summary" in fields:
            fields["summary"] = one_line(str(fields["summary"]))
        fields["project"] = {"key": project}
        fields["issuetype"] = {"name": render(spec.issue_type, self._context(event, None))}
        return fields

    def _format_fields(
        self, site: JiraSite, values: dict[str, Any], event: IncidentChanged, link: IssueLink | None,
        *, clear_users: bool = False,
    ) -> dict[str, Any]:
        """Jira JSON for the runbook's fields. `clear_users` (edits): a user field whose template renders
        empty (the incident's owner was removed) is cleared, i.e. the issue is unassigned."""
        context = self._context(event, link)
        out: dict[str, Any] = {}
        for field_id, raw in values.items():
            if raw is None:
                continue
            value = self._value(raw, event, link, context)
            if isinstance(raw, dict) and "user" in raw and str(value).strip():
                self._user_fields[field_id] = str(value).strip()
            if clear_users and isinstance(raw, dict) and "user" in raw and not str(value).strip():
                out[field_id] = None
                continue
            schema = site.metadata.schema(field_id) if field_id.startswith("customfield_") else None
            formatted = format_field(field_id, value, schema, lambda email: self._account(site, email))
            if formatted is not None:
                out[field_id] = formatted
        return out

    def _value(self, raw: Any, event: IncidentChanged, link: IssueLink | None,
               context: dict[str, Any] | None = None) -> Any:
        context = context if context is not None else self._context(event, link)
        if isinstance(raw, dict) and "map" in raw:
            mapped = MappedValue.model_validate(raw)
            table = self.runbooks.mappings.table(mapped.map)
            found = self.runbooks.mappings.lookup(table, event.field_value(mapped.source))
            if found is None and mapped.default is None:
                raise TemplateProblem(
                    f"mapping {mapped.map!r} has no entry for {mapped.source}={event.field_value(mapped.source)!r}"
                )
            return found if found is not None else mapped.default
        if isinstance(raw, dict) and "user" in raw:  # an email; user fields resolve it to an account
            return render(UserValue.model_validate(raw).user, context)
        return render_value(raw, context)

    def _account(self, site: JiraSite, email: str) -> str | None:
        users = self.runbooks.mappings.users
        account = users.account_for(email) or site.metadata.account_for_email(email)
        if account is None and email.strip():
            self._unknown_users.append(email.strip().lower())  # told on the incident's timeline
        if account is None and users.fallback:
            fallback = users.fallback
            account = (fallback.removeprefix("accountId:") if fallback.startswith("accountId:")
                       else users.account_for(fallback) or site.metadata.account_for_email(fallback))
        return account

    def _with_fresh_users(self, site: JiraSite, attempt: Callable[[], _T]) -> _T:
        """`attempt` (a create or an edit); if Jira refuses a user field set from a cached account (the
        account was deleted or deactivated since), forget those users and try once more, asking Jira."""
        self._user_fields.clear()
        try:
            return attempt()
        except JiraRequestRefused as refusal:
            stale = {self._user_fields[name] for name in refusal.errors if name in self._user_fields}
            if not stale or not all(site.metadata.forget_user(email) for email in stale):
                raise
            return attempt()

    def _update_fields(
        self, site: JiraSite, spec: UpdateFields, event: IncidentChanged, link: IssueLink, result: SyncResult
    ) -> IssueLink:
        values = dict(spec.fields)
        update = self._label_verbs(link, values.pop("labels"), event) if values.get("labels") else None
        def edit() -> dict[str, Any] | None:
            fields = self._format_fields(site, values, event, link, clear_users=True)
            if "summary" in fields:
                fields["summary"] = one_line(str(fields["summary"]))
            if not fields and not (update and update["labels"]):
                return None
            site.client.edit_issue(str(link.issue_id), fields=fields or None, update=update)
            return fields

        fields = self._with_fresh_users(site, edit)
        if fields is None:
            result.skipped.append("update_fields: nothing to write")
            return link
        written = sorted([*fields, *(["labels (add/remove)"] if update else [])])

        def record(current: IssueLink) -> None:
            _remember_fields(current, fields)
            current.succeed("update_fields", ", ".join(written))

        result.actions.append(f"updated {', '.join(written)} on {link.issue_key}")
        return self._save(link, record)

    def _label_verbs(self, link: IssueLink, raw: Any, event: IncidentChanged) -> dict[str, list[dict[str, str]]]:
        """Labels as Jira's add/remove verbs, never a replacement, so labels people added and the bridge's
        marker stay: a list adds; `{add: [...], remove: [...]}` says both (the marker is never removed)."""
        context = self._context(event, link)
        spec = raw if isinstance(raw, dict) else {"add": raw}
        marker = marker_label(link.incident_id)

        def labels(key: str) -> list[str]:
            values = render_value(spec.get(key) or [], context)
            return [check_label(str(v)) for v in (values if isinstance(values, list) else [values]) if str(v).strip()]

        return {"labels": [{"add": label} for label in labels("add")]
                + [{"remove": label} for label in labels("remove") if label != marker]}

    def _comment(
        self, site: JiraSite, spec: AddComment, event: IncidentChanged, link: IssueLink, result: SyncResult
    ) -> IssueLink:
        note_id = event.change.note.id if event.change.note else None
        body = render(spec.body, self._context(event, link))
        properties = {MARKER_PROPERTY: {"incidentId": link.incident_id, "noteId": note_id},
                      **comment_properties_for(site.metadata, link.project_key, spec.visibility)}
        comment = site.client.add_comment(str(link.issue_id), from_markdown(body), properties=properties)

        def record(current: IssueLink) -> None:
            current.written.comment_ids = [*current.written.comment_ids, comment.id]
            if note_id:
                current.written.mirrored_notes = [*current.written.mirrored_notes, note_id]
            current.succeed("add_comment", f"comment {comment.id}")

        result.actions.append(f"commented on {link.issue_key}")
        return self._save(link, record)

    # ----- transitions -----------------------------------------------------------------------------

    def _move(
        self, site: JiraSite, link: IssueLink, target: str, spec: Transition | None, event: IncidentChanged,
        result: SyncResult,
        known: tuple[str | None, str] | None = None,
        learn_initial: bool = False,
    ) -> IssueLink:
        """Move the issue to `target`. `known` is (status, issue type) when the caller knows them."""
        if known is not None and known[0] is not None:
            current, issue_type = known[0], known[1]
        else:
            issue = site.client.get_issue(str(link.issue_id), fields=["status", "issuetype"])
            current = str(issue["fields"]["status"]["name"])
            issue_type = str(issue["fields"]["issuetype"]["name"])
        workflow = self._workflow(site, link.project_key, issue_type)
        if learn_initial and not same_status(workflow.initial_status or "", current):
            workflow.initial_status = current
            site.metadata.remember_workflow(workflow)
        start = current
        if same_status(current, target):
            result.skipped.append(f"{link.issue_key} is already in {target}")
            return self._note_status(link, current, issue_type)
        terminal = {s.lower() for s in self.runbooks.terminal_statuses}
        extra_fields = self._format_fields(site, dict(spec.fields), event, link) if spec else {}
        comment = from_markdown(render(spec.comment, self._context(event, link))) if spec and spec.comment else None
        jsm = comment_properties_for(site.metadata, link.project_key, spec.visibility) if spec and comment else {}
        entered: list[str] = []
        refused: tuple[str, str, JiraRequestRefused] | None = None  # (status, transition id, Jira's answer)
        while True:
            path = self._plan(site, link, current, target, workflow, terminal, extra_fields)
            if refused is not None and same_status(refused[0], current) and path[0].id == refused[1]:
                self._keep_entered(link, entered)  # the same hop from the same status: Jira meant it
                raise refused[2]
            try:
                for number, hop in enumerate(path, start=1):
                    link = self._take(site, link, hop, extra_fields, comment if number == len(path) else None,
                                      jsm, event)
                    entered.append(hop.to_status)
                    current = hop.to_status
                break
            except JiraRequestRefused as refusal:
                # Planned from what the bridge knew (the last status it wrote or a webhook told it, the
                # cached workflow): a refused hop may mean a person moved the issue or the workflow
                # changed. Read the issue and what it offers now, once, and plan again from there.
                if refused is not None or refusal.status != 400:
                    self._keep_entered(link, entered)
                    raise
                refused = (current, hop.id, refusal)
                current, _ = site.metadata.reread_issue(str(link.issue_id), workflow)
                start = start if entered else current
                if same_status(current, target):
                    break
            except JiraError:
                self._keep_entered(link, entered)
                raise

        if not entered:
            result.skipped.append(f"{link.issue_key} is already in {target}")
            return self._note_status(link, current, issue_type)

        def record(current_link: IssueLink) -> None:
            current_link.written.statuses = [*current_link.written.statuses, *entered][-50:]
            _remember_status(current_link, current, issue_type)
            current_link.succeed("transition", " -> ".join([start, *entered]))

        result.actions.append(f"moved {link.issue_key}: {' -> '.join([start, *entered])}")
        return self._save(link, record)

    def _workflow(self, site: JiraSite, project: str, issue_type: str) -> WorkflowMap:
        return site.metadata.workflow(project, issue_type, self.runbooks.workflow_snapshot(project, issue_type))

    def _plan(self, site: JiraSite, link: IssueLink, current: str, target: str, workflow: WorkflowMap,
              terminal: set[str], extra_fields: dict[str, Any]) -> list[TransitionOption]:
        """The whole path, every hop's screen satisfied, before the first POST."""
        path = site.metadata.path_to(str(link.issue_id), workflow, current, target, terminal)  # reads when unknown
        for hop in path:
            missing = [name for name in hop.required_fields if name not in extra_fields]
            if missing:
                raise SyncRefused(
                    f"transition {hop.name!r} to {hop.to_status} requires {', '.join(missing)}; add them under "
                    "the runbook's transition fields (the issue was not moved)")
        return path

    def _note_status(self, link: IssueLink, status: str, issue_type: str) -> IssueLink:
        if _last_known(link) == (status, issue_type):
            return link  # nothing new: no write
        return self._save(link, lambda current: _remember_status(current, status, issue_type))

    def _keep_entered(self, link: IssueLink, entered: list[str]) -> None:
        if entered:  # Jira refused a later hop: what the bridge did is still its own (no echo)
            self._save(link, lambda current: setattr(
                current, "written", current.written.model_copy(
                    update={"statuses": [*current.written.statuses, *entered][-50:]})))

    # ----- reopen: a closed issue whose incident is active again ---------------------------------------

    def _closed_and_wanted_open(self, site: JiraSite, link: IssueLink, known: tuple[str, str], target: str) -> bool:
        workflow = self._workflow(site, link.project_key, known[1])
        terminal = {s.lower() for s in self.runbooks.terminal_statuses}
        return workflow.is_terminal(known[0], terminal) and not workflow.is_terminal(target, terminal)

    def _reopen(
        self, site: JiraSite, runbook: Runbook, link: IssueLink, known: tuple[str, str], target: str,
        spec: Transition, event: IncidentChanged, result: SyncResult,
    ) -> IssueLink | None:
        reopen = self.runbooks.reopen
        assert reopen is not None
        why = f"incident {link.incident_id} is {event.incident.state} again while {link.issue_key} is {known[0]}"
        if reopen.mode == "transition":
            status = reopen.status or target
            link = self._save(link, lambda current: current.record(
                "reopen", "ok", f"{why}: reopen.mode transition, moving it to {status}"))
            link = self._tell(link, "reopen", f"Reopened {link.issue_key} ({why}): reopen.mode is transition, "
                              f"so it moves to {status}.", detail=f"{event.event_id}")
            result.actions.append(f"reopened {link.issue_key} by transition to {status}")
            return self._move(site, link, status, spec, event, result, known=known)
        create = self.runbooks.create_runbook()
        if create is None:
            raise SyncRefused("reopen.mode new_issue needs a runbook with a create_issue action")
        old_key = link.issue_key
        link = self._save(link, lambda current: current.end_issue(f"{why}: reopen.mode new_issue"))
        link = self._ensure_issue(create[0], create[1], event, link, result)
        result.actions.append(f"reopened as {link.issue_key}; {old_key} kept as history")
        link = self._save(link, lambda current: current.record(
            "reopen", "ok", f"{why}: reopen.mode new_issue, {link.issue_key} opened, {old_key} kept as history"))
        return self._tell(link, "reopen", f"{why}: reopen.mode is new_issue, so {link.issue_key} was opened; "
                          f"{old_key} stays closed, as history.", detail=f"{event.event_id}")

    def _take(
        self, site: JiraSite, link: IssueLink, hop: TransitionOption, fields: dict[str, Any], comment: AdfNode | None,
        jsm: dict[str, Any], event: IncidentChanged,
    ) -> IssueLink:
        """One hop; on JSM projects (`jsm`: the comment properties) its comment is written apart, first."""
        if comment is not None and jsm:
            link, comment = self._jsm_transition_comment(site, link, comment, jsm, event), None
        on_screen = {name: value for name, value in fields.items() if name in hop.screen_fields}
        site.client.transition_issue(str(link.issue_id), hop.id, fields=on_screen or None, comment=comment)
        return link

    def _jsm_transition_comment(
        self, site: JiraSite, link: IssueLink, comment: AdfNode, properties: dict[str, Any], event: IncidentChanged,
    ) -> IssueLink:
        """A transition's comment on a JSM project, written as its own comment just before the last hop.

        A comment inside a transition has no documented way to carry ``sd.public.comment``, so it could
        be public and emailed to customers. Written before the hop and recorded under the event, a
        redelivery after a failed hop (or a re-planned one) neither loses it nor writes it twice; written
        after the hop, a failure in between would have lost it (the redelivery finds the issue moved).
        """
        written_key = f"transition-comment:{event.event_id}"
        if written_key in link.written.mirrored_notes:
            return link
        created = site.client.add_comment(str(link.issue_id), comment, properties=properties)

        def record(current: IssueLink) -> None:
            current.written.comment_ids = [*current.written.comment_ids, created.id]
            current.written.mirrored_notes = [*current.written.mirrored_notes, written_key]

        return self._save(link, record)

    # ----- link bookkeeping ------------------------------------------------------------------------

    def _attach(
        self, link: IssueLink, issue_id: str, issue_key: str, connector: str, *,
        written_fields: dict[str, Any] | None = None, note: str = "",
    ) -> IssueLink:
        def update(current: IssueLink) -> None:
            current.issue_id, current.issue_key, current.state = issue_id, issue_key, LinkState.LINKED
            current.connector = connector
            if written_fields:
                _remember_fields(current, written_fields)
            current.succeed("create_issue", f"{issue_key} {note}".strip())

        try:
            return self._save(link, update)
        except IssueAlreadyLinked:
            owner = self.links.get_by_issue(connector, issue_id)
            self._refuse(link, "link", SyncRefused(
                f"{issue_key} is already linked to incident {owner.incident_id if owner else '?'}"))

    def _refuse(self, link: IssueLink, action: str, error: Exception) -> NoReturn:
        message = (f"{error.details} ({error.method} {error.path}, HTTP {error.status})"
                   if isinstance(error, JiraRequestRefused) else str(error))
        link = self._save(link, lambda current: current.fail(action, message))
        self._tell(link, f"refused:{action}", f"Not applied to {link.issue_key or 'Jira'} ({action}): {message}",
                   detail=message)
        raise SyncRefused(f"{action}: {message}") from error

    def _save(self, link: IssueLink, update: Callable[[IssueLink], Any]) -> IssueLink:
        """Apply `update` and save; on a lost race, re-read and apply it again to the newer record."""
        current = link
        for _ in range(MAX_SAVE_ATTEMPTS):
            update(current)
            try:
                saved = self.links.save(current)
            except StaleLink:
                reread = self.links.get_by_incident(link.incident_id)
                if reread is None:
                    raise
                current = reread
                continue
            return saved
        raise StaleLink(link.incident_id)

    def _find_marked_issue(self, site: JiraSite, project: str, incident_id: str,
                           skip: set[str] | None = None) -> dict[str, Any] | None:
        """The incident's issue by its marker; `skip`: earlier issues of the incident (history)."""
        jql = f'project = "{project}" AND labels = "{marker_label(incident_id)}"'
        page = site.client.search_jql(jql, fields=["summary"], max_results=10, properties=[MARKER_PROPERTY])
        for issue in page.issues:
            marker = (issue.get("properties") or {}).get(MARKER_PROPERTY) or {}
            if marker.get("incidentId") == incident_id and str(issue.get("id")) not in (skip or set()):
                return issue
        return None

    def _recover_request(self, site: JiraSite, runbook: Runbook, spec: CreateIssue, event: IncidentChanged,
                         link: IssueLink, project: str, result: SyncResult) -> IssueLink | None:
        """A stale claim of a request create: the request it may have raised, linked and finished."""
        if not spec.request_type:
            return None
        found = self._find_unmarked_request(site, spec, self._newest_snapshot(event, link), project,
                                            since=link.claimed_at)
        if found is None:
            return None
        link = self._attach(link, found["id"], found["key"], site.connector,
                            note="recovered: raised before the function stopped")
        result.actions.append(f"found existing {found['key']}")
        return self._resume(site, runbook, spec, event, link, result)

    def _find_unmarked_request(self, site: JiraSite, spec: CreateIssue, event: IncidentChanged, project: str,
                               *, since: datetime) -> dict[str, Any] | None:
        """A customer request this incident raised before its function stopped, not yet marked.

        The servicedeskapi takes neither an issue property nor a label at create, so a request's marker
        follows in an edit once it is linked (`_resume`); a stop in between leaves a request the marker
        search cannot find. It is found by what the create itself wrote: raised by the bridge's account,
        in the project, since the claim, with the summary this incident renders, and no marker (a marked
        request belongs to an incident that finished).
        """
        summary = self._create_fields(site, spec, event, project).get("summary")
        minutes = int((utc_now() - since).total_seconds() // 60) + 2
        jql = f'project = "{project}" AND reporter = currentUser() AND created >= -{minutes}m ORDER BY created DESC'
        page = site.client.search_jql(jql, fields=["summary"], max_results=50, properties=[MARKER_PROPERTY])
        for issue in page.issues:
            if (issue.get("properties") or {}).get(MARKER_PROPERTY):
                continue
            if summary and (issue.get("fields") or {}).get("summary") == summary:
                return issue
        return None

    def _context(self, event: IncidentChanged, link: IssueLink | None) -> dict[str, Any]:
        """`template_context`, built once per event and issue: an event's actions render several templates
        (project, fields, issue type; target status, comment) from the same context. Sharing it is safe: an
        event is frozen, and templates render in Jinja's immutable sandbox, which cannot change a dict."""
        jira = (link.issue_key, link.issue_id, link.project_key) if link is not None and link.issue_key else None
        last = self._last_context
        if last is not None and last[0] is event and last[1] == jira:
            return last[2]
        context = template_context(event, link)
        self._last_context = (event, jira, context)
        return context


def template_context(event: IncidentChanged, link: IssueLink | None) -> dict[str, Any]:
    incident = event.incident.model_dump(mode="json")
    incident["custom_fields"] = _Lenient(incident.get("custom_fields") or {})
    incident["assignee"] = incident.get("owner")
    context: dict[str, Any] = {
        "incident": incident,
        "change": event.change.model_dump(mode="json"),
        "actor": event.actor.model_dump(mode="json") if event.actor else {"name": None, "email": None},
        "event": {"id": event.event_id, "sequence": event.sequence, "source": event.source,
                  "occurred_at": event.occurred_at.isoformat()},
    }
    if link is not None and link.issue_key:
        context["jira"] = {"key": link.issue_key, "id": link.issue_id, "project": link.project_key}
    return context


class _Lenient(dict[str, Any]):
    """Custom fields differ per incident: a missing one renders empty instead of failing the action."""

    def __missing__(self, key: str) -> str:
        return ""


def _never_reached_jira(error: JiraError) -> bool:
    """Jira cannot have applied the call: throttled (429, or our own budget before sending) or
    answered "not processed"/never sent (``outcome_unknown`` false)."""
    return isinstance(error, JiraRateLimited) or (isinstance(error, JiraUnavailable) and not error.outcome_unknown)


def _transient(error: Exception) -> bool:
    """A refusal a retry can fix (409 conflict) is not recorded as a refusal."""
    return bool(getattr(error, "retryable", False))


def _last_known(link: IssueLink) -> tuple[str, str] | None:
    """(status, issue type) as the bridge last wrote it or a webhook last told it; None when not recorded."""
    status = link.jira_values.get("status")
    return (status, link.issue_type) if status and link.issue_type else None


def _remember_status(link: IssueLink, status: str, issue_type: str) -> None:
    link.jira_values = {**link.jira_values, "status": status}
    link.issue_type = issue_type


def _remember_fields(link: IssueLink, fields: dict[str, Any]) -> None:
    link.written.fields = {**link.written.fields, **{k: v for k, v in fields.items() if k != "description"}}
    seen = dict(link.jira_values)
    if isinstance(fields.get("priority"), dict):
        seen["priority"] = fields["priority"].get("name")
    if "assignee" in fields:
        seen["assignee"] = user_id(fields["assignee"])
    link.jira_values = seen


__all__ = ["ClaimInProgress", "IncidentSync", "JiraError", "JiraSite", "SyncRefused", "SyncResult"]

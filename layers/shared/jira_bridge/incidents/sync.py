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
from datetime import timedelta
from typing import Any, NoReturn

from jira_bridge.incidents.errors import ClaimInProgress, SyncRefused
from jira_bridge.incidents.events import ChangeKind, IncidentChanged, canonical_field
from jira_bridge.incidents.field_values import FieldValueProblem, format_field
from jira_bridge.incidents.jira_metadata import JiraMetadata
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
from jira_bridge.incidents.templating import TemplateProblem, render, render_value
from jira_bridge.incidents.workflow import NoPathToStatus, TransitionOption, same_status
from jira_bridge.jira.client import JiraClient
from jira_bridge.jira.errors import JiraError, JiraRequestRefused
from jira_bridge.jira.users import user_id
from jira_bridge.links.model import IssueLink, LinkState, utc_now
from jira_bridge.links.store import ClaimOutcome, IssueAlreadyLinked, LinkStore, StaleLink

MARKER_PROPERTY = "jira-bridge"
# An incident opened from a Jira issue ("Incident Create Requested") names it here, so it is linked.
JIRA_ISSUE_KEY_FIELD = "jira_issue_key"
CLAIM_LEASE = timedelta(seconds=90)
MAX_HOPS = 8
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

    # ----- entry point ---------------------------------------------------------------------------

    def handle(self, event: IncidentChanged) -> SyncResult:
        result = SyncResult(incident_id=event.incident.id)
        link = self._apply(event, result)
        if link is not None and link.issue_id is not None and link.settled and link.deferred_events:
            link = self._apply_deferred(link, result)
        if link is not None:
            result.issue_key = link.issue_key
        return result

    def _apply(self, event: IncidentChanged, result: SyncResult) -> IssueLink | None:
        matching = self.runbooks.matching(event)
        result.runbooks = [runbook.name for runbook in matching]
        link = self.links.get_by_incident(event.incident.id)
        needs_issue = event.change.kind is not ChangeKind.CREATED and self.runbooks.create_action() is not None
        if link is None and needs_issue:
            # A change overtook its incident's "created" (producers publish concurrently, EventBridge
            # does not order, or "created" is retrying or parked): keep it until the issue exists.
            link = self.links.claim(IssueLink(incident_id=event.incident.id, connector="", project_key="",
                                              state=LinkState.PENDING)).link
        if link is not None and self._already_applied(link, event):
            result.skipped.append(f"event {event.event_id} is older than what the issue already shows")
            return link
        if link is not None and link.issue_id is None and needs_issue:
            return self._defer(link, event, result)
        for runbook in matching:
            for action in runbook.actions:
                link = self._run(runbook, action, event, link, result)
        if link is not None:
            self._remember_event(link, event)
        return link

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

    def _remember_event(self, link: IssueLink, event: IncidentChanged) -> None:
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

        self._save(link, update)

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
                target = self._value(spec.to, event, link)
                return self._move(site, link, str(target), spec, event, result)
            if isinstance(spec, AddComment):
                return self._comment(site, spec, event, link, result)
        except (JiraRequestRefused, FieldValueProblem, TemplateProblem, NoPathToStatus, SyncRefused) as error:
            if _transient(error):
                raise  # e.g. 409: a concurrent edit; the SQS retry will get through
            self._refuse(link, f"{runbook.name}/{action.kind}", error)
        return link

    def _ensure_issue(
        self, runbook: Runbook, spec: CreateIssue, event: IncidentChanged, link: IssueLink | None,
        result: SyncResult,
    ) -> IssueLink:
        if link is not None and link.issue_id is not None:
            result.skipped.append(f"{runbook.name}: incident already has {link.issue_key}")
            return link if link.settled else self._settle_new_issue(
                self.site_named(link.connector), link, event, result, issue_type=None)
        context = self._context(event, None)
        try:
            project = render(spec.project, context).strip().upper()
        except TemplateProblem as error:
            raise SyncRefused(f"{runbook.name}/create_issue: {error}") from None
        site = self.site_named(runbook.connector) if runbook.connector else self.site_for_project(project)
        outcome = self.links.claim(IssueLink(incident_id=event.incident.id, connector=site.connector,
                                             project_key=project))
        link = outcome.link
        if link.issue_id is not None:
            result.skipped.append(f"{runbook.name}: incident already has {link.issue_key}")
            return link if link.settled else self._settle_new_issue(site, link, event, result, issue_type=None)
        if link.state is LinkState.PENDING:  # only early changes were kept: nobody is creating; take it
            link = self._take_pending(link, site.connector, project)
            outcome = ClaimOutcome(link=link, claimed=True)
        existing_key = event.incident.custom_fields.get(JIRA_ISSUE_KEY_FIELD)
        if existing_key:  # an incident opened from a Jira issue: link it, never create a second one
            return self._link_existing(site, link, str(existing_key), f"{runbook.name}/link_existing", result)
        if not outcome.claimed:
            found = self._find_marked_issue(site, project, event.incident.id)
            if found is not None:
                link = self._attach(link, found["id"], found["key"], site.connector, note="recovered by marker")
                result.actions.append(f"found existing {found['key']}")
                return link
            if utc_now() - link.claimed_at < CLAIM_LEASE and link.sync_status.value == "ok":
                raise ClaimInProgress(f"incident {event.incident.id} was claimed at {link.claimed_at:%H:%M:%S}")
            link.claimed_at = utc_now()  # take the stale claim over; a racing taker gets StaleLink
            link = self.links.save(link)
        try:
            fields = self._create_fields(site, spec, event, project)
            created = site.client.create_issue(
                fields,
                properties={MARKER_PROPERTY: {"incidentId": event.incident.id, "connector": site.connector}},
            )
        except (JiraRequestRefused, FieldValueProblem, TemplateProblem) as error:
            if _transient(error):
                raise
            self._refuse(link, f"{runbook.name}/create_issue", error)
        except JiraError as error:
            # Transient (Jira down, throttled, timed out): record it, which also releases the claim's
            # lease, so the redelivery searches for the marker and creates at once instead of waiting.
            reason = str(error)
            self._save(link, lambda current: current.fail(f"{runbook.name}/create_issue", reason))
            raise
        link = self._attach(link, created.id, created.key, site.connector, written_fields=fields)
        result.actions.append(f"created {created.key}")
        return self._settle_new_issue(site, link, event, result, issue_type=fields["issuetype"]["name"])

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
        if mapped is not None:
            known = None
            if issue_type is not None:
                known = (site.metadata.workflow(link.project_key, issue_type).initial_status, issue_type)
            try:
                settle = Transition(to=mapped, fields=self.runbooks.transition_fields())
                link = self._move(site, link, mapped, settle, event, result, known=known,
                                  learn_initial=issue_type is not None)
            except (JiraRequestRefused, NoPathToStatus, SyncRefused) as error:
                if _transient(error):
                    raise
                self._refuse(link, "create_issue/initial-status", error)
        return self._save(link, lambda current: setattr(current, "settled", True))

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
        fields["project"] = {"key": project}
        fields["issuetype"] = {"name": render(spec.issue_type, self._context(event, None))}
        return fields

    def _format_fields(
        self, site: JiraSite, values: dict[str, Any], event: IncidentChanged, link: IssueLink | None
    ) -> dict[str, Any]:
        context = self._context(event, link)
        out: dict[str, Any] = {}
        for field_id, raw in values.items():
            if raw is None:
                continue
            value = self._value(raw, event, link, context)
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
        if account is None and users.fallback:
            fallback = users.fallback
            account = (fallback.removeprefix("accountId:") if fallback.startswith("accountId:")
                       else users.account_for(fallback) or site.metadata.account_for_email(fallback))
        return account

    def _update_fields(
        self, site: JiraSite, spec: UpdateFields, event: IncidentChanged, link: IssueLink, result: SyncResult
    ) -> IssueLink:
        fields = self._format_fields(site, dict(spec.fields), event, link)
        if not fields:
            result.skipped.append("update_fields: nothing to write")
            return link
        site.client.edit_issue(str(link.issue_id), fields=fields)

        def record(current: IssueLink) -> None:
            _remember_fields(current, fields)
            current.succeed("update_fields", ", ".join(sorted(fields)))

        result.actions.append(f"updated {', '.join(sorted(fields))} on {link.issue_key}")
        return self._save(link, record)

    def _comment(
        self, site: JiraSite, spec: AddComment, event: IncidentChanged, link: IssueLink, result: SyncResult
    ) -> IssueLink:
        note_id = event.change.note.id if event.change.note else None
        body = render(spec.body, self._context(event, link))
        comment = site.client.add_comment(
            str(link.issue_id), body, properties={MARKER_PROPERTY: {"incidentId": link.incident_id, "noteId": note_id}}
        )

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
        workflow = site.metadata.workflow(link.project_key, issue_type)
        if learn_initial:
            workflow.initial_status = current
        if same_status(current, target):
            result.skipped.append(f"{link.issue_key} is already in {target}")
            return link
        terminal = {s.lower() for s in self.runbooks.terminal_statuses}
        comment = render(spec.comment, self._context(event, link)) if spec and spec.comment else None
        extra_fields = self._format_fields(site, dict(spec.fields), event, link) if spec else {}
        entered: list[str] = []
        start = current
        for _ in range(MAX_HOPS):
            site.metadata.transitions_from(str(link.issue_id), current, workflow)
            path = workflow.shortest_path(current, target, terminal)
            is_exploring = path is None
            if path is None:
                path = workflow.path_to_unexplored(current, terminal)
            if path is None:
                raise NoPathToStatus(start, target, workflow.reachable(start, terminal))
            hop = path[0]
            final = not is_exploring and len(path) == 1
            self._take(site, link, hop, extra_fields if final else {}, comment if final else None)
            current = hop.to_status
            entered.append(current)
            if final:
                break
        else:
            raise NoPathToStatus(start, target, workflow.reachable(start, terminal))

        def record(current_link: IssueLink) -> None:
            current_link.written.statuses = [*current_link.written.statuses, *entered][-50:]
            current_link.jira_values = {**current_link.jira_values, "status": entered[-1]}
            current_link.succeed("transition", " -> ".join([start, *entered]))

        result.actions.append(f"moved {link.issue_key}: {' -> '.join([start, *entered])}")
        return self._save(link, record)

    def _take(
        self, site: JiraSite, link: IssueLink, hop: TransitionOption, fields: dict[str, Any], comment: str | None
    ) -> None:
        missing = [name for name in hop.required_fields if name not in fields]
        if missing:
            raise SyncRefused(
                f"transition {hop.name!r} to {hop.to_status} requires {', '.join(missing)}; "
                "add them under the runbook's transition fields"
            )
        on_screen = {name: value for name, value in fields.items() if name in hop.screen_fields}
        site.client.transition_issue(str(link.issue_id), hop.id, fields=on_screen or None, comment=comment)

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
        self._save(link, lambda current: current.fail(action, message))
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

    def _find_marked_issue(self, site: JiraSite, project: str, incident_id: str) -> dict[str, Any] | None:
        jql = f'project = "{project}" AND labels = "{marker_label(incident_id)}"'
        page = site.client.search_jql(jql, fields=["summary"], max_results=10, properties=[MARKER_PROPERTY])
        for issue in page.issues:
            marker = (issue.get("properties") or {}).get(MARKER_PROPERTY) or {}
            if marker.get("incidentId") == incident_id:
                return issue
        return None

    @staticmethod
    def _context(event: IncidentChanged, link: IssueLink | None) -> dict[str, Any]:
        return template_context(event, link)


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


def _transient(error: Exception) -> bool:
    """A refusal a retry can fix (409 conflict) is not recorded as a refusal."""
    return bool(getattr(error, "retryable", False))


def _remember_fields(link: IssueLink, fields: dict[str, Any]) -> None:
    link.written.fields = {**link.written.fields, **{k: v for k, v in fields.items() if k != "description"}}
    seen = dict(link.jira_values)
    if isinstance(fields.get("priority"), dict):
        seen["priority"] = fields["priority"].get("name")
    if "assignee" in fields:
        seen["assignee"] = user_id(fields["assignee"])
    link.jira_values = seen


__all__ = ["ClaimInProgress", "IncidentSync", "JiraError", "JiraSite", "SyncRefused", "SyncResult"]

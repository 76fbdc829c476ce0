"""`jira-bridge lint`: find what would fail at 3 a.m. while it is still 5 p.m.

Offline: the file validates, every template renders against a sample incident (so an unknown
variable is caught), field ids exist, literal labels have no whitespace, mappings named by actions
exist. With a Jira client: projects, issue types, fields, priorities and mapped users exist there, and
so do the statuses and select options the file names (see `lint_workflow_against_jira`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jira_bridge.config_files import Location, YamlDocument, parse_document, read_yaml
from jira_bridge.errors import ConfigurationError
from jira_bridge.incidents.events import Change, ChangeKind, Incident, IncidentChanged, Note, Person, canonical_field
from jira_bridge.incidents.field_values import CUSTOM_FIELD_ID, SYSTEM_FIELDS, FieldValueProblem, check_label
from jira_bridge.incidents.runbooks import RunbookSet
from jira_bridge.incidents.sync import template_context
from jira_bridge.incidents.templating import TemplateProblem, UnknownName, is_template, render
from jira_bridge.jira.client import JiraClient
from jira_bridge.jira.errors import JiraError, JiraNotFound
from jira_bridge.jira.service_desk import SERVICE_DESK_PROJECT_TYPE, ServiceDeskApi
from jira_bridge.links.model import IssueLink

TRANSITION_SCREEN_FIELDS = frozenset({"resolution", "fixVersions", "comment"})


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    warning: bool = False  # reported, but the file is usable (e.g. a name that renders empty)

    def __str__(self) -> str:
        return f"{self.where}: {'warning: ' if self.warning else ''}{self.message}"


def sample_event() -> IncidentChanged:
    """An incident with every field set, so a template that renders here only fails on real gaps."""
    person = Person(name="Sample Person", email="sample@example.com")
    note = Note(id="note-1", text="sample note", author=person, created_at=datetime.now(UTC))
    return IncidentChanged(
        event_id="lint", sequence=1, occurred_at=datetime.now(UTC), actor=person,
        incident=Incident(id="INC-1", title="Sample", description="Sample", state="triggered", priority="P1",
                          severity="SEV1", service="service", environment="production", component="component",
                          owner=person, notes=[note], url="https://example.com/INC-1"),
        change=Change(kind=ChangeKind.NOTE_ADDED, field="state", old_value="a", new_value="b", note=note),
    )


def lint_file(path: Path, client: JiraClient | None = None) -> list[Problem]:
    try:
        document = read_yaml(path)
        runbooks = parse_document(document, RunbookSet)
    except ConfigurationError as error:
        return [Problem(path.name, line) for line in str(error).splitlines()]
    problems = lint_offline(document, runbooks)
    if client is not None:
        problems.extend(lint_against_jira(document, runbooks, client))
    else:
        problems.extend(_request_types_not_checked(document, runbooks, "lint ran offline; run `jira-bridge lint "
                                                   "--connector NAME` to check it against the project's request types"))
    return problems


def _request_types_not_checked(document: YamlDocument, runbooks: RunbookSet, why: str,
                               only_templated_projects: bool = False) -> list[Problem]:
    """A request_type is a name in one service desk: only Jira can say it exists. Where lint cannot ask,
    it says so (a warning) rather than passing the name in silence."""
    problems = []
    for r_index, runbook in enumerate(runbooks.runbooks):
        for a_index, action in enumerate(runbook.actions):
            spec = action.create_issue
            if spec is None or not spec.request_type or (only_templated_projects and not is_template(spec.project)):
                continue
            loc: Location = ("runbooks", r_index, "actions", a_index, action.kind, "request_type")
            problems.append(Problem(document.where(loc), f"request_type {spec.request_type!r} was not checked: {why}",
                                    warning=True))
    return problems


def lint_offline(document: YamlDocument, runbooks: RunbookSet) -> list[Problem]:
    problems: list[Problem] = []
    event = sample_event()
    link = IssueLink(incident_id="INC-1", connector="default", project_key="OPS", issue_id="10000",
                     issue_key="OPS-1")
    for r_index, runbook in enumerate(runbooks.runbooks):
        if runbook.trigger.field:
            problems.extend(_lint_incident_field(document, ("runbooks", r_index, "trigger", "field"),
                                                 runbook.trigger.field))
        for c_index, condition in enumerate(runbook.conditions):
            problems.extend(_lint_incident_field(document, ("runbooks", r_index, "conditions", c_index, "field"),
                                                 condition.field))
        for a_index, action in enumerate(runbook.actions):
            loc: Location = ("runbooks", r_index, "actions", a_index, action.kind)
            context = template_context(event, None if action.kind == "create_issue" else link)
            raw = document.data["runbooks"][r_index]["actions"][a_index][action.kind]
            problems.extend(_lint_templates(document, loc, raw, context))
            problems.extend(_lint_fields(document, loc, raw, action.kind))
            problems.extend(_lint_mappings(document, loc, raw, runbooks))
    problems.extend(_lint_statuses(document, runbooks))
    return problems


# Incident fields runbooks may name (`assignee`/`status` are the same as `owner`/`state`).
INCIDENT_FIELDS = frozenset({*Incident.model_fields, "assignee", "status"} - {"notes", "custom_fields"})


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _lint_incident_field(document: YamlDocument, loc: Location, name: str) -> list[Problem]:
    """A misspelt field never matches (the runbook never fires, the mapping finds nothing): an error when
    it is close to a known field; otherwise it is read from custom_fields, which is worth a warning."""
    if canonical_field(name) in INCIDENT_FIELDS:
        return []
    hint = _did_you_mean(name, INCIDENT_FIELDS)
    if hint:
        return [Problem(document.where(loc), f"unknown incident field {name!r}{hint}")]
    return [Problem(document.where(loc), f"{name!r} is not an incident field: it is read from "
                    f"incident.custom_fields.{name} (fields: {', '.join(sorted(INCIDENT_FIELDS))})", warning=True)]


def _lint_statuses(document: YamlDocument, runbooks: RunbookSet) -> list[Problem]:
    """Mapped Jira statuses (and reopen.status) must exist in every configured workflow snapshot."""
    problems: list[Problem] = []
    for key, snapshot in runbooks.workflows.items():
        names = list(snapshot.statuses)
        wanted: list[tuple[Location, str]] = [
            (("mappings", "status", state), status) for state, status in runbooks.mappings.status.items()]
        if runbooks.reopen is not None and runbooks.reopen.status:
            wanted.append((("reopen", "status"), runbooks.reopen.status))
        for loc, status in wanted:
            if status.lower() not in {n.lower() for n in names}:
                problems.append(Problem(document.where(loc), f"workflow {key} has no status {status!r}"
                                        f"{_did_you_mean(status, names)} (it has: {', '.join(names)})"))
    return problems


def _walk(value: Any, loc: Location) -> list[tuple[Location, Any]]:
    if isinstance(value, dict):
        return [item for key, v in value.items() for item in _walk(v, (*loc, key))]
    if isinstance(value, list):
        return [item for index, v in enumerate(value) for item in _walk(v, (*loc, index))]
    return [(loc, value)]


def _lint_templates(document: YamlDocument, loc: Location, raw: Any, context: dict[str, Any]) -> list[Problem]:
    problems = []
    for where, value in _walk(raw, loc):
        if not isinstance(value, str) or not is_template(value):
            continue
        try:
            rendered = render(value, context, strict=True)
        except TemplateProblem as error:
            undefined = isinstance(error, UnknownName)
            hint = ("; it renders empty at run time" if undefined else "") + \
                " (fix the name, or see README for variables)"
            problems.append(Problem(document.where(where), f"{error}{hint}", warning=undefined))
            continue
        if "labels" in where and not isinstance(where[-1], str):
            try:
                check_label(rendered)
            except FieldValueProblem as error:
                problems.append(Problem(document.where(where), str(error)))
    return problems


def _lint_fields(document: YamlDocument, loc: Location, raw: Any, kind: str) -> list[Problem]:
    problems = []
    fields = raw.get("fields") if isinstance(raw, dict) else None
    for name in fields or {}:
        allowed = SYSTEM_FIELDS | TRANSITION_SCREEN_FIELDS if kind == "transition" else SYSTEM_FIELDS
        if name not in allowed and not CUSTOM_FIELD_ID.match(str(name)):
            problems.append(Problem(
                document.where((*loc, "fields", name)),
                f"unknown field {name!r}: use a Jira field id (customfield_10050) or one of "
                f"{', '.join(sorted(allowed))}",
            ))
    for index, label in enumerate(raw.get("labels") or [] if isinstance(raw, dict) else []):
        if isinstance(label, str) and not is_template(label):
            try:
                check_label(label)
            except FieldValueProblem as error:
                problems.append(Problem(document.where((*loc, "labels", index)), str(error)))
    return problems


def _lint_mappings(document: YamlDocument, loc: Location, raw: Any, runbooks: RunbookSet) -> list[Problem]:
    problems = []
    for where, value in _walk(raw, loc):
        if where and where[-1] == "map":
            try:
                runbooks.mappings.table(str(value))
            except KeyError:
                known = ["status", "priority", "severity", "constants", *runbooks.mappings.tables]
                problems.append(Problem(
                    document.where(where),
                    f"no mapping named {value!r}{_did_you_mean(str(value), known)} "
                    "(status, priority, severity, constants, or one under tables)",
                ))
        if where and where[-1] == "from" and isinstance(value, str):
            problems.extend(_lint_incident_field(document, where, value))
    return problems


def lint_against_jira(document: YamlDocument, runbooks: RunbookSet, client: JiraClient) -> list[Problem]:
    problems: list[Problem] = []
    try:
        field_ids = {f.id for f in client.fields()}
        priorities = {p.name.lower() for p in client.priorities()}
    except JiraError as error:
        return [Problem("jira", f"cannot read fields/priorities: {error}")]
    problems.extend(_request_types_not_checked(
        document, runbooks, "its project is a template, known only per incident; name the project to check it",
        only_templated_projects=True))
    for r_index, runbook in enumerate(runbooks.runbooks):
        for a_index, action in enumerate(runbook.actions):
            loc: Location = ("runbooks", r_index, "actions", a_index, action.kind)
            spec = action.create_issue
            if spec is not None and not is_template(spec.project):
                try:
                    project = client.get_project(spec.project)
                except JiraNotFound:
                    problems.append(Problem(
                        document.where((*loc, "project")),
                        f"project {spec.project} does not exist or is not visible to the connector",
                    ))
                else:
                    types = {t.name.lower() for t in project.issue_types}
                    if spec.issue_type.lower() not in types:
                        problems.append(Problem(document.where((*loc, "issue_type")),
                                                f"{spec.project} has no issue type {spec.issue_type!r} "
                                                f"(it has: {', '.join(sorted(t.name for t in project.issue_types))})"))
                    if spec.request_type:
                        problems.extend(_lint_request_type(document, (*loc, "request_type"), client,
                                                           project.key, project.project_type_key, spec.request_type))
            raw = document.data["runbooks"][r_index]["actions"][a_index][action.kind]
            for name in (raw.get("fields") or {}) if isinstance(raw, dict) else {}:
                if CUSTOM_FIELD_ID.match(str(name)) and name not in field_ids:
                    problems.append(Problem(document.where((*loc, "fields", name)),
                                            f"field {name} does not exist in this Jira"))
    for table_name in ("priority", "severity"):
        for key, jira_priority in runbooks.mappings.table(table_name).items():
            if jira_priority.lower() not in priorities:
                problems.append(Problem(document.where(("mappings", table_name, key)),
                                        f"Jira has no priority {jira_priority!r}"))
    problems.extend(lint_workflow_against_jira(document, runbooks, client))
    return problems


def _literal(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() and not is_template(value) else None


def wanted_statuses(document: YamlDocument, runbooks: RunbookSet) -> list[tuple[Location, str]]:
    """Every Jira status the file names: mapped, reopen, terminal, literal transition targets, snapshots."""
    wanted: list[tuple[Location, str]] = [
        (("mappings", "status", state), status) for state, status in runbooks.mappings.status.items()]
    if runbooks.reopen is not None and runbooks.reopen.status:
        wanted.append((("reopen", "status"), runbooks.reopen.status))
    wanted += [(("terminal_statuses", index), status) for index, status in enumerate(runbooks.terminal_statuses)]
    for r_index, runbook in enumerate(runbooks.runbooks):
        for a_index, action in enumerate(runbook.actions):
            target = _literal(action.transition.to) if action.transition is not None else None
            if target is not None:
                wanted.append((("runbooks", r_index, "actions", a_index, "transition", "to"), target))
    for key, snapshot in runbooks.workflows.items():
        wanted += [(("workflows", key, "statuses", status), status) for status in snapshot.statuses]
    return wanted


def lint_workflow_against_jira(document: YamlDocument, runbooks: RunbookSet, client: JiraClient) -> list[Problem]:
    """Statuses, workflow snapshots and select options, as Jira has them for the issues the runbooks create.

    Statuses come from the project's workflow per issue type (`GET project/{key}/statuses`, Browse
    Projects is enough); options from the create screen (`createmeta`). Transitions cannot be read
    without an issue to move, so a snapshot's (`workflows:`) are checked by what they lead to: every
    status it names must exist in Jira, and every mapped status must be reachable from its initial
    status without passing a terminal one (the path the bridge would plan).
    """
    create = runbooks.create_action()
    if create is None or _literal(create.project) is None or _literal(create.issue_type) is None:
        return []
    try:
        project = client.get_project(create.project)
        by_type = client.project_statuses(create.project)
    except JiraError as error:
        return [Problem("jira", f"cannot read {create.project}'s workflow statuses: {error}")]
    issue_type = next((t for t in project.issue_types if t.name.lower() == create.issue_type.lower()), None)
    statuses = next((t.statuses for t in by_type if t.name.lower() == create.issue_type.lower()), None)
    if issue_type is None or statuses is None:
        return []  # reported above: the project has no such issue type
    names = list(statuses)
    where = f"{create.project} {create.issue_type}"
    problems = [
        Problem(document.where(loc), f"{where}'s workflow has no status {status!r}{_did_you_mean(status, names)} "
                                     f"(it has: {', '.join(names)})")
        for loc, status in wanted_statuses(document, runbooks) if status.lower() not in {n.lower() for n in names}]
    problems += _lint_snapshot_paths(document, runbooks, create.project, create.issue_type)
    try:
        meta = client.create_fields(create.project, issue_type.id)
    except JiraError as error:
        return [*problems, Problem("jira", f"cannot read {where}'s create screen: {error}")]
    return problems + _lint_options(document, runbooks, meta)


def _lint_snapshot_paths(document: YamlDocument, runbooks: RunbookSet, project: str, issue_type: str) -> list[Problem]:
    from jira_bridge.incidents.workflow import WorkflowMap

    snapshot = runbooks.workflow_snapshot(project, issue_type)
    if snapshot is None or snapshot.initial is None:
        return []
    workflow = WorkflowMap()
    workflow.seed(snapshot)
    terminal = {s.lower() for s in runbooks.terminal_statuses}
    reachable = workflow.reachable(snapshot.initial, terminal)
    return [
        Problem(document.where(("mappings", "status", state)),
                f"no transition path from {snapshot.initial!r} to {status!r} in the {project} workflow snapshot that "
                f"avoids terminal statuses{_did_you_mean(status, reachable)} (reachable: {', '.join(reachable)})")
        for state, status in runbooks.mappings.status.items()
        if status.lower() != snapshot.initial.lower() and status.lower() in {s.lower() for s in snapshot.statuses}
        and workflow.shortest_path(snapshot.initial, status, terminal) is None]


def _option_values(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for item in value for v in _option_values(item)]
    if isinstance(value, dict) and set(value) <= {"value", "id"} and "value" in value:
        return _option_values(value["value"])
    literal = _literal(value)
    return [literal] if literal is not None else []


def _mapping_location(table: str, key: str) -> Location:
    return ("mappings", table, key) if table in ("status", "priority", "severity", "constants") else \
        ("mappings", "tables", table, key)


def _lint_options(document: YamlDocument, runbooks: RunbookSet, meta: dict[str, dict[str, Any]]) -> list[Problem]:
    """Select and multi-select values (literal or through a mapping) must be options of the field."""
    problems: list[Problem] = []
    checked: set[tuple[str, str]] = set()
    for r_index, runbook in enumerate(runbooks.runbooks):
        for a_index, action in enumerate(runbook.actions):
            raw = document.data["runbooks"][r_index]["actions"][a_index][action.kind]
            for field_id, value in ((raw.get("fields") or {}) if isinstance(raw, dict) else {}).items():
                field = meta.get(str(field_id))
                options = [str(o.get("value")) for o in (field or {}).get("allowedValues") or []
                           if isinstance(o, dict) and "value" in o]
                if not options:
                    continue  # not a select on this screen (or not one at all)
                field_name = f"{field.get('name', field_id)} ({field_id})" if field else str(field_id)
                loc: Location = ("runbooks", r_index, "actions", a_index, action.kind, "fields", field_id)
                found: list[tuple[Location, str]] = [(loc, v) for v in _option_values(value)]
                if isinstance(value, dict) and "map" in value:
                    table = str(value["map"])
                    try:
                        entries = runbooks.mappings.table(table)
                    except KeyError:
                        entries = {}  # reported offline: no such mapping
                    found += [(_mapping_location(table, key), v) for key, v in entries.items()]
                    if isinstance(value.get("default"), str):
                        found.append(((*loc, "default"), value["default"]))
                for where, option in found:
                    if option.lower() in {o.lower() for o in options} or (str(field_id), option) in checked:
                        continue
                    checked.add((str(field_id), option))
                    problems.append(Problem(document.where(where), f"{field_name} has no option {option!r}"
                                            f"{_did_you_mean(option, options)} (options: {', '.join(options)})"))
    return problems


def _lint_request_type(document: YamlDocument, loc: Location, client: JiraClient, project: str,
                       project_type: str | None, name: str) -> list[Problem]:
    """A JSM request type, by name, in the project's service desk (servicedeskapi)."""
    if project_type != SERVICE_DESK_PROJECT_TYPE:
        return [Problem(document.where(loc), f"{project} is a {project_type or 'non-service'} project: request_type "
                                            "only applies to Jira Service Management projects")]
    api = ServiceDeskApi(client)
    try:
        desk = api.service_desk_for(project)
        types = api.request_types(desk.id) if desk is not None else []
    except JiraError as error:
        return [Problem(document.where(loc), f"cannot read {project}'s request types: {error}")]
    if desk is None:
        return [Problem(document.where(loc), f"{project} has no service desk visible to the connector")]
    if name.strip().lower() not in {t.name.strip().lower() for t in types}:
        return [Problem(document.where(loc), f"{project} has no request type {name!r} "
                                            f"(it has: {', '.join(sorted(t.name for t in types)) or 'none'})")]
    return []

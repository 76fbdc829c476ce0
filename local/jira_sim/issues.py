"""Creating, editing and deleting issues, and issue properties: Jira's rules for each.

Screens decide what may be set: the create screen for ``POST /issue``, the edit screen for ``PUT``
(and nothing at all for a user without Edit Issues, which is how Jira makes such edits fail: every
field "cannot be set"). Values are parsed by `fields.FieldParser`; all problems of one request are
reported together, keyed by field id, in a single 400.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jira_sim.errors import NOT_ON_SCREEN, JiraError
from jira_sim.events import EventSink, IssueEvent
from jira_sim.fields import FieldParser, FieldValueError, change_strings, field_name
from jira_sim.seed import IssueTypeSeed, ProjectSeed, SiteSeed, UserSeed
from jira_sim.state import ChangeGroup, ChangeItem, Issue, SiteState

MAX_PROPERTY_BYTES = 32768
_SYSTEM_FIELDTYPE = "jira"


def find_visible_issue(state: SiteState, actor: UserSeed, id_or_key: str) -> Issue:
    """The issue, or Jira's 404 when it does not exist *or* the user may not browse its project."""
    issue = state.find(id_or_key)
    if issue is None:
        raise JiraError.issue_not_found()
    project = state.site.project_by_id(issue.project_id)
    if "BROWSE_PROJECTS" not in actor.permissions_in(project.key):
        raise JiraError.issue_not_found()
    return issue


def is_empty(value: Any) -> bool:
    return value is None or value in ([], "")


def required_message(site: SiteSeed, field_id: str) -> str:
    if field_id == "summary":
        return "You must specify a summary of the issue."
    return f"{field_name(site, field_id)} is required."


def change_items(site: SiteSeed, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ChangeItem]:
    """Changelog items for every field whose stored value differs (system fields first, like Jira)."""
    items: list[ChangeItem] = []
    for field_id in sorted(set(before) | set(after), key=lambda f: (f.startswith("customfield_"), f)):
        old, new = before.get(field_id), after.get(field_id)
        if (is_empty(old) and is_empty(new)) or old == new:
            continue
        items.append(change_item(site, field_id, old, new))
    return items


def change_item(site: SiteSeed, field_id: str, old: Any, new: Any) -> ChangeItem:
    custom = site.custom_field(field_id)
    from_value, from_string = change_strings(site, field_id, old)
    to_value, to_string = change_strings(site, field_id, new)
    return ChangeItem(
        field=custom.name if custom else field_id,
        fieldtype="custom" if custom else _SYSTEM_FIELDTYPE,
        field_id=field_id,
        from_value=from_value,
        from_string=from_string,
        to_value=to_value,
        to_string=to_string,
        is_user=field_id in ("assignee", "reporter") or (custom is not None and custom.kind == "user"),
    )


def apply_update_operations(parser: FieldParser, field_id: str, current: Any, operations: Any) -> Any:
    """Apply an ``update`` entry (``[{"set": v}, {"add": v}, {"remove": v}]``) to a stored value."""
    if not isinstance(operations, list):
        raise FieldValueError(f"Field '{field_id}' update operations must be an array")
    value = current
    for operation in operations:
        if not isinstance(operation, dict) or len(operation) != 1:
            raise FieldValueError("Each update operation must be an object with one of set, add, remove")
        ((verb, argument),) = operation.items()
        if verb == "set":
            value = parser.parse(field_id, argument)
        elif verb in ("add", "remove") and _is_list_field(parser.site, field_id):
            element = parser.parse(field_id, [argument])[0]
            items = list(value or [])
            if verb == "add" and element not in items:
                items.append(element)
            if verb == "remove" and element in items:
                items.remove(element)
            value = items
        else:
            raise FieldValueError(f"Field '{field_id}' does not support operation '{verb}'")
    return value


def parse_screen_input(
    parser: FieldParser,
    values: dict[str, Any],
    fields: dict[str, Any],
    update: dict[str, Any],
    screen: frozenset[str],
) -> dict[str, str]:
    """Parse ``fields`` (values) and ``update`` (operations) into ``values``; return errors by field id.

    A field that is not on ``screen`` gets Jira's "cannot be set" error whatever its value.
    """
    errors: dict[str, str] = {}
    for field_id, given in [*fields.items(), *update.items()]:
        if field_id not in screen:
            errors[field_id] = NOT_ON_SCREEN.format(field=field_id)
            continue
        try:
            if field_id in fields:
                values[field_id] = parser.parse(field_id, given)
            else:
                values[field_id] = apply_update_operations(parser, field_id, values.get(field_id), given)
        except FieldValueError as error:
            errors[field_id] = str(error)
    return errors


def _is_list_field(site: SiteSeed, field_id: str) -> bool:
    custom = site.custom_field(field_id)
    return field_id == "labels" or (custom is not None and custom.kind == "multiselect")


class IssueService:
    def __init__(self, state: SiteState, parser: FieldParser, emit: EventSink) -> None:
        self.state = state
        self.site = state.site
        self.parser = parser
        self.emit = emit

    # -- create --

    def create(self, actor: UserSeed, body: Any) -> Issue:
        fields, update = _fields_and_update(body)
        project = self._project(fields.get("project"))
        if "CREATE_ISSUES" not in actor.permissions_in(project.key):
            raise JiraError.field_errors({"project": "You do not have permission to create issues in this project."})
        issue_type = self._issue_type(project, fields.get("issuetype"))
        screen = project.screens[issue_type.id]
        properties = _properties(body)

        values: dict[str, Any] = {}
        settable = {k: v for k, v in fields.items() if k not in ("project", "issuetype")}
        errors = parse_screen_input(self.parser, values, settable, update, screen.create)
        for field_id in sorted(screen.required - {"project", "issuetype"}):
            if field_id not in errors and is_empty(values.get(field_id)):
                errors[field_id] = required_message(self.site, field_id)
        if errors:
            raise JiraError.field_errors(errors)

        if "priority" in screen.create:
            values.setdefault("priority", self.site.default_priority().id)
        values.setdefault("reporter", actor.account_id)
        values.setdefault("labels", [])
        return self._store_new_issue(actor, project, issue_type, values, properties)

    def _store_new_issue(
        self,
        actor: UserSeed,
        project: ProjectSeed,
        issue_type: IssueTypeSeed,
        values: dict[str, Any],
        properties: dict[str, Any],
    ) -> Issue:
        issue_id, key = self.state.next_issue_key(project)
        now = self.state.now()
        issue = Issue(
            id=issue_id,
            key=key,
            project_id=project.id,
            issue_type_id=issue_type.id,
            status_id=self.site.workflow_of(project).initial_status,
            creator=actor.account_id,
            created=now,
            updated=now,
            fields=values,
            properties=properties,
        )
        self.state.add(issue)
        # The creation event's changelog lists every value set, status included (see the capture);
        # Jira keeps no history entry for creation itself.
        created = {**values, "status": issue.status_id}
        items = change_items(self.site, {}, created)
        for item in items:
            if item.field_id == "status":
                item.field = "Status"
        changelog = _webhook_changelog(self.state, actor, items)
        self.emit(IssueEvent("jira:issue_created", "issue_created", issue.snapshot(), actor, changelog))
        return issue

    def _project(self, reference: Any) -> ProjectSeed:
        project = None
        if isinstance(reference, dict):
            wanted = reference.get("key") or reference.get("id")
            project = self.site.project(str(wanted)) if wanted is not None else None
        if project is None:
            raise JiraError.field_errors({"project": "Specify a valid project ID or key"})
        return project

    def _issue_type(self, project: ProjectSeed, reference: Any) -> IssueTypeSeed:
        if not isinstance(reference, dict) or not ({"id", "name"} & reference.keys()):
            raise JiraError.field_errors({"issuetype": "Specify an issue type"})
        for type_id in project.screens:
            issue_type = self.site.issue_type(type_id)
            if reference.get("id") == issue_type.id or reference.get("name") == issue_type.name:
                return issue_type
        raise JiraError.field_errors({"issuetype": "Specify a valid issue type"})

    # -- edit --

    def edit(self, actor: UserSeed, issue: Issue, body: Any) -> list[Any]:
        """Apply an edit. Returns the ``update.comment`` operations for the caller to run afterwards."""
        fields, update = _fields_and_update(body, require_fields=False)
        project = self.site.project_by_id(issue.project_id)
        screen = project.screens[issue.issue_type_id]
        editable = screen.edit if "EDIT_ISSUES" in actor.permissions_in(project.key) else frozenset()
        comment_operations = update.pop("comment", [])

        values = dict(issue.fields)
        errors = parse_screen_input(self.parser, values, fields, update, editable)
        for field_id in screen.required & (fields.keys() | update.keys()):
            if field_id not in errors and is_empty(values.get(field_id)):
                errors[field_id] = required_message(self.site, field_id)
        if errors:
            raise JiraError.field_errors(errors)
        issue.properties.update(_properties(body))  # IssueUpdateDetails.properties: added or updated

        self._apply(actor, issue, values)
        return list(comment_operations) if isinstance(comment_operations, list) else [comment_operations]

    def assign(self, actor: UserSeed, issue: Issue, body: Any) -> None:
        """``PUT /issue/{key}/assignee``: ``accountId`` a user, ``null`` unassigned, ``"-1"`` the
        project's default assignee (the project lead on the simulated site). Needs *Assign Issues*,
        not *Edit Issues*; the user must be assignable in the project."""
        project = self.site.project_by_id(issue.project_id)
        if "ASSIGN_ISSUES" not in actor.permissions_in(project.key):
            raise JiraError(403, ["You do not have permission to assign issues."])
        if not isinstance(body, dict) or not ({"accountId", "name"} & body.keys()):
            raise JiraError(400, ["accountId is missing: send {\"accountId\": ...} (null unassigns)."])
        account_id = body.get("accountId", body.get("name"))
        if account_id == "-1":
            account_id = project.lead_account_id
        elif account_id is not None:
            user = self.site.find_user(account_id) if isinstance(account_id, str) else None
            if user is None or user.account_id != account_id:
                raise JiraError.field_errors({"assignee": f"User '{account_id}' does not exist."})
            if "ASSIGNABLE_USER" not in user.permissions_in(project.key):
                raise JiraError.field_errors({"assignee": f"User '{user.display_name}' cannot be assigned issues."})
        self._apply(actor, issue, dict(issue.fields) | {"assignee": account_id})

    def _apply(self, actor: UserSeed, issue: Issue, values: dict[str, Any]) -> None:
        """Store new field values, with their changelog and webhook event (nothing when unchanged)."""
        items = change_items(self.site, issue.fields, values)
        if items:
            issue.fields = values
            group = self.state.record_change(issue, actor.account_id, items)
            only_assignee = all(item.field_id == "assignee" for item in items)
            kind = "issue_assigned" if only_assignee else "issue_updated"
            self.emit(IssueEvent("jira:issue_updated", kind, issue.snapshot(), actor, group))

    # -- move --

    def move(self, actor: UserSeed, issue: Issue, project: ProjectSeed) -> None:
        """Jira's "Move": a new key in the other project, the same id; announced as an update whose
        changelog names the Key and the project (event type ``issue_moved``)."""
        old_key, old_project = issue.key, self.site.project_by_id(issue.project_id)
        self.state.move(issue, project)
        items = [
            ChangeItem("Key", "jira", "issuekey", None, old_key, None, issue.key),
            ChangeItem("project", "jira", "project", old_project.id, old_project.name, project.id, project.name),
        ]
        group = self.state.record_change(issue, actor.account_id, items)
        self.emit(IssueEvent("jira:issue_updated", "issue_moved", issue.snapshot(), actor, group))

    # -- delete --

    def delete(self, actor: UserSeed, issue: Issue) -> None:
        project = self.site.project_by_id(issue.project_id)
        if "DELETE_ISSUES" not in actor.permissions_in(project.key):
            raise JiraError(403, ["You do not have permission to delete issues in this project."])
        self.state.remove(issue)
        self.emit(IssueEvent("jira:issue_deleted", "issue_deleted", issue.snapshot(), actor))

    # -- properties --

    def set_property(self, actor: UserSeed, issue: Issue, key: str, value: Any) -> bool:
        """Store a property; True when it is new (201) rather than replaced (200)."""
        project = self.site.project_by_id(issue.project_id)
        if "EDIT_ISSUES" not in actor.permissions_in(project.key):
            raise JiraError(403, ["You do not have permission to edit this issue."])
        _check_property(key, value)
        created = key not in issue.properties
        issue.properties[key] = value
        return created


def _fields_and_update(body: Any, *, require_fields: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(body, dict):
        raise JiraError(400, ["Can not deserialize the request body: an IssueUpdateDetails object is expected."])
    fields = body.get("fields") or {}
    update = body.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise JiraError(400, ["'fields' and 'update' must be objects."])
    if require_fields and not fields:
        raise JiraError.field_errors(
            {
                "project": "Specify a valid project ID or key",
                "issuetype": "Specify an issue type",
                "summary": "You must specify a summary of the issue.",
            }
        )
    return dict(fields), dict(update)


def _properties(body: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for entry in body.get("properties") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise JiraError(400, ["Each entry of 'properties' needs a string 'key' and a 'value'."])
        _check_property(entry["key"], entry.get("value"))
        properties[entry["key"]] = entry.get("value")
    return properties


def _check_property(key: str, value: Any) -> None:
    if not key or len(key) > 255:
        raise JiraError(400, ["The property key cannot be longer than 255 characters."])
    if len(json.dumps(value).encode()) > MAX_PROPERTY_BYTES:
        raise JiraError(400, [f"The property value cannot be longer than {MAX_PROPERTY_BYTES} bytes."])


def _webhook_changelog(state: SiteState, actor: UserSeed, items: list[ChangeItem]) -> ChangeGroup:
    return ChangeGroup(state.next_changelog_id(), actor.account_id, state.now(), items)

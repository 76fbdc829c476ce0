"""Workflow transitions: which are available, what their screens require, and performing them.

Jira distinguishes a transition id it does not know for the issue's workflow ("Transition id 'X' is
not valid for this issue.") from a known transition that is not available from the current status
(the "It seems that you have tried to perform a workflow operation ..." message, which is also what a
client sees when someone moved the issue in between). Both are 400s.
"""

from __future__ import annotations

from typing import Any

from jira_sim.comments import CommentService
from jira_sim.errors import JiraError
from jira_sim.events import EventSink, IssueEvent
from jira_sim.fields import FieldParser, field_name
from jira_sim.issues import change_item, change_items, is_empty, parse_screen_input
from jira_sim.seed import ProjectSeed, TransitionSeed, UserSeed, WorkflowSeed
from jira_sim.state import Issue, SiteState

NOT_AVAILABLE = (
    "It seems that you have tried to perform a workflow operation ({name}) that is not valid for the current "
    "state of this issue ({key}). The likely cause is that somebody has changed the issue recently, please "
    "look at the issue history for details."
)


class WorkflowService:
    def __init__(self, state: SiteState, parser: FieldParser, comments: CommentService, emit: EventSink) -> None:
        self.state = state
        self.site = state.site
        self.parser = parser
        self.comments = comments
        self.emit = emit

    def workflow(self, issue: Issue) -> tuple[ProjectSeed, WorkflowSeed]:
        project = self.site.project_by_id(issue.project_id)
        return project, self.site.workflow_of(project)

    def available(self, actor: UserSeed, issue: Issue) -> list[TransitionSeed]:
        """Transitions the user may perform now (none without the Transition Issues permission)."""
        project, workflow = self.workflow(issue)
        if "TRANSITION_ISSUES" not in actor.permissions_in(project.key):
            return []
        return [t for t in workflow.transitions if _leaves(t, issue.status_id)]

    def transition(self, actor: UserSeed, issue: Issue, body: Any) -> None:
        transition = self._requested_transition(actor, issue, body)
        fields = body.get("fields") or {}
        update = dict(body.get("update") or {})
        comment_operations = update.pop("comment", [])

        values, errors = self._screen_values(issue, transition, fields, update)
        comment_bodies = self._comment_bodies(comment_operations, errors)
        if errors:
            raise JiraError.field_errors(errors)
        for field_id in transition.required_fields:
            if is_empty(values.get(field_id)):
                raise JiraError(400, [f"Field {field_name(self.site, field_id)} is required."])

        self._apply(actor, issue, transition, values)
        for comment_body in comment_bodies:
            self.comments.add(actor, issue, {"body": comment_body})

    def _requested_transition(self, actor: UserSeed, issue: Issue, body: Any) -> TransitionSeed:
        reference = body.get("transition") if isinstance(body, dict) else None
        transition_id = str(reference.get("id", "")) if isinstance(reference, dict) else ""
        if not transition_id.isdigit():
            raise JiraError(400, ["'transition' identifier must be an integer"])
        project, workflow = self.workflow(issue)
        if "TRANSITION_ISSUES" not in actor.permissions_in(project.key):
            raise JiraError(400, ["You do not have permission to transition this issue."])
        transition = workflow.transition(transition_id)
        if transition is None:
            raise JiraError(400, [f"Transition id '{transition_id}' is not valid for this issue."])
        if not _leaves(transition, issue.status_id):
            raise JiraError(400, [NOT_AVAILABLE.format(name=transition.name, key=issue.key)])
        return transition

    def _screen_values(
        self, issue: Issue, transition: TransitionSeed, fields: Any, update: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        if not isinstance(fields, dict):
            raise JiraError(400, ["'fields' must be an object."])
        values = dict(issue.fields)
        errors = parse_screen_input(self.parser, values, fields, update, frozenset(transition.screen_fields))
        return values, errors

    def _comment_bodies(self, operations: Any, errors: dict[str, str]) -> list[dict[str, Any] | str]:
        bodies: list[dict[str, Any] | str] = []
        for operation in operations if isinstance(operations, list) else [operations]:
            added = operation.get("add") if isinstance(operation, dict) else None
            if added is None:
                errors["comment"] = "Only 'add' is supported for comments in a transition."
                continue
            try:
                bodies.append(self.comments.validate_body(added))
            except JiraError as error:
                errors |= error.errors or {"comment": "; ".join(error.messages)}
        return bodies

    def _apply(self, actor: UserSeed, issue: Issue, transition: TransitionSeed, values: dict[str, Any]) -> None:
        target = self.site.status(transition.to_status)
        before = dict(issue.fields)
        after = dict(values)
        if target.category == "done":
            after["resolution"] = after.get("resolution") or transition.default_resolution
            issue.resolution_date = issue.resolution_date or self.state.now()
        else:
            # Jira's standard workflows clear the resolution when an issue leaves "done".
            after["resolution"] = None
            issue.resolution_date = None
        items = change_items(self.site, before, after)
        items.append(change_item(self.site, "status", issue.status_id, target.id))
        issue.fields = after
        issue.status_id = target.id
        group = self.state.record_change(issue, actor.account_id, items)
        self.emit(IssueEvent("jira:issue_updated", "issue_generic", issue.snapshot(), actor, group))


def _leaves(transition: TransitionSeed, status_id: str) -> bool:
    if transition.is_global:
        return transition.to_status != status_id
    return status_id in transition.from_statuses

"""Comments: ADF bodies, per-author edit rights, and the events Jira sends for them.

Adding a comment fires ``comment_created`` and, as Jira Cloud still does, the legacy
``jira:issue_updated`` with ``issue_event_type_name: issue_commented`` and a top-level ``comment``
(switch off with ``SiteSeed.legacy_comment_issue_events``).
"""

from __future__ import annotations

from typing import Any

from jira_sim.adf import AdfValidatorSource, adf_error
from jira_sim.errors import JiraError
from jira_sim.events import CommentEvent, EventSink, IssueEvent
from jira_sim.seed import UserSeed
from jira_sim.state import Comment, CustomerEmail, Issue, SiteState

#: The comment property Jira Service Management reads: ``{"internal": true}`` keeps a comment agent-only.
SD_PUBLIC_COMMENT = "sd.public.comment"

_LEGACY_EVENT_NAMES = {
    "comment_created": "issue_commented",
    "comment_updated": "issue_comment_edited",
    "comment_deleted": "issue_comment_deleted",
}


class CommentService:
    def __init__(
        self, state: SiteState, adf_validator: AdfValidatorSource, emit: EventSink, *, datacenter: bool = False
    ) -> None:
        self.state = state
        self.adf_validator = adf_validator
        self.emit = emit
        #: Data Center REST v2 comment bodies are wiki-markup strings, stored as given.
        self.datacenter = datacenter

    def validate_body(self, payload: Any) -> dict[str, Any] | str:
        """The ADF body (Cloud) or wiki-markup body (Data Center) of a comment request, or Jira's 400."""
        body = payload.get("body") if isinstance(payload, dict) else None
        if body is None or body == "" or (isinstance(body, str) and not body.strip()):
            raise JiraError.field_errors({"comment": "Comment body can not be empty!"})
        if self.datacenter:
            if not isinstance(body, str):
                raise JiraError(400, ["Can not deserialize instance of java.lang.String out of START_OBJECT token"])
            return body
        problem = adf_error(body, self.adf_validator)
        if problem == "INVALID_INPUT":
            raise JiraError(400, [problem])
        if problem is not None:
            raise JiraError.field_errors({"comment": problem})
        result: dict[str, Any] = body
        return result

    def add(self, actor: UserSeed, issue: Issue, payload: Any) -> Comment:
        self._require(actor, issue, "ADD_COMMENTS", "You do not have the permission to comment on this issue.")
        body = self.validate_body(payload)
        properties = _comment_properties(payload)
        now = self.state.now()
        comment = Comment(self.state.next_comment_id(), actor.account_id, body, now, now, actor.account_id,
                          properties=properties, internal=self._internal(actor, issue, properties))
        issue.comments.append(comment)
        issue.updated = now
        self._email_customers(issue, comment)
        self._announce("comment_created", actor, issue, comment)
        return comment

    def _internal(self, actor: UserSeed, issue: Issue, properties: dict[str, Any]) -> bool:
        """JSM: only an agent's comment with ``sd.public.comment`` ``{"internal": true}`` is internal.

        Without the property a comment on a service project is public (the platform default,
        ``jsdPublic`` "defaults to true"), and customers cannot write internal notes.
        """
        project = self.state.site.project_by_id(issue.project_id)
        if project.project_type != "service_desk" or "SERVICEDESK_AGENT" not in actor.permissions_in(project.key):
            return False
        flag = properties.get(SD_PUBLIC_COMMENT)
        return isinstance(flag, dict) and flag.get("internal") is True

    def _email_customers(self, issue: Issue, comment: Comment) -> None:
        """A public comment on a request notifies its reporter and participants (not its author)."""
        project = self.state.site.project_by_id(issue.project_id)
        if project.project_type != "service_desk" or comment.internal:
            return
        people = [issue.fields.get("reporter"), *issue.request_participants]
        recipients = tuple(dict.fromkeys(p for p in people if p and p != comment.author))
        if recipients:
            self.state.customer_emails.append(CustomerEmail(issue.key, comment.id, recipients))

    def find(self, issue: Issue, comment_id: str) -> Comment:
        comment = next((c for c in issue.comments if c.id == comment_id), None)
        if comment is None:
            raise JiraError(404, [f"Can not find a comment for the id: {comment_id}."])
        return comment

    def update(self, actor: UserSeed, issue: Issue, comment_id: str, payload: Any) -> Comment:
        comment = self.find(issue, comment_id)
        self._require_own_or_all(actor, issue, comment, "EDIT", "You do not have the permission to edit this comment.")
        comment.body = self.validate_body(payload)
        comment.updated = self.state.now()
        comment.update_author = actor.account_id
        issue.updated = comment.updated
        self._announce("comment_updated", actor, issue, comment)
        return comment

    def delete(self, actor: UserSeed, issue: Issue, comment_id: str) -> None:
        comment = self.find(issue, comment_id)
        message = "You do not have the permission to delete this comment."
        self._require_own_or_all(actor, issue, comment, "DELETE", message)
        issue.comments.remove(comment)
        issue.updated = self.state.now()
        self._announce("comment_deleted", actor, issue, comment)

    def _announce(self, webhook_event: str, actor: UserSeed, issue: Issue, comment: Comment) -> None:
        snapshot = issue.snapshot()
        self.emit(CommentEvent(webhook_event, snapshot, comment, actor))
        if self.state.site.legacy_comment_issue_events:
            legacy = _LEGACY_EVENT_NAMES[webhook_event]
            self.emit(IssueEvent("jira:issue_updated", legacy, snapshot, actor, comment=comment))

    def _require(self, actor: UserSeed, issue: Issue, permission: str, message: str) -> None:
        project = self.state.site.project_by_id(issue.project_id)
        if permission not in actor.permissions_in(project.key):
            raise JiraError(400, [message])

    def _require_own_or_all(self, actor: UserSeed, issue: Issue, comment: Comment, verb: str, message: str) -> None:
        scope = "OWN" if comment.author == actor.account_id else "ALL"
        self._require(actor, issue, f"{verb}_{scope}_COMMENTS", message)


def _comment_properties(payload: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for entry in (payload.get("properties") if isinstance(payload, dict) else None) or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or "value" not in entry:
            raise JiraError(400, ["Each entry of 'properties' needs a string 'key' and a 'value'."])
        properties[entry["key"]] = entry["value"]
    return properties

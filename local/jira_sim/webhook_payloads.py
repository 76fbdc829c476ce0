"""Webhook bodies shaped like the real Jira Cloud captures in ``shared/contracts/jira-webhooks``
(and, for a Data Center site, like the Server captures in its ``more/`` folder).

Issue events: ``timestamp``, ``webhookEvent``, ``issue_event_type_name``, ``user``, ``issue`` (full,
``self`` links under ``/rest/api/2``, rich text as wiki markup) and ``changelog`` when something
changed. Comment events: ``timestamp``, ``webhookEvent``, ``comment`` and a slim ``issue``; no
``user`` and no ``changelog``.
"""

from __future__ import annotations

from typing import Any

from jira_sim.events import CommentEvent, IssueEvent, SiteEvent
from jira_sim.render import FieldSelection, Renderer
from jira_sim.state import ChangeItem

_SLIM_ISSUE_FIELDS = FieldSelection.parse(["summary,issuetype,project,assignee,priority,status"])
_ALL_FIELDS = FieldSelection.parse(["*all"])


def build_payload(event: SiteEvent, renderer: Renderer, timestamp_ms: int) -> dict[str, Any]:
    if isinstance(event, CommentEvent):
        return _comment_payload(event, renderer, timestamp_ms)
    return _issue_payload(event, renderer, timestamp_ms)


def _issue_payload(event: IssueEvent, renderer: Renderer, timestamp_ms: int) -> dict[str, Any]:
    issue = renderer.issue(event.issue, _ALL_FIELDS)
    issue.pop("expand", None)
    datacenter = renderer.flavour == "datacenter"
    payload: dict[str, Any] = {
        "timestamp": timestamp_ms,
        "webhookEvent": event.webhook_event,
        "issue_event_type_name": event.event_type_name,
        "user": renderer.user(event.actor),
        "issue": issue,
    }
    if datacenter:
        # Absent in 6 of the 7 Server captures: a Data Center receiver must not need it.
        del payload["issue_event_type_name"]
    if event.changelog is not None:
        payload["changelog"] = {
            "id": event.changelog.id,
            "items": [
                _dc_item(item, renderer) if datacenter else item.as_json(webhook=True)
                for item in event.changelog.items
            ],
        }
    if event.comment is not None:
        payload["comment"] = renderer.comment(event.issue, event.comment)
    return payload


def _dc_item(item: ChangeItem, renderer: Renderer) -> dict[str, Any]:
    """A Server/Data Center changelog item: no ``fieldId``, no ``tmp*AccountId``, users by key."""
    rendered = item.as_json(webhook=False)
    del rendered["fieldId"]
    if item.is_user:
        for end in ("from", "to"):
            account = rendered[end]
            found = renderer.site.find_user(account) if account else None
            rendered[end] = found.user_key if found else account
    return rendered


def _comment_payload(event: CommentEvent, renderer: Renderer, timestamp_ms: int) -> dict[str, Any]:
    issue = renderer.issue(event.issue, _SLIM_ISSUE_FIELDS)
    return {
        "timestamp": timestamp_ms,
        "webhookEvent": event.webhook_event,
        "comment": renderer.comment(event.issue, event.comment),
        "issue": {"id": issue["id"], "self": issue["self"], "key": issue["key"], "fields": issue["fields"]},
    }

"""Webhook bodies shaped like the real Jira Cloud captures in ``shared/contracts/jira-webhooks``.

Issue events: ``timestamp``, ``webhookEvent``, ``issue_event_type_name``, ``user``, ``issue`` (full,
``self`` links under ``/rest/api/2``, rich text as wiki markup) and ``changelog`` when something
changed. Comment events: ``timestamp``, ``webhookEvent``, ``comment`` and a slim ``issue``; no
``user`` and no ``changelog``.
"""

from __future__ import annotations

from typing import Any

from jira_sim.events import CommentEvent, IssueEvent, SiteEvent
from jira_sim.render import FieldSelection, Renderer

_SLIM_ISSUE_FIELDS = FieldSelection.parse(["summary,issuetype,project,assignee,priority,status"])
_ALL_FIELDS = FieldSelection.parse(["*all"])


def build_payload(event: SiteEvent, renderer: Renderer, timestamp_ms: int) -> dict[str, Any]:
    if isinstance(event, CommentEvent):
        return _comment_payload(event, renderer, timestamp_ms)
    return _issue_payload(event, renderer, timestamp_ms)


def _issue_payload(event: IssueEvent, renderer: Renderer, timestamp_ms: int) -> dict[str, Any]:
    issue = renderer.issue(event.issue, _ALL_FIELDS)
    issue.pop("expand", None)
    payload: dict[str, Any] = {
        "timestamp": timestamp_ms,
        "webhookEvent": event.webhook_event,
        "issue_event_type_name": event.event_type_name,
        "user": renderer.user(event.actor),
        "issue": issue,
    }
    if event.changelog is not None:
        payload["changelog"] = {
            "id": event.changelog.id,
            "items": [item.as_json(webhook=True) for item in event.changelog.items],
        }
    if event.comment is not None:
        payload["comment"] = renderer.comment(event.issue, event.comment)
    return payload


def _comment_payload(event: CommentEvent, renderer: Renderer, timestamp_ms: int) -> dict[str, Any]:
    issue = renderer.issue(event.issue, _SLIM_ISSUE_FIELDS)
    return {
        "timestamp": timestamp_ms,
        "webhookEvent": event.webhook_event,
        "comment": renderer.comment(event.issue, event.comment),
        "issue": {"id": issue["id"], "self": issue["self"], "key": issue["key"], "fields": issue["fields"]},
    }

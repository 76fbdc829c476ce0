"""What happened on the site, as the webhook dispatcher needs to hear it.

Domain operations emit these while the state lock is held; ``issue`` and ``comment`` are snapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jira_sim.seed import UserSeed
from jira_sim.state import ChangeGroup, Comment, Issue


@dataclass(frozen=True)
class IssueEvent:
    #: ``jira:issue_created``, ``jira:issue_updated`` or ``jira:issue_deleted``.
    webhook_event: str
    #: ``issue_created``, ``issue_generic`` (transition), ``issue_updated``, ``issue_assigned``,
    #: ``issue_commented``, ``issue_comment_edited``, ``issue_comment_deleted``, ``issue_deleted``.
    event_type_name: str
    issue: Issue
    actor: UserSeed
    changelog: ChangeGroup | None = None
    #: The legacy comment-in-issue-event shape carries the comment at top level.
    comment: Comment | None = None


@dataclass(frozen=True)
class CommentEvent:
    #: ``comment_created``, ``comment_updated`` or ``comment_deleted``.
    webhook_event: str
    issue: Issue
    comment: Comment
    actor: UserSeed


SiteEvent = IssueEvent | CommentEvent
EventSink = Callable[[SiteEvent], None]


def discard(_event: SiteEvent) -> None:
    """The sink used before a dispatcher is attached."""

"""The simulator's mutable site: issues with their comments, properties and history.

One re-entrant lock guards everything here. Request handlers take it for the whole read-modify-write
of an operation (Jira's own per-issue consistency is stronger than any client should rely on, so a
coarse lock costs nothing in realism), and webhook payloads are built while it is held so they show
the issue exactly as the change left it.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jira_sim.seed import ProjectSeed, SiteSeed

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ChangeItem:
    """One changelog item, in the webhook/changelog vocabulary."""

    field: str
    fieldtype: str
    field_id: str
    from_value: str | None
    from_string: str | None
    to_value: str | None
    to_string: str | None
    #: User fields also carry the account ids (``tmpFromAccountId`` / ``tmpToAccountId``).
    is_user: bool = False

    def as_json(self, *, webhook: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "field": self.field,
            "fieldtype": self.fieldtype,
            "fieldId": self.field_id,
            "from": self.from_value,
            "fromString": self.from_string,
            "to": self.to_value,
            "toString": self.to_string,
        }
        if webhook and self.is_user:
            item["tmpFromAccountId"] = self.from_value
            item["tmpToAccountId"] = self.to_value
        return item


@dataclass
class ChangeGroup:
    id: str
    author: str
    created: datetime
    items: list[ChangeItem]


@dataclass
class Comment:
    id: str
    author: str
    body: dict[str, Any] | str
    created: datetime
    updated: datetime
    update_author: str
    properties: dict[str, Any] = field(default_factory=dict)
    #: Jira Service Management: an internal note, seen by agents only (``jsdPublic: false``).
    internal: bool = False


@dataclass(frozen=True)
class CustomerEmail:
    """An email Jira Service Management would send for a public comment on a request."""

    issue_key: str
    comment_id: str
    recipients: tuple[str, ...]
    """Account ids: the request's reporter and participants, never the comment's author."""


@dataclass
class Issue:
    """A stored issue. ``fields`` holds settable field values in their stored form:

    summary ``str``; description and textarea custom fields ADF ``dict``; priority, resolution and
    select options as ids; assignee/reporter/user pickers as account ids; labels and multi-selects as
    lists; numbers as ``float``; datetimes as aware ``datetime``.
    """

    id: str
    key: str
    project_id: str
    issue_type_id: str
    status_id: str
    creator: str
    created: datetime
    updated: datetime
    fields: dict[str, Any]
    resolution_date: datetime | None = None
    comments: list[Comment] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    changelog: list[ChangeGroup] = field(default_factory=list)
    #: Keys the issue had before it was moved; they still resolve, as in Jira.
    previous_keys: list[str] = field(default_factory=list)
    #: Jira Service Management: the request type it was raised with (None: a plain issue).
    request_type_id: str | None = None
    request_participants: list[str] = field(default_factory=list)
    #: Remote issue links by link id, in creation order (``globalId`` is unique per issue).
    remote_links: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])

    def snapshot(self) -> Issue:
        """A deep copy, safe to read after the lock is released."""
        return copy.deepcopy(self)


class SiteState:
    """Issues of one simulated site, with the id sequences Jira would hand out."""

    def __init__(self, site: SiteSeed, clock: Clock = utc_now) -> None:
        self.site = site
        self.clock = clock
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to an empty site with fresh id sequences (PROJ-1 again)."""
        self._issues: dict[str, Issue] = {}
        self._key_index: dict[str, str] = {}
        self._issue_numbers: dict[str, Iterator[int]] = {}
        self._issue_ids = itertools.count(10000)
        self._comment_ids = itertools.count(10000)
        self._changelog_ids = itertools.count(10000)
        self.customer_emails: list[CustomerEmail] = []
        # Jira's search index is eventually consistent: an issue created less than this long ago is not
        # found by JQL search yet, unless the search names its id in `reconcileIssues` (read-after-write).
        self.search_index_lag = timedelta(0)
        self._remote_link_ids = itertools.count(10000)

    def indexed(self, issue: Issue, reconciled: frozenset[str] = frozenset()) -> bool:
        return issue.id in reconciled or self.now() - issue.created >= self.search_index_lag

    def now(self) -> datetime:
        return self.clock()

    # -- ids --

    def next_issue_key(self, project: ProjectSeed) -> tuple[str, str]:
        numbers = self._issue_numbers.setdefault(project.key, itertools.count(1))
        return str(next(self._issue_ids)), f"{project.key}-{next(numbers)}"

    def next_remote_link_id(self) -> str:
        return str(next(self._remote_link_ids))

    def next_comment_id(self) -> str:
        return str(next(self._comment_ids))

    def next_changelog_id(self) -> str:
        return str(next(self._changelog_ids))

    # -- issues --

    def add(self, issue: Issue) -> None:
        self._issues[issue.id] = issue
        self._key_index[issue.key.upper()] = issue.id

    def remove(self, issue: Issue) -> None:
        del self._issues[issue.id]
        for key in [issue.key, *issue.previous_keys]:
            self._key_index.pop(key.upper(), None)

    def find(self, id_or_key: str) -> Issue | None:
        """By numeric id, current key or any earlier key (case-insensitive, like Jira)."""
        if id_or_key.isdigit():
            return self._issues.get(id_or_key)
        issue_id = self._key_index.get(id_or_key.upper())
        return self._issues.get(issue_id) if issue_id else None

    def all(self) -> list[Issue]:
        return list(self._issues.values())

    def record_change(self, issue: Issue, author: str, items: list[ChangeItem]) -> ChangeGroup:
        """Append a history entry (what ``expand=changelog`` shows) and bump ``updated``."""
        group = ChangeGroup(self.next_changelog_id(), author, self.now(), items)
        issue.changelog.append(group)
        issue.updated = group.created
        return group

    def move(self, issue: Issue, project: ProjectSeed) -> None:
        """Move an issue to another project: new key, same id, the old key keeps resolving."""
        _, new_key = self.next_issue_key(project)
        issue.previous_keys.append(issue.key)
        issue.key = new_key
        issue.project_id = project.id
        self._key_index[new_key.upper()] = issue.id

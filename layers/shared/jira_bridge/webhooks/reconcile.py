"""Reconciliation: replay what the webhooks missed, through the same idempotent path.

Jira retries a failed delivery for about 30 minutes; an outage longer than that, or a webhook lost
on the way, would otherwise lose a change for good. On a schedule, the bridge asks Jira for the
issues updated since its last checkpoint (with an overlap), and for each linked one replays the
issue's current state and any human comments the incident has not seen. The change path compares
with what the incident already has, so a replay of something already applied changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from jira_bridge.incidents.sync import JiraSite
from jira_bridge.jira.errors import JiraNotFound
from jira_bridge.links.store import LinkStore
from jira_bridge.webhooks.jira_changes import JiraChangeSync, JiraDelivery
from jira_bridge.webhooks.jira_payload import JiraWebhookPayload

OVERLAP = timedelta(minutes=2)  # Jira's search index lags writes by seconds; look back a little further
FIRST_LOOKBACK = timedelta(hours=1)
PAGE_SIZE = 100
MAX_PAGES_PER_RUN = 5
RECONCILE_FIELDS = ["status", "priority", "assignee", "summary", "labels", "updated"]


class Checkpoints(Protocol):
    def get(self, connector: str) -> datetime | None: ...
    def set(self, connector: str, at: datetime) -> None: ...


@dataclass
class ReconcileReport:
    connector: str
    since: datetime
    issues_seen: int = 0
    linked: int = 0
    requests: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Reconciler:
    links: LinkStore
    site_named: Callable[[str], JiraSite]
    changes: JiraChangeSync
    checkpoints: Checkpoints
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def run(self, connector: str, projects: list[str]) -> ReconcileReport:
        now = self.clock()
        since = self.checkpoints.get(connector) or now - FIRST_LOOKBACK
        report = ReconcileReport(connector=connector, since=since)
        if not projects:
            report.notes.append("no projects to reconcile (no create_issue action names a project)")
            return report
        site = self.site_named(connector)
        minutes = math.ceil((now - since + OVERLAP).total_seconds() / 60)
        quoted = ", ".join(f'"{p}"' for p in projects)
        jql = f"project in ({quoted}) AND updated >= -{minutes}m ORDER BY updated ASC"
        bridge = site.metadata.integration_account_id()
        token: str | None = None
        last_updated: datetime | None = None
        for _ in range(MAX_PAGES_PER_RUN):
            page = site.client.search_jql(jql, fields=RECONCILE_FIELDS, max_results=PAGE_SIZE, next_page_token=token)
            for issue in page.issues:
                report.issues_seen += 1
                last_updated = _jira_time(issue.get("fields", {}).get("updated")) or last_updated
                link = self.links.get_by_issue(connector, str(issue["id"]))
                if link is None:
                    continue
                report.linked += 1
                report.requests += self._replay_fields(connector, issue)
                report.requests += self._replay_comments(connector, site, issue, bridge)
            token = page.next_page_token
            if page.is_last or not token:
                self.checkpoints.set(connector, now)
                return report
        # More changed issues than one run handles: resume from the last one seen, not from now,
        # so the newest changes (at the end of the ascending order) are not skipped.
        report.notes.append(f"stopped after {report.issues_seen} issues; the next run continues")
        self.checkpoints.set(connector, last_updated or since)
        return report

    def replay_issue(self, connector: str, issue_id: str) -> int:
        """Act on what Jira says about one issue now (an unsigned webhook's hint, see
        docs/datacenter.md): re-read with the connector's own credentials, replay it if linked.
        The hint's body is never trusted, so a forged one costs at most these reads."""
        link = self.links.get_by_issue(connector, issue_id)
        if link is None:
            return 0  # not ours: nothing to read
        site = self.site_named(connector)
        # The change path reads the issue's fields from Jira itself; only the reference is passed.
        issue = {"id": issue_id, "key": link.issue_key or issue_id}
        try:
            replayed = self._replay_fields(connector, issue)
            bridge = site.metadata.integration_account_id()
            return replayed + self._replay_comments(connector, site, issue, bridge)
        except JiraNotFound:
            return 0  # deleted, or no longer visible to the connector: nothing to act on

    def _replay_fields(self, connector: str, issue: dict[str, Any]) -> int:
        payload = JiraWebhookPayload.model_validate(
            {"webhookEvent": "jira:issue_updated", "issue": {"id": str(issue["id"]), "key": issue["key"],
                                                             "fields": issue.get("fields") or {}}})
        outcome = self.changes.apply(JiraDelivery(connector=connector, payload=payload))
        return 1 if outcome.request is not None else 0

    def _replay_comments(self, connector: str, site: JiraSite, issue: dict[str, Any], bridge: str) -> int:
        page = site.client.get_comments(str(issue["id"]), order_by="-created", max_results=50)
        sent = 0
        for comment in reversed(page.comments):  # oldest first, as they happened
            if comment.author_account_id == bridge:
                continue
            payload = JiraWebhookPayload.model_validate({
                "webhookEvent": "comment_created",
                "issue": {"id": str(issue["id"]), "key": issue["key"]},
                "comment": {"id": comment.id, "body": comment.body, "jsdPublic": comment.jsd_public,
                            "author": {**(comment.raw.get("author") or {}),
                                       "accountType": comment.author_account_type}},
            })
            outcome = self.changes.apply(JiraDelivery(connector=connector, payload=payload))
            sent += 1 if outcome.request is not None else 0
        return sent


def _jira_time(value: Any) -> datetime | None:
    """Jira's timestamps look like 2026-11-23T02:15:53.000+0000."""
    if not value:
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None


class DynamoCheckpoints:
    """`checkpoint#<connector>` items in the link table."""

    def __init__(self, table_name: str, client_factory: Callable[[], Any]) -> None:
        self._table = table_name
        self._client_factory = client_factory

    def get(self, connector: str) -> datetime | None:
        item = self._client_factory().get_item(TableName=self._table, Key={"pk": {"S": f"checkpoint#{connector}"}},
                                               ConsistentRead=True).get("Item")
        return datetime.fromisoformat(item["at"]["S"]) if item else None

    def set(self, connector: str, at: datetime) -> None:
        self._client_factory().put_item(TableName=self._table,
                                        Item={"pk": {"S": f"checkpoint#{connector}"}, "at": {"S": at.isoformat()}})

"""What happens to a verified Jira delivery: find the incident it concerns, or acknowledge and ignore it.

Applying the change to the incident (mappings, echo suppression, publishing) builds on this.
"""

from __future__ import annotations

from dataclasses import dataclass

from jira_bridge.links.model import IssueLink
from jira_bridge.links.store import LinkStore
from jira_bridge.webhooks.jira_payload import JiraWebhookPayload

HANDLED_EVENTS = frozenset(
    {"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated"}
)


@dataclass(frozen=True)
class IntakeOutcome:
    disposition: str  # "linked" | "unlinked" | "ignored"
    reason: str
    link: IssueLink | None = None


def triage_delivery(payload: JiraWebhookPayload, connector: str, links: LinkStore) -> IntakeOutcome:
    if payload.webhook_event not in HANDLED_EVENTS:
        return IntakeOutcome("ignored", f"event type {payload.webhook_event} is not one the bridge handles")
    if payload.issue is None:
        return IntakeOutcome("ignored", f"{payload.webhook_event} carries no issue")
    link = links.get_by_issue(connector, payload.issue.id)
    if link is None:
        return IntakeOutcome("unlinked", f"issue {payload.issue.key} is not linked to an incident")
    return IntakeOutcome("linked", f"issue {payload.issue.key} belongs to incident {link.incident_id}", link)

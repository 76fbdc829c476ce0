"""One verified Jira delivery, start to finish: changes to a linked incident, or the Jira rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from jira_bridge.webhooks.jira_changes import ChangeOutcome, JiraChangeSync, JiraDelivery
from jira_bridge.webhooks.jira_rules import JiraRuleEngine, RuleOutcome

HANDLED_EVENTS = frozenset(
    {"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated"}
)


@dataclass
class DeliveryResult:
    disposition: str  # applied | echo | unchanged | ignored | incident-requested
    reasons: list[str] = field(default_factory=list)
    incident_id: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"disposition": self.disposition, "reasons": self.reasons, "incident_id": self.incident_id}


def process_delivery(delivery: JiraDelivery, changes: JiraChangeSync, rules: JiraRuleEngine) -> DeliveryResult:
    payload = delivery.payload
    if payload.webhook_event not in HANDLED_EVENTS:
        return DeliveryResult("ignored", [f"event type {payload.webhook_event} is not one the bridge handles"])
    outcome: ChangeOutcome = changes.apply(delivery)
    result = DeliveryResult(outcome.disposition, list(outcome.reasons), outcome.incident_id)
    if outcome.incident_id is None:
        ruled: RuleOutcome = rules.on_issue(delivery.connector, payload, linked=False)
        result.reasons.extend(ruled.reasons)
        if ruled.fired:
            result.disposition = "incident-requested"
            result.reasons.append(f"rule {ruled.fired[0]} requested an incident")
    return result

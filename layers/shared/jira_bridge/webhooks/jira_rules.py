"""Incidents from Jira: when an issue matching a rule's JQL appears, request an incident for it.

Matching asks Jira itself (`key = X AND (<rule JQL>)`), so a rule means exactly what it means in
Jira. One incident per issue, ever (a conditional claim per issue); an issue the bridge created never
spawns one; and a rule that fires more than `max_per_hour` times in an hour is switched off and says
so, rather than paging everyone for a bulk import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from jira_bridge.incidents.runbooks import JiraRule, RunbookSet
from jira_bridge.incidents.sync import JiraSite
from jira_bridge.incidents.templating import render_value
from jira_bridge.incidents.updates import IncidentCreateRequested, JiraOrigin
from jira_bridge.jira.errors import JiraRequestRefused
from jira_bridge.webhooks.jira_payload import JiraWebhookPayload

MARKER_LABEL_PREFIX = "jira-bridge-"


class CreatePublisher(Protocol):
    def publish_create(self, request: IncidentCreateRequested) -> None: ...


class RuleState(Protocol):
    def claim_origin(self, connector: str, issue_id: str, rule: str) -> str:
        """"new" (claimed now), "pending" (claimed, request not yet published) or "published"."""
        ...

    def mark_published(self, connector: str, issue_id: str) -> None: ...
    def release_origin(self, connector: str, issue_id: str) -> None: ...
    def count_firing(self, rule: str, hour: str) -> int: ...
    def disabled_reason(self, rule: str) -> str | None: ...
    def disable(self, rule: str, reason: str) -> None: ...


@dataclass
class RuleOutcome:
    fired: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    requests: list[IncidentCreateRequested] = field(default_factory=list)


@dataclass
class JiraRuleEngine:
    runbooks: RunbookSet
    site_named: Callable[[str], JiraSite]
    state: RuleState
    publisher: CreatePublisher
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def on_issue(self, connector: str, payload: JiraWebhookPayload, linked: bool) -> RuleOutcome:
        outcome = RuleOutcome()
        issue = payload.issue
        rules = [r for r in self.runbooks.jira_rules if r.connector == connector]
        if issue is None or not rules:
            return outcome
        created = payload.webhook_event == "jira:issue_created"
        if not created and payload.webhook_event != "jira:issue_updated":
            return outcome
        if linked or _is_bridge_issue(issue.fields):
            outcome.reasons.append(f"{issue.key} belongs to an incident already (or the bridge created it)")
            return outcome
        site = self.site_named(connector)
        if payload.actor_account_id and payload.actor_account_id == site.metadata.integration_account_id():
            outcome.reasons.append(f"{issue.key} was changed by the bridge's own account")
            return outcome
        for rule in rules:
            if not created and not rule.on_update:
                continue
            reason = self.state.disabled_reason(rule.name)
            if reason:
                outcome.reasons.append(f"rule {rule.name} is disabled: {reason}")
                continue
            if not self._matches(site, rule, issue.key, issue.id, outcome):
                continue
            # Claim, publish, then mark published: a publish that fails is redone on the retry (the
            # dedup key makes the repeat harmless), and an issue is never left claimed but unasked.
            claim = self.state.claim_origin(connector, issue.id, rule.name)
            if claim == "published":
                outcome.reasons.append(f"{issue.key} already has an incident requested")
                return outcome
            if claim == "new":
                hour = self.clock().strftime("%Y-%m-%dT%H")
                fired = self.state.count_firing(rule.name, hour)
                if fired > rule.max_per_hour:
                    why = (f"fired {fired} times in the hour {hour}:00Z (limit {rule.max_per_hour}); "
                           "re-enable once checked")
                    self.state.disable(rule.name, why)
                    self.state.release_origin(connector, issue.id)  # asked again once re-enabled
                    outcome.reasons.append(f"rule {rule.name} switched off: {why}")
                    continue
            request = self._request(connector, site, rule, payload)
            self.publisher.publish_create(request)
            self.state.mark_published(connector, issue.id)
            outcome.fired.append(rule.name)
            outcome.requests.append(request)
            return outcome  # one incident per issue: the first matching rule wins
        return outcome

    def _matches(self, site: JiraSite, rule: JiraRule, key: str, issue_id: str, outcome: RuleOutcome) -> bool:
        """Ask Jira whether the issue matches the rule, read-after-write: a fresh issue is not in the
        search index yet, so its id goes in `reconcileIssues` (never missed, however new)."""
        try:
            page = site.client.search_jql(f"key = {key} AND ({rule.jql})", fields=["summary"], max_results=1,
                                          reconcile_issues=[int(issue_id)] if issue_id.isdigit() else None)
        except JiraRequestRefused as error:
            outcome.reasons.append(f"rule {rule.name}: Jira refused its JQL: {error.details}")
            return False
        return bool(page.issues)

    def _request(self, connector: str, site: JiraSite, rule: JiraRule,
                 payload: JiraWebhookPayload) -> IncidentCreateRequested:
        assert payload.issue is not None
        issue = payload.issue
        context: dict[str, Any] = {"issue": {"key": issue.key, "id": issue.id, "fields": issue.fields},
                                   "rule": {"name": rule.name}}
        rendered = render_value(rule.incident.model_dump(), context)
        return IncidentCreateRequested(
            request_id=f"jira-{connector}-{issue.id}",
            dedup_key=f"jira-{connector}-{issue.id}",
            rule=rule.name,
            requested_at=self.clock(),
            title=str(rendered["title"]),
            description=str(rendered["description"]),
            priority=_text(rendered.get("priority")),
            severity=_text(rendered.get("severity")),
            service=_text(rendered.get("service")),
            origin=JiraOrigin(connector=connector, issue_id=issue.id, issue_key=issue.key,
                              issue_url=f"{site.client.transport.base_url}/browse/{issue.key}",
                              actor_account_id=payload.actor_account_id,
                              actor_name=payload.user.display_name if payload.user else None),
        )


def _is_bridge_issue(fields: dict[str, Any]) -> bool:
    return any(str(label).startswith(MARKER_LABEL_PREFIX) for label in fields.get("labels") or [])


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None

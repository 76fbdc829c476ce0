"""Jira -> incident decisions against the simulator: reverse mappings, users, rules, reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from jira_bridge.adapters import jira_client_for
from jira_bridge.incidents.jira_metadata import JiraMetadata
from jira_bridge.incidents.runbooks import RunbookSet
from jira_bridge.incidents.sync import IncidentSync, JiraSite
from jira_bridge.publishing import RecordingPublisher
from jira_bridge.webhooks.intake import process_delivery
from jira_bridge.webhooks.jira_changes import JiraChangeSync, JiraDelivery
from jira_bridge.webhooks.jira_payload import JiraWebhookPayload
from jira_bridge.webhooks.jira_rules import JiraRuleEngine
from jira_bridge.webhooks.reconcile import Reconciler
from jira_bridge.webhooks.rule_state import DynamoRuleState
from jira_sim.seed import ALICE_EMAIL, BOB_EMAIL
from local_runtime.environment import LocalEnvironment
from tests.integration.conftest import BOTH_SITES, cloud_hides_emails, connector_as, site_user_id, site_user_ref
from tests.integration.test_incident_sync import FOLLOW, event, link_store

pytestmark = [pytest.mark.integration, BOTH_SITES]  # every test runs against Cloud and Data Center

INBOUND = FOLLOW + """
inbound: {allow_reopen: false}
jira_rules:
  - name: customer-outage
    jql: 'project = PAY AND priority = Highest'
    max_per_hour: 2
    incident: {title: "[jira] {{ issue.fields.summary }}", priority: P1, service: payments}
"""


class Bridge:
    """The Jira -> incident side wired to the simulator, the moto link table and a recording publisher."""

    def __init__(self, env: LocalEnvironment, runbooks: str = INBOUND) -> None:
        self.env = env
        self.runbooks = RunbookSet.model_validate(yaml.safe_load(runbooks))
        client = jira_client_for(connector_as(env))
        self.site = JiraSite(connector="default", client=client, metadata=JiraMetadata(client))
        self.links = link_store(env)
        self.published = RecordingPublisher()
        self.changes = JiraChangeSync(self.runbooks, self.links, lambda _c: self.site, self.published)
        self.rules = JiraRuleEngine(self.runbooks, lambda _c: self.site,
                                    DynamoRuleState(env.stack.physical_name("LinkTable"),
                                                    lambda: env.aws.client("dynamodb")), self.published)
        self.outbound = IncidentSync(self.runbooks, self.links, lambda _p: self.site, lambda _n: self.site)

    def deliver(self, webhook_event: str, key: str, actor: str | None = ALICE_EMAIL, **extra: Any) -> Any:
        issue = self.env.jira.as_user(ALICE_EMAIL).call("GET", f"/rest/api/3/issue/{key}")
        body: dict[str, Any] = {"webhookEvent": webhook_event,
                                "issue": {"id": issue["id"], "key": key, "fields": issue["fields"]}, **extra}
        if actor:
            user = self.env.jira.user(actor)
            body["user"] = {**site_user_ref(self.env, actor), "displayName": user.display_name}
        delivery = JiraDelivery("default", JiraWebhookPayload.model_validate(body), delivery_id=f"d-{key}")
        return process_delivery(delivery, self.changes, self.rules)


@pytest.fixture
def bridge(env: LocalEnvironment) -> Bridge:
    b = Bridge(env)
    b.outbound.handle(event(1))  # INC-1 -> OPS-1, incident triggered
    return b


def test_unmapped_jira_status_is_reported_not_guessed(bridge: Bridge) -> None:
    bridge.env.jira.as_user(ALICE_EMAIL).move_to("OPS-1", "In Review")
    result = bridge.deliver("jira:issue_updated", "OPS-1")
    assert bridge.published.updates == []
    assert any("'In Review' has no mapping back" in r for r in result.reasons)


def test_ambiguous_mapping_is_reported(env: LocalEnvironment) -> None:
    ambiguous = INBOUND.replace("acknowledged: In Progress,", "acknowledged: In Progress, investigating: In Progress,")
    b = Bridge(env, ambiguous)
    b.outbound.handle(event(1))
    env.jira.as_user(ALICE_EMAIL).move_to("OPS-1", "In Progress")
    result = b.deliver("jira:issue_updated", "OPS-1")
    assert any("ambiguous" in r for r in result.reasons)


def test_status_never_moves_backwards_unless_reopen_is_allowed(env: LocalEnvironment) -> None:
    for allow, expected in ((False, []), (True, ["triggered"])):
        env.reset()
        b = Bridge(env, INBOUND.replace("allow_reopen: false", f"allow_reopen: {str(allow).lower()}"))
        b.outbound.handle(event(1, state="resolved"))  # issue created straight into Done
        env.jira.as_user(ALICE_EMAIL).transition("OPS-1", "Reopen")
        result = b.deliver("jira:issue_updated", "OPS-1")
        assert [u.state for u in b.published.updates] == expected, result.reasons


def test_hidden_email_assignee_maps_through_the_user_table(env: LocalEnvironment) -> None:
    cloud_hides_emails(env)
    users = f"mappings:\n  users: {{accounts: {{'{BOB_EMAIL}': {site_user_id(env, BOB_EMAIL)}}}}}"
    b = Bridge(env, INBOUND.replace("mappings:", users))
    b.outbound.handle(event(1))
    env.jira.as_user(ALICE_EMAIL).edit("OPS-1", {"assignee": site_user_ref(env, BOB_EMAIL)})
    b.deliver("jira:issue_updated", "OPS-1")
    assert [u.owner_email for u in b.published.updates] == [BOB_EMAIL]


def test_unknown_user_leaves_the_owner_unchanged(bridge: Bridge) -> None:
    cloud_hides_emails(bridge.env)  # hidden email, no mapping
    bridge.env.jira.as_user(ALICE_EMAIL).edit("OPS-1", {"assignee": site_user_ref(bridge.env, BOB_EMAIL)})
    result = bridge.deliver("jira:issue_updated", "OPS-1")
    assert bridge.published.updates == []
    assert any("owner was left unchanged" in r for r in result.reasons)
    [note] = bridge.published.notes  # and the incident's timeline says so
    assert "Bob Private has no visible email" in note.text


# ----- incidents from Jira ------------------------------------------------------------------------


def create_pay_issue(env: LocalEnvironment, priority: str = "Highest") -> str:
    return env.jira.as_user(ALICE_EMAIL).create_issue("PAY", "Card payments failing", "Task",
                                                      priority={"name": priority})


def test_a_matching_issue_requests_one_incident_ever(bridge: Bridge) -> None:
    key = create_pay_issue(bridge.env)
    result = bridge.deliver("jira:issue_created", key)
    assert result.disposition == "incident-requested"
    [request] = bridge.published.creates
    assert request.title == "[jira] Card payments failing"
    assert request.priority == "P1"
    assert request.origin.issue_key == key
    bridge.deliver("jira:issue_created", key)  # redelivered, or created event seen twice
    assert len(bridge.published.creates) == 1


def test_an_issue_not_matching_the_jql_requests_nothing(bridge: Bridge) -> None:
    key = create_pay_issue(bridge.env, priority="Low")
    bridge.deliver("jira:issue_created", key)
    assert bridge.published.creates == []


def test_issues_the_bridge_created_never_spawn_incidents(env: LocalEnvironment) -> None:
    b = Bridge(env, INBOUND.replace("project = PAY AND priority = Highest", "project = OPS"))
    b.outbound.handle(event(1, incident_id="INC-9"))  # OPS-1, made by the bridge
    b.deliver("jira:issue_created", "OPS-1", actor=None)
    assert b.published.creates == []


def test_the_circuit_breaker_switches_a_noisy_rule_off(bridge: Bridge) -> None:
    keys = [create_pay_issue(bridge.env) for _ in range(4)]
    results = [bridge.deliver("jira:issue_created", key) for key in keys]
    assert len(bridge.published.creates) == 2  # max_per_hour
    assert any("switched off" in r for r in results[2].reasons)
    assert any("is disabled" in r for r in results[3].reasons)


# ----- reconciliation -----------------------------------------------------------------------------


class MemoryCheckpoints:
    def __init__(self) -> None:
        self.at: dict[str, datetime] = {}

    def get(self, connector: str) -> datetime | None:
        return self.at.get(connector)

    def set(self, connector: str, at: datetime) -> None:
        self.at[connector] = at


def test_reconciliation_replays_a_missed_webhook_once(bridge: Bridge) -> None:
    # Jira resolves the issue and comments while the webhook never reaches us.
    alice = bridge.env.jira.as_user(ALICE_EMAIL)
    alice.comment("OPS-1", "Fixed by rollback.")
    alice.move_to("OPS-1", "Done")
    checkpoints = MemoryCheckpoints()
    checkpoints.set("default", datetime.now(UTC) - timedelta(minutes=10))
    reconciler = Reconciler(bridge.links, lambda _c: bridge.site, bridge.changes, checkpoints)

    report = reconciler.run("default", ["OPS"])
    assert report.linked == 1
    assert report.requests == 2
    assert [u.state for u in bridge.published.updates if u.state] == ["resolved"]
    assert [u.note.text for u in bridge.published.updates if u.note] == ["Fixed by rollback."]

    again = reconciler.run("default", ["OPS"])  # the next run (or a late webhook) changes nothing
    assert again.requests == 0
    assert len(bridge.published.updates) == 2


def test_an_incident_opened_from_a_jira_issue_links_to_it_instead_of_creating(bridge: Bridge) -> None:
    key = create_pay_issue(bridge.env)
    bridge.deliver("jira:issue_created", key)
    [request] = bridge.published.creates
    opened = event(1, incident_id="INC-FROM-JIRA").model_copy(deep=True)
    opened.incident.custom_fields["jira_issue_key"] = request.origin.issue_key
    result = bridge.outbound.handle(opened)
    assert result.issue_key == key
    assert [i.key for i in bridge.env.jira.issues()] == ["OPS-1", key]  # no third issue
    link = bridge.links.get_by_issue("default", request.origin.issue_id)
    assert link is not None
    assert link.incident_id == "INC-FROM-JIRA"
    assert link.project_key == "PAY"


def test_a_field_nobody_changed_is_never_sent_back(env: LocalEnvironment) -> None:
    # Priority comes from the severity outbound (SEV3 -> Medium) but maps back through the priority
    # table (Medium -> P3): re-sending it would overwrite the incident's P1 though nobody touched it.
    b = Bridge(env)
    b.outbound.handle(event(1, severity="SEV3"))
    env.jira.as_user(ALICE_EMAIL).edit("OPS-1", {"summary": "Checkout down (EU only)"})
    summary_edit = {"field": "summary", "fieldId": "summary", "toString": "Checkout down (EU only)"}
    b.deliver("jira:issue_updated", "OPS-1", changelog={"id": "1", "items": [summary_edit]})
    checkpoints = MemoryCheckpoints()
    checkpoints.set("default", datetime.now(UTC) - timedelta(minutes=5))
    Reconciler(b.links, lambda _c: b.site, b.changes, checkpoints).run("default", ["OPS"])
    assert b.published.updates == []


def test_the_same_change_on_two_incidents_has_two_request_ids(env: LocalEnvironment) -> None:
    b = Bridge(env)
    b.outbound.handle(event(1, incident_id="INC-A"))
    b.outbound.handle(event(1, incident_id="INC-B"))
    alice = env.jira.as_user(ALICE_EMAIL)
    alice.move_to("OPS-1", "Done")
    alice.move_to("OPS-2", "Done")
    checkpoints = MemoryCheckpoints()
    checkpoints.set("default", datetime.now(UTC) - timedelta(minutes=5))
    Reconciler(b.links, lambda _c: b.site, b.changes, checkpoints).run("default", ["OPS"])
    ids = {u.incident_id: u.request_id for u in b.published.updates}
    assert set(ids) == {"INC-A", "INC-B"}
    assert ids["INC-A"] != ids["INC-B"]


def test_a_failed_publish_is_redone_on_the_retry(bridge: Bridge) -> None:
    key = create_pay_issue(bridge.env)
    recorded = bridge.published

    class FailsOnce:
        failed = False

        def publish_create(self, request: Any) -> None:
            if not self.failed:
                self.failed = True
                raise RuntimeError("EventBridge throttled")
            recorded.publish_create(request)

    bridge.rules.publisher = FailsOnce()
    with pytest.raises(RuntimeError):
        bridge.deliver("jira:issue_created", key)
    bridge.deliver("jira:issue_created", key)  # the SQS retry
    bridge.deliver("jira:issue_created", key)  # and a later duplicate
    assert [c.origin.issue_key for c in recorded.creates] == [key]


def test_an_issue_refused_by_the_breaker_is_asked_again_once_re_enabled(bridge: Bridge) -> None:
    keys = [create_pay_issue(bridge.env) for _ in range(3)]
    for key in keys:
        bridge.deliver("jira:issue_created", key)
    assert len(bridge.published.creates) == 2
    bridge.env.aws.client("dynamodb").delete_item(  # an operator re-enables the rule
        TableName=bridge.env.stack.physical_name("LinkTable"), Key={"pk": {"S": "rule-disabled#customer-outage"}})
    bridge.rules.clock = lambda: datetime.now(UTC) + timedelta(hours=1)  # a new hour's budget
    bridge.deliver("jira:issue_created", keys[2])
    assert [c.origin.issue_key for c in bridge.published.creates] == keys

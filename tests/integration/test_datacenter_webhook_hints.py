"""Jira Data Center 9.x cannot sign webhooks: with `webhook_auth: hint` a delivery only names an issue
to re-read with the connector's credentials. A forged hint can cause a read, never a change.

On the local SQS model and a simulated clock: the per-issue interval between re-reads is the
deployed default (30 s), a deferred hint waits in its queue for exactly that, and no test sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from jira_bridge.settings import JiraChangesSettings
from jira_sim.seed import ALICE_EMAIL
from local_runtime.clock import SimClock
from local_runtime.environment import LocalEnvironment
from tests.integration.test_jira_to_incident import incident_event, settle

pytestmark = pytest.mark.integration

INTERVAL = JiraChangesSettings.model_fields["hint_min_interval_seconds"].default  # what a stack runs with


@pytest.fixture
def dc9(model_environment: LocalEnvironment) -> Iterator[LocalEnvironment]:
    """A Jira Data Center 9.12 site (unsigned webhooks) whose connector takes deliveries as hints,
    with INC-1042 open, acknowledged and followed by OPS-1."""
    env = model_environment
    env.reset(site="datacenter", dc_version=(9, 12, 15))
    env.aws.put_secret(env.connector_secret_name("default"), {**env.connector_secret(), "webhook_auth": "hint"})
    env.put_events([incident_event(1, "triggered", {"kind": "created"})])
    env.put_events([incident_event(2, "acknowledged", {"kind": "field_changed", "field": "state",
                                                        "old_value": "triggered", "new_value": "acknowledged"})])
    for _ in range(3):  # the bridge's own hints: read, deferred ones read once the interval has passed
        settle(env)
        clock(env).advance(2 * INTERVAL)
    assert settle(env) == []
    yield env
    env.reset(site="cloud")


def clock(env: LocalEnvironment) -> SimClock:
    assert isinstance(env.clock, SimClock)
    return env.clock


def post(env: LocalEnvironment, payload: dict[str, Any]) -> requests.Response:
    return requests.post(env.api.url("/webhooks/jira"), data=json.dumps(payload).encode(), timeout=10)


def test_an_unsigned_delivery_from_jira_is_acted_on_through_a_re_read(dc9: LocalEnvironment) -> None:
    assert all("X-Hub-Signature" not in d.headers for d in dc9.jira.webhooks.deliveries), "9.x cannot sign"
    dc9.jira.as_user(ALICE_EMAIL).move_to("OPS-1", "Done")
    assert [(r["incident_id"], r["state"]) for r in settle(dc9)] == [("INC-1042", "resolved")]


def test_a_forged_hint_changes_nothing(dc9: LocalEnvironment) -> None:
    issue = dc9.jira.issue("OPS-1")
    forged = {"webhookEvent": "jira:issue_updated", "issue": {"id": issue.id, "key": "OPS-1", "fields": {
        "status": {"name": "Done"}}}, "changelog": {"items": [{"field": "status", "toString": "Done"}]}}
    assert post(dc9, forged).status_code == 202
    assert settle(dc9) == [], "Jira says In Progress, which the incident already has"


def test_a_burst_of_hints_is_one_read_and_a_later_change_is_still_read(dc9: LocalEnvironment) -> None:
    issue_id = dc9.jira.issue("OPS-1").id
    dc9.jira.reset_log()
    for n in range(5):  # five different (forged) bodies naming the same issue
        hint = {"webhookEvent": "jira:issue_updated", "timestamp": n, "issue": {"id": issue_id}}
        assert post(dc9, hint).status_code == 202
    settle(dc9)
    assert _issue_reads(dc9, issue_id) == 1
    # A real change a second after that read waits out the rest of the interval in its queue, then is read.
    clock(dc9).advance(1)
    dc9.jira.as_user(ALICE_EMAIL).move_to("OPS-1", "Done")
    assert settle(dc9) == []
    clock(dc9).advance(INTERVAL - 2)  # one second short of the interval since the read
    assert settle(dc9) == [], "read again before the interval had passed"
    assert _issue_reads(dc9, issue_id) == 1
    clock(dc9).advance(1 + INTERVAL // 10 + 2)  # the interval, plus the queue's Retry-After jitter (<= 10%, >= 1 s)
    assert [(r["incident_id"], r["state"]) for r in settle(dc9)] == [("INC-1042", "resolved")]
    assert _issue_reads(dc9, issue_id) == 2


def _issue_reads(env: LocalEnvironment, issue_id: str) -> int:
    return sum(1 for r in env.jira.requests if r.method == "GET" and r.path == f"/rest/api/2/issue/{issue_id}")


def test_a_hint_for_an_issue_the_bridge_does_not_follow_reads_nothing(dc9: LocalEnvironment) -> None:
    dc9.jira.reset_log()
    assert post(dc9, {"webhookEvent": "jira:issue_updated", "issue": {"id": "99999"}}).status_code == 202
    assert post(dc9, {"webhookEvent": "jira:issue_updated", "issue": {"id": "../etc"}}).status_code == 400
    settle(dc9)
    assert dc9.jira.count("GET") == 0

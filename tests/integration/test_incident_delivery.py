"""Incident delivery as deployed, on the local SQS model and a simulated clock (not mocks): the bus,
the router, one FIFO message group per incident, the worker's per-message backoff, the DLQ.

What an operator would see: an outage longer than Jira's own retry window ends with every event
applied in order and nothing parked; one incident failing never delays the others.
"""

from __future__ import annotations

from typing import Any

import pytest

from jira_bridge.incidents.events import IncidentChanged
from jira_sim.adf import to_plain_text
from jira_sim.seed import ALICE_EMAIL
from local_runtime.environment import LocalEnvironment
from tests.integration.test_incident_sync import event

pytestmark = pytest.mark.integration


@pytest.fixture
def env(model_environment: LocalEnvironment) -> LocalEnvironment:
    model_environment.reset()
    return model_environment


def publish(env: LocalEnvironment, *events: IncidentChanged) -> None:
    bus = str(env.stack.resolve({"Ref": "IncidentBus"}))
    entries = [{"Source": "incident.tool", "DetailType": "Incident Changed", "Detail": e.model_dump(mode="json"),
                "EventBusName": bus} for e in events]
    for start in range(0, len(entries), 10):  # PutEvents takes 10 entries at most
        env.put_events(entries[start:start + 10])


def story(incident_id: str, custom_fields: dict[str, Any] | None = None) -> list[IncidentChanged]:
    """created, acknowledged, a note, resolved: what a real incident does in its first minutes."""
    note = {"id": f"{incident_id}-note", "text": f"rolled back ({incident_id})", "author": {"name": "Alice"}}
    created = event(1, incident_id=incident_id)
    created.incident.custom_fields.update(custom_fields or {})
    return [
        created,
        event(2, "field_changed", state="acknowledged", field="state", old="triggered", new="acknowledged",
              incident_id=incident_id),
        event(3, "note_added", state="acknowledged", note=note, incident_id=incident_id),
        event(4, "field_changed", state="resolved", field="state", old="acknowledged", new="resolved",
              incident_id=incident_id),
    ]


def status_of(env: LocalEnvironment, key: str) -> str:
    issue: dict[str, Any] = env.jira.as_user(ALICE_EMAIL).call("GET", f"/rest/api/3/issue/{key}")
    return str(issue["fields"]["status"]["name"])


def issue_of(env: LocalEnvironment, incident_id: str) -> Any:
    found = [i for i in env.jira.issues() if f"jira-bridge-{incident_id}" in (i.fields.get("labels") or [])]
    return found[0] if len(found) == 1 else None


def parked(env: LocalEnvironment) -> int:
    attributes = env.sqs.get_queue_attributes(QueueUrl=env.stack.queue_urls["IncidentEventsDLQ"],
                                              AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def assert_resolved_with_one_note(env: LocalEnvironment, incident_id: str) -> None:
    issue = issue_of(env, incident_id)
    assert issue is not None, f"{incident_id} has no issue"
    assert status_of(env, issue.key) == "Done"
    notes = [to_plain_text(c.body) for c in issue.comments if "rolled back" in to_plain_text(c.body)]
    assert len(notes) == 1, f"{incident_id}: {notes}"


def test_a_six_hour_jira_outage_ends_with_everything_applied_and_nothing_parked(env: LocalEnvironment) -> None:
    env.jira.faults.outage(seconds=6 * 3600)
    started = env.clock.monotonic()
    incidents = [f"INC-OUT-{n}" for n in range(3)]
    publish(env, *[e for incident in incidents for e in story(incident)])
    env.drain()
    assert env.jira.issues() == []

    env.event_sources.run_until_idle(max_sim_seconds=12 * 3600)

    assert env.clock.monotonic() - started >= 6 * 3600
    for incident in incidents:
        assert_resolved_with_one_note(env, incident)
    assert len(env.jira.issues()) == 3
    assert parked(env) == 0


def test_one_failing_incident_delays_only_itself(env: LocalEnvironment) -> None:
    existing = env.jira.as_user(ALICE_EMAIL).create_issue("OPS", "Opened in Jira first", "Incident",
                                                              customfield_10041={"value": "SEV2"})
    # Only the broken incident's requests fail: it is linked to an issue Jira cannot serve for 20 min.
    env.jira.faults.server_error(503, count=None, seconds=20 * 60, path=f"/rest/api/3/issue/{existing}*")
    broken = story("INC-BROKEN", custom_fields={"jira_issue_key": existing})
    healthy = [e for incident in ("INC-A", "INC-B", "INC-C") for e in story(incident)]
    publish(env, *broken, *healthy)
    started = env.clock.monotonic()

    env.drain()  # what is deliverable now, with no simulated time passing

    for incident in ("INC-A", "INC-B", "INC-C"):
        assert_resolved_with_one_note(env, incident)
    assert env.clock.monotonic() - started < 5
    assert env.jira.issue(existing).comments == []  # the broken incident's note waits behind its link

    env.event_sources.run_until_idle(max_sim_seconds=3 * 3600)

    assert env.clock.monotonic() - started >= 20 * 60
    assert status_of(env, existing) == "Done"
    assert [to_plain_text(c.body) for c in env.jira.issue(existing).comments if "rolled back" in
            to_plain_text(c.body)] == ["rolled back (INC-BROKEN) (Alice)"]
    assert parked(env) == 0


def test_an_incident_failing_past_its_receives_is_redriven_then_replayed_in_order(env: LocalEnvironment) -> None:
    """The one thing a retry never fixes on its own: Jira failing one incident for more than a day.
    SQS redrives its events after maxReceiveCount; the runbook's `dlq replay` brings them back, in order."""
    from jira_bridge_cli.dlq_commands import Resources, Selection, run_list, run_replay

    existing = env.jira.as_user(ALICE_EMAIL).create_issue("OPS", "Opened in Jira first", "Incident",
                                                          customfield_10041={"value": "SEV2"})
    env.jira.faults.server_error(503, count=None, seconds=40 * 3600, path=f"/rest/api/3/issue/{existing}*")
    publish(env, *story("INC-STUCK", custom_fields={"jira_issue_key": existing}), *story("INC-FINE"))
    env.drain()
    assert_resolved_with_one_note(env, "INC-FINE")

    env.event_sources.run_until_idle(max_sim_seconds=40 * 3600)
    assert parked(env) == 4  # created, acknowledged, note, resolved: redriven in their group, in order
    assert env.jira.issue(existing).comments == []

    resources = Resources(lambda service: env.sqs if service == "sqs" else env.aws.client(service),
                          env.stack.queue_urls.get, local=True)
    assert run_list(resources, "incident-events", Selection(incident="INC-STUCK"), as_json=False,
                    now=env.clock.time) == 0
    env.jira.faults.clear()  # Jira is fixed; an hour later an operator replays
    env.clock.advance(3600)
    for _ in range(2):  # replaying twice changes nothing more
        assert run_replay(resources, "incident-events", Selection(incident="INC-STUCK"), dry_run=False,
                          now=env.clock.time) == 0
        env.drain()
    assert parked(env) == 0
    assert status_of(env, existing) == "Done"
    notes = [to_plain_text(c.body) for c in env.jira.issue(existing).comments if "rolled back" in to_plain_text(c.body)]
    assert notes == ["rolled back (INC-STUCK) (Alice)"]


def test_a_burst_reaches_the_final_state_in_the_fewest_writes_and_keeps_every_comment(env: LocalEnvironment) -> None:
    created, acknowledged, _, resolved = story("INC-BURST")
    publish(env, created)
    env.drain()
    env.jira.reset_log()
    raised = event(5, "field_changed", severity="SEV1", field="severity", old="SEV2", new="SEV1",
                   incident_id="INC-BURST")
    lowered = event(6, "field_changed", severity="SEV3", field="severity", old="SEV1", new="SEV3",
                    incident_id="INC-BURST")
    resolved = resolved.model_copy(update={"sequence": 7})
    publish(env, acknowledged, raised, lowered, resolved)  # arrive together: one batch of the incident's group
    env.drain()

    issue = issue_of(env, "INC-BURST")
    assert status_of(env, issue.key) == "Done"
    said = [to_plain_text(c.body) for c in issue.comments]
    # the state changes both apply (each posts a comment people read); the severity burst is one edit
    assert [s for s in said if "is now" in s] == ["Incident INC-BURST is now acknowledged (Dana).",
                                                  "Incident INC-BURST is now resolved (Dana)."]
    writes = [(r.method, r.path.rsplit("/", 1)[-1]) for r in env.jira.requests if r.method != "GET"]
    assert sorted(writes) == [("POST", "transitions")] * 3 + [("PUT", issue.id)]
    final = env.jira.as_user(ALICE_EMAIL).call("GET", f"/rest/api/3/issue/{issue.key}")["fields"]
    assert final["priority"]["name"] == "Medium"  # SEV3, the newest severity

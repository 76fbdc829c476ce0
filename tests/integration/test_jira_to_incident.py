"""Jira -> incident, end to end: signed webhooks from the simulator through API Gateway, the changes
queue and JiraChangesFunction, to "Incident Update Requested" on the bus (moto)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from jira_sim.seed import ALICE_EMAIL
from jira_sim.webhooks import sign
from local_runtime.environment import LOCAL_WEBHOOK_SECRET, TEMPLATE, LocalEnvironment
from local_runtime.stack import Stack
from tests.integration.conftest import BOTH_SITES

pytestmark = [pytest.mark.integration, BOTH_SITES]  # every test runs against Cloud and Data Center

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT.parent / "shared" / "contracts" / "jira-webhooks"
LOCAL_BUS = str(Stack(TEMPLATE).resolve({"Ref": "IncidentBus"}))  # <stack>-incidents, as the local stack names it


def incident_event(sequence: int, state: str, change: dict[str, Any]) -> dict[str, Any]:
    event = json.loads((ROOT / "events" / "incident-created.eventbridge.json").read_text())
    event["detail"].update(event_id=f"evt-{sequence}", sequence=sequence, change=change)
    event["detail"]["incident"]["state"] = state
    return {"Source": event["source"], "DetailType": event["detail-type"], "Detail": event["detail"],
            "EventBusName": LOCAL_BUS}


def settle(env: LocalEnvironment) -> list[dict[str, Any]]:
    """Let Jira deliver its webhooks, run every queue, and return what the incident tool received."""
    for _ in range(3):
        env.jira.webhooks.wait_idle(timeout=5)
        env.drain()
    return [r["detail"] for r in env.incident_requests()]


@pytest.fixture
def linked(env: LocalEnvironment) -> LocalEnvironment:
    """INC-1042 is open and acknowledged, and OPS-1 follows it (all made by the bridge)."""
    env.put_events([incident_event(1, "triggered", {"kind": "created"})])
    env.put_events([incident_event(2, "acknowledged", {"kind": "field_changed", "field": "state",
                                                        "old_value": "triggered", "new_value": "acknowledged"})])
    settle(env)
    return env


def post(env: LocalEnvironment, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(env.api.url("/webhooks/jira"), data=body, headers=headers, timeout=10)


# ----- receiving ------------------------------------------------------------------------------------


@pytest.mark.parametrize("capture", ["jira-issue_updated.status-transition.cloud.json", "comment_created.cloud.json",
                                     "more/jenkins-jira-trigger.issue_updated.status_todo_to_done.resolution_fixed"
                                     ".server.json"])
def test_real_payloads_signed_are_accepted_forged_are_401(env: LocalEnvironment, capture: str) -> None:
    body = (CAPTURES / capture).read_bytes()
    assert post(env, body, {"X-Hub-Signature": sign(body, LOCAL_WEBHOOK_SECRET),
                            "X-Atlassian-Webhook-Identifier": "d-1"}).status_code == 202
    assert post(env, body, {"X-Hub-Signature": sign(body, "wrong-secret")}).status_code == 401
    assert post(env, body, {}).status_code == 401
    tampered = body.replace(b"In Progress", b"Done").replace(b"comment", b"Comment")
    assert post(env, tampered, {"X-Hub-Signature": sign(body, LOCAL_WEBHOOK_SECRET)}).status_code == 401
    # only the signed delivery was queued; it names no linked issue, so it changes nothing
    assert settle(env) == []


def test_base64_bodies_are_verified_on_their_decoded_bytes(env: LocalEnvironment) -> None:
    body = (CAPTURES / "comment_created.cloud.json").read_bytes()
    event = json.loads((ROOT / "events" / "jira-webhook.apigw-signed.json").read_text())
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    event["headers"]["X-Hub-Signature"] = sign(body, LOCAL_WEBHOOK_SECRET)
    assert env.runner.invoke("JiraWebhookFunction", event)["statusCode"] == 202
    event["headers"]["X-Hub-Signature"] = sign(body + b" ", LOCAL_WEBHOOK_SECRET)
    assert env.runner.invoke("JiraWebhookFunction", event)["statusCode"] == 401


def test_sample_events_are_accepted_and_refused_as_labelled(env: LocalEnvironment) -> None:
    signed = json.loads((ROOT / "events" / "jira-webhook.apigw-signed.json").read_text())
    forged = json.loads((ROOT / "events" / "jira-webhook.apigw-forged.json").read_text())
    assert env.runner.invoke("JiraWebhookFunction", signed)["statusCode"] == 202
    assert env.runner.invoke("JiraWebhookFunction", forged)["statusCode"] == 401


def test_oversized_body_is_413(env: LocalEnvironment) -> None:
    body = b'{"webhookEvent":"x","pad":"' + b"a" * 300_000 + b'"}'
    assert post(env, body, {"X-Hub-Signature": sign(body, LOCAL_WEBHOOK_SECRET)}).status_code == 413


# ----- applying ---------------------------------------------------------------------------------------


def test_the_bridges_own_changes_come_back_as_echoes(linked: LocalEnvironment) -> None:
    deliveries = [d for d in linked.jira.webhooks.deliveries if d.status == 202]
    assert len(deliveries) >= 3, "created, transitioned and commented on by the bridge"
    assert settle(linked) == []


def test_a_human_resolving_the_issue_resolves_the_incident(linked: LocalEnvironment) -> None:
    linked.jira.as_user(ALICE_EMAIL).move_to("OPS-1", "Done")
    requests_made = settle(linked)
    assert [(r["incident_id"], r["state"]) for r in requests_made] == [("INC-1042", "resolved")]
    origin = requests_made[0]["origin"]
    assert origin["issue_key"] == "OPS-1"
    assert origin["actor_name"] == "Alice Oncall"


def test_human_comments_become_notes_once_and_ours_never_do(linked: LocalEnvironment) -> None:
    comment = linked.jira.as_user(ALICE_EMAIL).comment("OPS-1", "Customer confirms recovery.")
    requests_made = settle(linked)
    notes = [r["note"] for r in requests_made if r["note"]]
    assert notes == [{"text": "Customer confirms recovery.", "jira_comment_id": comment["id"],
                      "author_name": "Alice Oncall", "jira_visibility": None}]  # OPS is not a JSM project


def test_a_human_change_right_after_ours_still_applies(linked: LocalEnvironment) -> None:
    # The bridge just moved OPS-1 to In Progress; Alice raises the priority a moment later.
    linked.jira.as_user(ALICE_EMAIL).edit("OPS-1", {"priority": {"name": "High"}})
    requests_made = settle(linked)
    assert [(r["priority"], r["state"]) for r in requests_made] == [("P2", None)]


def test_a_redelivered_webhook_is_processed_once(linked: LocalEnvironment) -> None:
    linked.jira.as_user(ALICE_EMAIL).move_to("OPS-1", "Done")
    first = settle(linked)
    assert len(first) == 1
    delivery = next(d for d in reversed(linked.jira.webhooks.deliveries) if d.status == 202)
    for _ in range(2):  # Jira retries with the same identifier
        assert post(linked, delivery.body, {**delivery.headers, "X-Atlassian-Webhook-Retry": "1"}).status_code == 202
    assert settle(linked) == []


def test_a_late_webhook_never_rolls_the_incident_back(linked: LocalEnvironment) -> None:
    alice = linked.jira.as_user(ALICE_EMAIL)
    alice.move_to("OPS-1", "In Review")
    late = next(d for d in reversed(linked.jira.webhooks.deliveries) if d.event == "jira:issue_updated")
    alice.move_to("OPS-1", "Done")
    assert [r["state"] for r in settle(linked)] == ["resolved"]
    # The In Review delivery arrives again, late and under a new id: the issue is read, it is Done.
    headers = {**late.headers, "X-Atlassian-Webhook-Identifier": "late-redelivery"}
    assert post(linked, late.body, headers).status_code == 202
    assert settle(linked) == []


def test_an_unknown_connector_name_is_refused_without_reading_secrets(env: LocalEnvironment) -> None:
    body = (CAPTURES / "comment_created.cloud.json").read_bytes()
    answer = requests.post(env.api.url("/webhooks/jira") + "?connector=anything-an-attacker-likes", data=body,
                           headers={"X-Hub-Signature": sign(body, LOCAL_WEBHOOK_SECRET)}, timeout=10)
    assert answer.status_code == 401

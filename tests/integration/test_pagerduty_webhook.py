"""PagerDuty V3 webhooks -> the incident bus -> Jira, through the stack's own wiring."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from jira_bridge.pagerduty.signature import sign
from local_runtime.environment import LOCAL_PAGERDUTY_SECRET, LocalEnvironment

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "contracts" / "pagerduty" / "webhooks-v3"


def post(env: LocalEnvironment, body: bytes, signature: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    return requests.post(env.api.url("/webhooks/pagerduty"), data=body, headers=headers, timeout=10)


def test_a_signed_triggered_incident_opens_a_jira_issue(env: LocalEnvironment) -> None:
    body = (SAMPLES / "incident.triggered.zulip.json").read_bytes()
    answer = post(env, body, sign(body, LOCAL_PAGERDUTY_SECRET))
    assert answer.status_code == 202, answer.text
    env.drain()
    [issue] = env.jira.issues()
    assert issue.properties["jira-bridge"]["incidentId"] == answer.json()["incident_id"]


def test_forged_unsigned_and_rotated_signatures(env: LocalEnvironment) -> None:
    body = (SAMPLES / "incident.acknowledged.zulip.json").read_bytes()
    assert post(env, body, sign(body, "not-our-secret")).status_code == 401
    assert post(env, body, None).status_code == 401
    rotated = f"{sign(body, 'old-secret-being-retired')},{sign(body, LOCAL_PAGERDUTY_SECRET)}"
    assert post(env, body, rotated).status_code == 202


def test_events_the_bridge_does_not_map_are_acknowledged_and_ignored(env: LocalEnvironment) -> None:
    body = (SAMPLES / "incident.conference_bridge.updated.zulip.json").read_bytes()
    answer = post(env, body, sign(body, LOCAL_PAGERDUTY_SECRET))
    assert answer.status_code == 200
    assert answer.json() == {"ignored": True}
    assert env.drain() == 0


def test_a_redelivered_event_is_published_once(env: LocalEnvironment) -> None:
    body = (SAMPLES / "incident.triggered.zulip.json").read_bytes()
    answers = [post(env, body, sign(body, LOCAL_PAGERDUTY_SECRET)) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert [a.json().get("duplicate") for a in answers] == [None, True, True]
    env.drain()
    assert len(env.jira.issues()) == 1


def test_hostile_bodies_signed_correctly_are_refused_or_survive(env: LocalEnvironment) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000  # 200 KB, under the 256 KB limit
    answer = post(env, deep, sign(deep, LOCAL_PAGERDUTY_SECRET))
    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["message"]
    # A lone surrogate (legal as a JSON escape, not encodable as UTF-8) no longer breaks publishing.
    body = (SAMPLES / "incident.triggered.zulip.json").read_text()
    body = body.replace('"title": "', '"title": "\\ud800', 1).encode()
    assert b"\\ud800" in body
    answer = post(env, body, sign(body, LOCAL_PAGERDUTY_SECRET))
    assert answer.status_code == 202, answer.text
    env.drain()
    [issue] = env.jira.issues()
    assert "\ufffd" in issue.fields["summary"]

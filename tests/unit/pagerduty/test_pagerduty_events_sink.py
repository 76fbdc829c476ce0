"""PagerDutyEventsSink: Events API v2 triggers with a dedup key, PagerDuty's refusals, retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from jira_bridge.pagerduty.credentials import parse_pagerduty_secret
from jira_bridge.pagerduty.errors import PagerDutyRefused
from jira_bridge.pagerduty.events_sink import MAX_SUMMARY, PagerDutyEventsSink
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import FakeTime
from tests.unit.pagerduty.pd_fakes import EVENTS, ROUTING_KEY

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]

ENQUEUE = f"{EVENTS}/v2/enqueue"
ACCEPTED = {"status": "success", "message": "Event processed", "dedup_key": "jira-bridge:OPS-42"}


def _sent(call: Any) -> Any:
    return json.loads(call.request.body)


def _trigger(sink: PagerDutyEventsSink, **overrides: object) -> str:
    arguments: dict[str, object] = {
        "routing_key": ROUTING_KEY,
        "dedup_key": "jira-bridge:OPS-42",
        "summary": "OPS-42 Checkout API 502s",
        "source": "jira-bridge",
        "severity": "critical",
        "custom_details": {"issue": "OPS-42", "rule": "sev1-bugs"},
        "links": [{"href": "https://acme.atlassian.net/browse/OPS-42", "text": "OPS-42"}],
    }
    arguments.update(overrides)
    return sink.trigger(**arguments)  # type: ignore[arg-type]


def test_a_trigger_carries_the_dedup_key_payload_and_links(
    mocked: FakeHttp, events_sink: PagerDutyEventsSink
) -> None:
    mocked.post(ENQUEUE, status=202, json=ACCEPTED)

    dedup_key = _trigger(events_sink, client="Jira", client_url="https://acme.atlassian.net/browse/OPS-42",
                         timestamp=datetime(2026, 11, 20, 10, 0, tzinfo=UTC))

    assert dedup_key == "jira-bridge:OPS-42"
    (call,) = mocked.calls
    assert _sent(call) == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "jira-bridge:OPS-42",
        "payload": {
            "summary": "OPS-42 Checkout API 502s",
            "source": "jira-bridge",
            "severity": "critical",
            "timestamp": "2026-11-20T10:00:00+00:00",
            "custom_details": {"issue": "OPS-42", "rule": "sev1-bugs"},
        },
        "links": [{"href": "https://acme.atlassian.net/browse/OPS-42", "text": "OPS-42"}],
        "client": "Jira",
        "client_url": "https://acme.atlassian.net/browse/OPS-42",
    }
    assert call.request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in call.request.headers  # the routing key in the body is the credential


def test_optional_parts_are_left_out(mocked: FakeHttp, events_sink: PagerDutyEventsSink) -> None:
    mocked.post(ENQUEUE, status=202, json={"status": "success", "message": "Event processed"})
    assert _trigger(events_sink, custom_details=None, links=None) == "jira-bridge:OPS-42"
    body = _sent(mocked.calls[0])
    assert set(body) == {"routing_key", "event_action", "dedup_key", "payload"}
    assert set(body["payload"]) == {"summary", "source", "severity"}


def test_a_long_summary_is_shortened_to_pagerdutys_limit(
    mocked: FakeHttp, events_sink: PagerDutyEventsSink
) -> None:
    mocked.post(ENQUEUE, status=202, json=ACCEPTED)
    _trigger(events_sink, summary="x" * 5000)
    summary = _sent(mocked.calls[0])["payload"]["summary"]
    assert len(summary) == MAX_SUMMARY
    assert summary.endswith("\u2026")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"severity": "high"}, "severity must be one of critical, error, warning, info"),
        ({"dedup_key": "k" * 256}, "dedup_key must be 1..255"),
        ({"dedup_key": ""}, "dedup_key must be 1..255"),
        ({"routing_key": ""}, "routing key"),
        ({"summary": " "}, "summary and a source"),
        ({"links": [{"text": "no href"}]}, "needs an href"),
    ],
)
def test_bad_arguments_are_refused_locally(
    mocked: FakeHttp, events_sink: PagerDutyEventsSink, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _trigger(events_sink, **overrides)
    assert not mocked.calls


def test_a_refusal_carries_pagerdutys_message_and_errors(
    mocked: FakeHttp, events_sink: PagerDutyEventsSink
) -> None:
    too_short = "Length of 'routing_key' is incorrect (should be 32 characters)"
    mocked.post(ENQUEUE, status=400,
                json={"status": "invalid event", "message": "Event object is invalid", "errors": [too_short]})
    with pytest.raises(PagerDutyRefused) as caught:
        _trigger(events_sink)
    assert str(caught.value) == ("PagerDuty refused POST /v2/enqueue (400): Event object is invalid; "
                                 "Length of 'routing_key' is incorrect (should be 32 characters)")
    assert ROUTING_KEY not in str(caught.value)
    assert len(mocked.calls) == 1  # a 400 is never retried


def test_429_and_5xx_are_retried_because_the_dedup_key_makes_repeats_harmless(
    mocked: FakeHttp, events_sink: PagerDutyEventsSink, fake_time: FakeTime
) -> None:
    mocked.post(ENQUEUE, status=429, headers={"Retry-After": "2"})
    mocked.post(ENQUEUE, status=502)
    mocked.post(ENQUEUE, status=202, json=ACCEPTED)

    assert _trigger(events_sink) == "jira-bridge:OPS-42"
    assert len(mocked.calls) == 3
    assert fake_time.sleeps == [2.25, 0.5]


def test_from_secret_points_at_the_configured_events_url(mocked: FakeHttp) -> None:
    secret = parse_pagerduty_secret("jira-bridge/test/pagerduty", {
        "api_token": "t", "from_email": "a@b.c", "events_api_url": "http://events.fake:9000"})
    mocked.post("http://events.fake:9000/v2/enqueue", status=202, json=ACCEPTED)
    assert _trigger(PagerDutyEventsSink.from_secret(secret)) == "jira-bridge:OPS-42"

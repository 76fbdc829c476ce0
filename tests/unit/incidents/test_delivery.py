"""Incident delivery: one message group per incident, retry delays, parking with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jira_bridge.incidents.delivery import IncidentQueue, InvalidIncidentEvent, superseded
from jira_bridge.queue_retries import (
    FIRST_RETRY_SECONDS,
    MAX_BACKOFF_SECONDS,
    MAX_VISIBILITY_SECONDS,
    FifoRetries,
    retry_delay,
)
from jira_bridge.sqs_ids import is_valid_sqs_id

pytestmark = pytest.mark.unit

EVENTS = Path(__file__).resolve().parents[3] / "events"


class RecordingSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.visibility: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, str]:
        self.sent.append(kwargs)
        return {"MessageId": str(len(self.sent))}

    def change_message_visibility(self, **kwargs: Any) -> None:
        self.visibility.append(kwargs)


def created(incident_id: str = "INC-1042") -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "incident-created.eventbridge.json").read_text())
    event["detail"]["incident"]["id"] = incident_id
    return event


def test_each_incident_is_queued_in_its_own_group_deduplicated_on_its_event_id() -> None:
    sqs = RecordingSqs()
    queue = IncidentQueue(sqs, "q.fifo", "dlq.fifo")
    queue.route(created("INC-1"))
    queue.route(created("INC-2"))
    queue.route(created("Ïncident with spaces"))
    groups = [m["MessageGroupId"] for m in sqs.sent]
    assert groups[:2] == ["incident#INC-1", "incident#INC-2"]
    assert all(is_valid_sqs_id(m["MessageGroupId"]) and is_valid_sqs_id(m["MessageDeduplicationId"])
               for m in sqs.sent)
    assert {m["QueueUrl"] for m in sqs.sent} == {"q.fifo"}
    assert json.loads(sqs.sent[0]["MessageBody"]) == created("INC-1")


def test_an_invalid_event_is_parked_with_the_reason_and_reported() -> None:
    sqs = RecordingSqs()
    event = created()
    del event["detail"]["incident"]["state"]
    with pytest.raises(InvalidIncidentEvent, match=r"detail\.incident\.state"):
        IncidentQueue(sqs, "q.fifo", "dlq.fifo").route(event)
    [parked] = sqs.sent
    assert parked["QueueUrl"] == "dlq.fifo"
    assert "detail.incident.state: Field required" in parked["MessageAttributes"]["reason"]["StringValue"]


def test_a_lone_surrogate_or_deep_nesting_never_crashes_the_router() -> None:
    sqs = RecordingSqs()
    event = created()
    event["detail"]["incident"]["title"] = "broken \ud800 text"
    with pytest.raises(InvalidIncidentEvent, match=r"detail\.incident\.title"):
        IncidentQueue(sqs, "q.fifo", "dlq.fifo").route(event)
    assert "\\ud800" in sqs.sent[0]["MessageBody"]  # parked as sent, escaped: SQS takes valid UTF-8 only
    deep: Any = created()
    for _ in range(5000):
        deep = {"detail": deep}
    with pytest.raises(InvalidIncidentEvent):
        IncidentQueue(sqs, "q.fifo", "dlq.fifo").route(deep)


def test_retry_after_is_honoured_even_when_long() -> None:
    assert 3600 <= retry_delay(3600, 1, 0.5) <= 3600 + 360
    assert retry_delay(10**9, 1, 1.0) == MAX_VISIBILITY_SECONDS


def test_a_short_retry_after_on_every_receive_cannot_exhaust_the_receives_quickly() -> None:
    """A 429 storm answering Retry-After: 1 each time: the 100 receives still span many hours."""
    assert retry_delay(1, 1, 0.0) == 1  # the first receives wait exactly what Jira asked
    assert retry_delay(1, 4, 0.0) == FIRST_RETRY_SECONDS * 4  # then the backoff is the floor
    assert sum(retry_delay(1, n, 0.0) for n in range(1, 100)) > 6 * 3600


def test_without_retry_after_the_delay_doubles_to_a_cap_with_jitter() -> None:
    lows = [retry_delay(None, n, 0.0) for n in range(1, 12)]
    highs = [retry_delay(None, n, 1.0) for n in range(1, 12)]
    assert lows[0] == FIRST_RETRY_SECONDS / 2
    assert highs[0] == FIRST_RETRY_SECONDS
    assert lows == sorted(lows)
    assert max(highs) == MAX_BACKOFF_SECONDS
    # maxReceiveCount 100 at the longest backoff outlasts a 6-hour outage many times over
    assert sum(retry_delay(None, n, 0.0) for n in range(1, 100)) > 6 * 3600


class Throttled(Exception):
    retry_after = 40.0


def test_a_failed_record_waits_its_delay_and_its_untried_group_mates_go_back_in_line() -> None:
    sqs = RecordingSqs()
    retries = FifoRetries(sqs, "q.fifo")
    delay = retries.back_off("m-1", "r-1", 1, Throttled())
    records = [{"messageId": m, "receiptHandle": f"r-{m[-1]}"} for m in ("m-1", "m-2", "m-3")]
    assert retries.release_untried(records, failed={"m-1", "m-2"}) == 1
    assert 40 <= delay <= 44
    assert sqs.visibility == [
        {"QueueUrl": "q.fifo", "ReceiptHandle": "r-1", "VisibilityTimeout": delay},
        {"QueueUrl": "q.fifo", "ReceiptHandle": "r-2", "VisibilityTimeout": 0},
    ]


def test_a_visibility_change_that_fails_costs_only_time() -> None:
    class Broken(RecordingSqs):
        def change_message_visibility(self, **kwargs: Any) -> None:
            raise RuntimeError("SQS unavailable")

    retries = FifoRetries(Broken(), "q.fifo")
    assert retries.back_off("m-1", "r-1", 3, RuntimeError("jira down")) >= 20
    assert retries.release_untried([{"messageId": "m-2", "receiptHandle": "r-2"}], {"m-2"}) == 0


def body(incident: str, sequence: int, kind: str = "field_changed", field: str | None = "state") -> str:
    change: dict[str, Any] = {"kind": kind}
    if field:
        change["field"] = field
    return json.dumps({"detail": {"event_id": f"{incident}-{sequence}", "sequence": sequence,
                                  "incident": {"id": incident}, "change": change}})


def test_a_burst_of_changes_to_one_field_coalesces_into_the_newest() -> None:
    records = [
        ("m1", body("INC-1", 2, field="state")),
        ("m2", body("INC-1", 3, "note_added", field=None)),
        ("m3", body("INC-1", 4, field="Status")),  # the same field under its alias
        ("m4", body("INC-1", 5, field="severity")),
        ("m5", body("INC-2", 1, field="state")),  # another incident: untouched
        ("m6", body("INC-1", 6, field="state")),
        ("m7", "not json"),
    ]
    assert superseded(records) == {"m1": "INC-1-6", "m3": "INC-1-6"}


def test_an_older_change_arriving_after_a_newer_one_is_the_one_coalesced() -> None:
    assert superseded([("m1", body("INC-1", 9)), ("m2", body("INC-1", 4))]) == {"m2": "INC-1-9"}

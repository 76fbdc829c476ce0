"""Unsigned Data Center webhooks as hints: only an issue id is read, and re-reads are rate-limited per issue."""

from __future__ import annotations

import pytest

from jira_bridge.webhooks.hints import HintDeferred, HintGate, hint_message, hinted_issue

pytestmark = pytest.mark.unit


class MemoryState:
    def __init__(self) -> None:
        self.reads: dict[tuple[str, str], float] = {}

    def last_read(self, connector: str, issue_id: str) -> float | None:
        return self.reads.get((connector, issue_id))

    def record_read(self, connector: str, issue_id: str, at: float) -> None:
        self.reads[(connector, issue_id)] = at


@pytest.mark.parametrize(("body", "issue"), [
    (b'{"webhookEvent":"jira:issue_updated","issue":{"id":"10002","fields":{"status":"Done"}}}', "10002"),
    (b'{"issue":{"id":10002}}', "10002"),
    (b'{"issue":{"id":"../admin"}}', None),
    (b'{"issue":{"key":"OPS-1"}}', None),
    (b"not json", None),
    (b"[]", None),
])
def test_only_a_numeric_issue_id_is_taken_from_the_body(body: bytes, issue: str | None) -> None:
    assert hinted_issue(body) == issue


def test_a_retried_body_is_one_message_in_its_issues_group() -> None:
    first, group, dedup = hint_message("dc", "10002", b"{}", 100.0)
    again = hint_message("dc", "10002", b"{}", 105.0)
    other = hint_message("dc", "10002", b'{"n":1}', 105.0)
    assert (again[1], again[2]) == (group, dedup)
    assert other[2] != dedup
    assert first["hint_issue"] == "10002"


def test_the_gate_reads_once_per_interval_and_never_drops_a_later_hint() -> None:
    now = [1000.0]
    gate = HintGate(MemoryState(), min_interval=30, clock=lambda: now[0])
    assert gate.admit("dc", "1", received_at=999.0)  # first read
    assert not gate.admit("dc", "1", received_at=999.5)  # arrived before that read: moot
    now[0] = 1010.0
    with pytest.raises(HintDeferred) as deferred:
        gate.admit("dc", "1", received_at=1005.0)  # a change after the read, too soon: waits
    assert deferred.value.retry_after == pytest.approx(20)
    now[0] = 1031.0
    assert gate.admit("dc", "1", received_at=1005.0)  # and is read once the interval passed
    assert gate.admit("dc", "2", received_at=1030.0)  # other issues are not held back

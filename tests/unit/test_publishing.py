"""What the Jira -> incident requests become in PagerDuty, and the fan-out order."""

from datetime import UTC, datetime
from typing import Any

import pytest

from jira_bridge.incidents.updates import (
    IncidentCreateRequested,
    IncidentUpdateRequested,
    JiraOrigin,
    RequestedNote,
)
from jira_bridge.publishing import FanOutPublisher, PagerDutyPublisher, PublishFailed, RecordingPublisher

pytestmark = pytest.mark.unit

ORIGIN = JiraOrigin(connector="default", issue_id="10000", issue_key="OPS-1",
                    issue_url="https://x.atlassian.net/browse/OPS-1")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))


def update(**fields: Any) -> IncidentUpdateRequested:
    return IncidentUpdateRequested(request_id="r", incident_id="PABC123", requested_at=datetime.now(UTC),
                                   origin=ORIGIN, **fields)


def test_update_maps_state_priority_owner_and_note() -> None:
    rest = Recorder()
    note = RequestedNote(text="Customer confirms", jira_comment_id="10002", author_name="Alice")
    PagerDutyPublisher(rest, Recorder(), "k" * 32).publish_update(
        update(state="resolved", priority="P2", owner_email="a@example.com", note=note))
    assert rest.calls == [("update_incident", ("PABC123",), {
        "status": "resolved", "priority_name": "P2", "assignee_email": "a@example.com",
        "note": "Customer confirms (Alice in OPS-1)"})]


@pytest.mark.parametrize(("visibility", "said"), [("internal", " [Jira internal note]"),
                                                   ("public", " [Jira public reply]"), (None, "")])
def test_a_jsm_note_says_which_kind_of_comment_it_was(visibility: Any, said: str) -> None:
    rest = Recorder()
    note = RequestedNote(text="Rolled back", jira_comment_id="1", author_name="Alice", jira_visibility=visibility)
    PagerDutyPublisher(rest, Recorder(), None).publish_update(update(note=note))
    assert rest.calls[0][2]["note"] == "Rolled back (Alice in OPS-1)" + said


def test_triggered_is_not_a_status_pagerduty_accepts_back() -> None:
    rest = Recorder()
    PagerDutyPublisher(rest, Recorder(), None).publish_update(update(state="triggered"))
    assert rest.calls[0][2]["status"] is None


def create(severity: str | None) -> IncidentCreateRequested:
    return IncidentCreateRequested(request_id="jira-default-10000", dedup_key="jira-default-10000", rule="outage",
                                   requested_at=datetime.now(UTC), title="Card payments failing",
                                   severity=severity, origin=ORIGIN)


@pytest.mark.parametrize(("severity", "expected"), [("SEV1", "critical"), ("p3", "warning"), (None, "info")])
def test_create_triggers_once_per_issue_with_a_mapped_severity(severity: str | None, expected: str) -> None:
    events = Recorder()
    PagerDutyPublisher(Recorder(), events, "k" * 32).publish_create(create(severity))
    [(name, args, kwargs)] = events.calls
    assert name == "trigger"
    assert args[:3] == ("k" * 32, "jira-default-10000", "Card payments failing")
    assert kwargs["severity"] == expected
    assert kwargs["links"] == [{"href": "https://x.atlassian.net/browse/OPS-1", "text": "OPS-1"}]


def test_create_without_a_routing_key_says_what_is_missing() -> None:
    with pytest.raises(PublishFailed, match="events_routing_key"):
        PagerDutyPublisher(Recorder(), Recorder(), None).publish_create(create("SEV1"))


def test_fan_out_publishes_to_the_bus_first_and_stops_on_failure() -> None:
    bus = RecordingPublisher()

    class Failing:
        def publish_update(self, request: IncidentUpdateRequested) -> None:
            raise PublishFailed("PagerDuty down")

    with pytest.raises(PublishFailed):
        FanOutPublisher(bus, Failing()).publish_update(update(state="resolved"))
    assert len(bus.updates) == 1


def test_an_unassigned_issue_is_said_on_pagerduty_not_dropped() -> None:
    rest = Recorder()
    PagerDutyPublisher(rest, Recorder(), None).publish_update(update(owner_cleared=True))
    assert rest.calls[0][2]["assignee_email"] is None
    assert rest.calls[0][2]["note"] == "OPS-1 was unassigned in Jira; the bridge does not remove PagerDuty assignees."

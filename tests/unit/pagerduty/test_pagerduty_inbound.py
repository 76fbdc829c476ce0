"""PagerDuty -> canonical "Incident Changed", on every real V3 sample and on EventBridge envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from jira_bridge.incidents.events import DETAIL_TYPE, ChangeKind, IncidentChanged
from jira_bridge.pagerduty.canonical import UNKNOWN_STATE, epoch_millis
from jira_bridge.pagerduty.errors import PagerDutyPayloadInvalid
from jira_bridge.pagerduty.eventbridge import DETAIL_TYPE as PD_DETAIL_TYPE
from jira_bridge.pagerduty.inbound import PUBLISH_SOURCE, event_type_of, put_events_entry, to_canonical
from tests.unit.pagerduty.pd_fakes import sample_bytes, sample_names

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "incident-changed.schema.json"

# What each mapped sample must become: (kind, field, old, new, incident id, state, priority, severity)
MAPPED: dict[str, tuple[str, str | None, Any, Any, str, str, str | None, str | None]] = {
    "incident.triggered.zulip.json": ("created", None, None, None, "PFQZPSY", "triggered", None, "high"),
    "incident.acknowledged.zulip.json":
        ("field_changed", "state", None, "acknowledged", "PQ1K5C8", "acknowledged", None, "high"),
    "incident.unacknowledged.zulip.json":
        ("field_changed", "state", "acknowledged", "triggered", "PQ1K5C8", "triggered", None, "high"),
    "incident.resolved.zulip.json": ("field_changed", "state", None, "resolved", "PCPZE64", "resolved", None, "high"),
    "incident.reopened.zulip.json":
        ("field_changed", "state", "resolved", "triggered", "Q05XJA8GDXGOB3", "triggered", "P3", "low"),
    "incident.priority_updated.zulip.json":
        ("field_changed", "priority", None, "P2", "Q3B15VLMF3ASBD", "triggered", "P2", "high"),
    "incident.priority_updated.go-pagerduty-signed.json":
        ("field_changed", "priority", None, "P1", "PGR0VU2", "triggered", "P1", "high"),
    "incident.reassigned.zulip.json": ("field_changed", "owner", None, None, "PIQUG8X", "triggered", None, "high"),
    "incident.annotated.zulip.json": ("note_added", None, None, None, "Q3B15VLMF3ASBD", UNKNOWN_STATE, None, None),
}
IGNORED = {
    "incident.conference_bridge.updated.zulip.json",
    "incident.delegated.zulip.json",
    "incident.escalated.zulip.json",
    "incident.responder.added.zulip.json",
    "incident.responder.replied.zulip.json",
    "incident.status_update_published.zulip.json",
}


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_every_sample_is_either_mapped_or_deliberately_ignored() -> None:
    names = set(sample_names())
    if not names:
        pytest.skip("../shared/contracts/pagerduty/webhooks-v3 not found")
    assert names == set(MAPPED) | IGNORED, "a new sample needs a decision: map it or ignore it"


@pytest.mark.parametrize("name", sorted(MAPPED))
def test_mapped_samples_become_the_right_canonical_event(
    name: str, schema_validator: jsonschema.Draft202012Validator
) -> None:
    raw = sample_bytes(name)
    body = json.loads(raw)["event"]
    kind, field, old, new, incident_id, state, priority, severity = MAPPED[name]

    event = to_canonical(raw)

    assert event is not None
    assert (event.change.kind.value, event.change.field, event.change.old_value, event.change.new_value) == (
        kind, field, old, new)
    assert (event.incident.id, event.incident.state, event.incident.priority, event.incident.severity) == (
        incident_id, state, priority, severity)
    assert event.event_id == body["id"]
    assert event.source == "pagerduty"
    occurred = datetime.fromisoformat(body["occurred_at"])
    assert event.occurred_at == occurred
    assert event.sequence == epoch_millis(occurred)
    assert event.actor is not None
    assert event.actor.name == body["agent"]["summary"]
    assert event.actor.email is None  # no user_emails given: PagerDuty never sends e-mails
    # what any incident tool publishes must satisfy the published schema, and survive a round trip
    schema_validator.validate(json.loads(event.model_dump_json()))
    assert IncidentChanged.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize("name", sorted(IGNORED))
def test_other_samples_are_acknowledged_and_ignored(name: str) -> None:
    assert to_canonical(sample_bytes(name)) is None
    assert event_type_of(json.loads(sample_bytes(name))) == name.rsplit(".", 2)[0]  # for the handler's log line


def test_the_snapshot_carries_title_service_url_and_custom_fields() -> None:
    event = to_canonical(sample_bytes("incident.reopened.zulip.json"))
    assert event is not None
    incident = event.incident
    assert incident.title == "Test Incident 2"
    assert incident.service == "Default Service"
    assert incident.url == "https://harsh0303.pagerduty.com/incidents/Q05XJA8GDXGOB3"
    assert incident.custom_fields == {
        "incident_number": 4,
        "incident_key": "07261e18031d41268a16c774c1892cae",
        "urgency": "low",
        "escalation_policy": "APIs-ep",
        "assignees": ["Harsh Santwani"],
        "incident_type": "security_default",
        "service_id": "PLVTM9H",
        "created_at": "2026-03-30T13:37:07+00:00",
    }
    assert event.field_value("incident_key") == "07261e18031d41268a16c774c1892cae"

    older = to_canonical(sample_bytes("incident.priority_updated.go-pagerduty-signed.json"))
    assert older is not None
    assert older.incident.custom_fields["teams"] == ["Engineering"]
    assert "incident_key" not in older.incident.custom_fields  # the 2021 captures lack it: left out, not None


def test_owners_and_actors_get_an_email_only_through_the_mapping() -> None:
    raw = sample_bytes("incident.reassigned.zulip.json")
    emails = {"PI9DT01": "test.user@example.com", "PJ0LVEB": "pig@example.com"}

    event = to_canonical(raw, emails)

    assert event is not None
    assert event.change.new_value == "test.user@example.com"
    assert event.incident.owner is not None
    assert (event.incident.owner.name, event.incident.owner.email) == ("Test User", "test.user@example.com")
    assert event.field_value("owner") == "test.user@example.com"
    assert event.actor is not None
    assert event.actor.email == "pig@example.com"
    # unknown assignee: no owner, and the names are still there for templates
    unknown = to_canonical(raw, {"PJ0LVEB": "pig@example.com"})
    assert unknown is not None
    assert unknown.incident.owner is None
    assert unknown.incident.custom_fields["assignees"] == ["Test User"]


def test_the_first_assignee_with_a_known_email_is_the_owner() -> None:
    body = json.loads(sample_bytes("incident.reassigned.zulip.json"))
    assignees = body["event"]["data"]["assignees"]
    assignees.insert(0, {**assignees[0], "id": "PNOBODY", "summary": "Nobody Known"})
    event = to_canonical(body, {"PI9DT01": "test.user@example.com"})
    assert event is not None
    assert event.incident.owner is not None
    assert event.incident.owner.name == "Test User"


def test_a_note_becomes_note_added_with_the_pagerduty_note_id() -> None:
    event = to_canonical(sample_bytes("incident.annotated.zulip.json"), {"PXRUEF2": "harsh@example.com"})
    assert event is not None
    note = event.change.note
    assert note is not None
    assert note.id == "PEMJB6G"
    assert note.text == "Running KILL on long-running queries from the reporting-service."
    assert note.author is not None
    assert (note.author.name, note.author.email) == ("Harsh Santwani", "harsh@example.com")
    assert note.created_at == event.occurred_at
    # the note event names the incident only by reference: title from its summary, state unknown
    assert event.incident.title == "Critical: Checkout API High Latency"
    assert event.incident.state == UNKNOWN_STATE
    assert event.incident.notes == [note]


def test_a_note_on_an_incident_without_summary_still_has_a_title() -> None:
    body = json.loads(sample_bytes("incident.annotated.zulip.json"))
    body["event"]["data"]["incident"]["summary"] = None
    event = to_canonical(body)
    assert event is not None
    assert event.incident.title == "PagerDuty incident Q3B15VLMF3ASBD"


def test_later_events_of_an_incident_have_higher_sequences() -> None:
    body = json.loads(sample_bytes("incident.acknowledged.zulip.json"))
    first = to_canonical(body)
    body["event"]["occurred_at"] = "2021-06-04T13:55:30.395Z"
    later = to_canonical(body)
    assert first is not None
    assert later is not None
    assert later.sequence == first.sequence + 1


def test_a_cleared_priority_is_none() -> None:
    body = json.loads(sample_bytes("incident.priority_updated.zulip.json"))
    body["event"]["data"]["priority"] = None
    event = to_canonical(body)
    assert event is not None
    assert (event.change.field, event.change.new_value, event.incident.priority) == ("priority", None, None)


def test_accepts_bytes_text_and_parsed_json_alike() -> None:
    raw = sample_bytes("incident.triggered.zulip.json")
    assert to_canonical(raw) == to_canonical(raw.decode()) == to_canonical(json.loads(raw))


def test_ignored_types_are_not_validated() -> None:
    ping = {"event": {"id": "01PING", "event_type": "pagey.ping", "resource_type": "pagey",
                      "occurred_at": "2026-01-01T00:00:00Z", "agent": None, "client": None, "data": {"type": "ping"}}}
    assert to_canonical(ping) is None
    service = {"event": {**ping["event"], "event_type": "service.updated", "data": {"whatever": True}}}
    assert to_canonical(service) is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        ({"hello": "world"}, "neither a V3 webhook body"),
        ({"event": {"id": "X", "event_type": "incident.triggered", "occurred_at": "2026-01-01T00:00:00Z",
                    "data": {"id": "P1", "type": "incident", "status": "triggered"}}}, "title: Field required"),
        ({"event": {"id": "X", "event_type": "incident.triggered", "data": {}}}, "event.occurred_at"),
        ({"event": {"id": "X", "event_type": "incident.annotated", "occurred_at": "2026-01-01T00:00:00Z",
                    "data": {"id": "N1", "type": "incident", "content": "x"}}}, "type"),
        ({"id": "1", "detail-type": "PagerDuty Webhook", "source": "aws.partner/pagerduty.com/x", "detail": "nope"},
         "detail"),
        ({"detail-type": "x", "source": "y", "id": "1", "detail": {"something": "else"}}, "neither"),
    ],
)
def test_what_pagerduty_would_not_send_is_refused(payload: Any, reason: str) -> None:
    with pytest.raises(PagerDutyPayloadInvalid, match=reason):
        to_canonical(payload)


# --- EventBridge --------------------------------------------------------------------------------


def _envelope(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "5d4e2a10-0000-4000-8000-00000000eb01",
        "detail-type": PD_DETAIL_TYPE,
        "source": "aws.partner/pagerduty.com/acme-jira-bridge",
        "account": "123456789012",
        "time": "2026-11-20T10:00:05Z",
        "region": "eu-west-1",
        "resources": ["pagerduty"],
        "detail": detail,
    }


def _v2_message(verb: str, *, status: str = "acknowledged", entry: dict[str, Any] | None = None) -> dict[str, Any]:
    """A V2 webhook message shaped as PagerDuty's EventBridge guide shows (our own values)."""
    user = {"id": "PUSER01", "type": "user_reference", "summary": "Ada Oncall",
            "self": "https://api.pagerduty.com/users/PUSER01", "html_url": "https://acme.pagerduty.com/users/PUSER01"}
    log_entry = {
        "id": "R0LOGENTRY0000000000000001",
        "type": f"{verb.removeprefix('incident.')}_log_entry",
        "summary": "something happened",
        "created_at": "2026-11-20T10:00:03Z",
        "agent": user,
        "channel": {"type": "website", "details_omitted": False},
        **(entry or {}),
    }
    return {
        "event": verb,
        "log_entries": [log_entry],
        "webhook": {"name": "eventbridge-123456789012-eu-west-1-jira-bridge", "type": "webhook"},
        "incident": {
            "incident_number": 77,
            "title": "Checkout API 502s",
            "description": "Checkout API 502s",
            "created_at": "2026-11-20T09:58:00Z",
            "status": status,
            "incident_key": "checkout-502",
            "service": {"id": "PSERV01", "name": "checkout-api", "summary": "checkout-api", "type": "service"},
            "assignments": [{"at": "2026-11-20T09:58:01Z", "assignee": user}],
            "priority": {"id": "PPRIO01", "type": "priority", "summary": "P1", "name": "P1"},
            "urgency": "high",
            "escalation_policy": {"id": "PEP01", "type": "escalation_policy_reference", "summary": "Checkout"},
            "teams": [],
            "id": "PINC077",
            "type": "incident",
            "summary": "[#77] Checkout API 502s",
            "html_url": "https://acme.pagerduty.com/incidents/PINC077",
        },
        "id": "0c282730-a4fd-11e9-8326-0a5ff7c88466",
        "created_on": "2026-11-20T10:00:04Z",
    }


def test_an_envelope_around_a_v3_body_maps_like_the_body() -> None:
    raw = sample_bytes("incident.priority_updated.zulip.json")
    assert to_canonical(_envelope(json.loads(raw))) == to_canonical(raw)


@pytest.mark.parametrize(
    ("verb", "status", "field", "old", "new"),
    [
        ("incident.acknowledge", "acknowledged", "state", None, "acknowledged"),
        ("incident.unacknowledge", "triggered", "state", "acknowledged", "triggered"),
        ("incident.resolve", "resolved", "state", None, "resolved"),
        ("incident.assign", "triggered", "owner", None, "ada@example.com"),
    ],
)
def test_pagerduty_eventbridge_v2_messages_map_to_field_changes(
    verb: str, status: str, field: str, old: Any, new: Any
) -> None:
    event = to_canonical(_envelope(_v2_message(verb, status=status)), {"PUSER01": "ada@example.com"})
    assert event is not None
    assert (event.change.kind, event.change.field, event.change.old_value, event.change.new_value) == (
        ChangeKind.FIELD_CHANGED, field, old, new)
    assert event.event_id == "0c282730-a4fd-11e9-8326-0a5ff7c88466"
    assert event.sequence == epoch_millis(datetime(2026, 11, 20, 10, 0, 3, tzinfo=UTC))
    assert event.actor is not None
    assert event.actor.email == "ada@example.com"
    incident = event.incident
    assert (incident.id, incident.title, incident.state, incident.priority, incident.severity, incident.service) == (
        "PINC077", "Checkout API 502s", status, "P1", "high", "checkout-api")
    assert incident.description == ""  # the same text as the title is not repeated
    assert incident.custom_fields["incident_key"] == "checkout-502"


def test_pagerduty_eventbridge_trigger_and_annotate() -> None:
    created = to_canonical(_envelope(_v2_message("incident.trigger", status="triggered")))
    assert created is not None
    assert created.change.kind is ChangeKind.CREATED
    note_entry = {"id": "RNOTE0000000000000000000001", "type": "annotate_log_entry",
                  "channel": {"type": "note", "summary": "More cheese", "content": "More cheese please"}}
    noted = to_canonical(_envelope(_v2_message("incident.annotate", entry=note_entry)))
    assert noted is not None
    assert noted.change.note is not None
    assert (noted.change.note.id, noted.change.note.text) == ("RNOTE0000000000000000000001", "More cheese please")
    assert noted.incident.state == "acknowledged"  # V2 messages carry the whole incident


@pytest.mark.parametrize("verb", ["incident.escalate", "incident.delegate", "incident.custom"])
def test_other_v2_messages_are_ignored(verb: str) -> None:
    assert to_canonical(_envelope(_v2_message(verb))) is None
    assert event_type_of(_envelope(_v2_message(verb))) == verb


def test_event_type_of_anything_else_is_none() -> None:
    assert event_type_of({"hello": "world"}) is None
    assert event_type_of({"detail-type": "x", "detail": "nope"}) is None


def test_a_v2_message_without_any_time_is_refused() -> None:
    message = _v2_message("incident.resolve")
    message["log_entries"] = []
    message["created_on"] = None
    with pytest.raises(PagerDutyPayloadInvalid, match="created_on"):
        to_canonical(_envelope(message))


# --- publishing ---------------------------------------------------------------------------------


def test_put_events_entry_publishes_incident_changed_on_the_bus() -> None:
    event = to_canonical(sample_bytes("incident.resolved.zulip.json"))
    assert event is not None

    entry = put_events_entry(event, bus_name="jira-bridge-incidents")

    assert entry["DetailType"] == DETAIL_TYPE == "Incident Changed"
    assert entry["Source"] == PUBLISH_SOURCE
    assert entry["EventBusName"] == "jira-bridge-incidents"
    assert entry["Time"] == event.occurred_at
    assert IncidentChanged.model_validate_json(entry["Detail"]) == event
    assert put_events_entry(event, bus_name="b", source="com.example")["Source"] == "com.example"

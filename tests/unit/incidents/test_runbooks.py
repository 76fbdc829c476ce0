"""Runbook decisions pinned: which events fire which runbooks, and what conditions let through.

Each test kills mutants a user would notice (issue 10): a `created` runbook firing on notes, a
`priority` trigger firing on `state`, inverted or all-rejecting conditions, a first assignment not
counted as a change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from jira_bridge.incidents.events import IncidentChanged
from jira_bridge.incidents.runbooks import Condition, RunbookSet, Trigger

pytestmark = pytest.mark.unit


def event(kind: str = "created", *, field: str | None = None, old: Any = None, new: Any = None,
          severity: str = "SEV2", owner: str | None = None) -> IncidentChanged:
    change: dict[str, Any] = {"kind": kind}
    if kind == "field_changed":
        change.update(field=field, old_value=old, new_value=new)
    if kind == "note_added":
        change["note"] = {"id": "n1", "text": "hello"}
    return IncidentChanged.model_validate({
        "event_id": "e1", "sequence": 1, "occurred_at": datetime.now(UTC).isoformat(),
        "incident": {"id": "INC-1", "title": "t", "state": "triggered", "severity": severity,
                     "owner": {"email": owner} if owner else None},
        "change": change,
    })


def trigger(**spec: Any) -> Trigger:
    return Trigger.model_validate(spec)


@pytest.mark.parametrize(("kind", "fires"), [("created", True), ("note_added", False), ("field_changed", False)])
def test_a_created_trigger_fires_on_created_only(kind: str, fires: bool) -> None:
    assert trigger(type="created").fires_on(event(kind, field="state", old="a", new="b")) is fires


def test_a_note_trigger_fires_on_notes_only() -> None:
    assert trigger(type="note_added").fires_on(event("note_added"))
    assert not trigger(type="note_added").fires_on(event("created"))


def test_a_field_trigger_fires_for_its_own_field_only() -> None:
    on_priority = trigger(type="field_changed", field="priority")
    assert on_priority.fires_on(event("field_changed", field="priority", old="P2", new="P1"))
    assert not on_priority.fires_on(event("field_changed", field="state", old="triggered", new="resolved"))
    assert trigger(type="field_changed", field="assignee").fires_on(
        event("field_changed", field="owner", old="a@x", new="b@x"))  # one name per field


def test_a_first_assignment_is_a_change_and_the_same_value_is_not() -> None:
    on_owner = trigger(type="field_changed", field="owner")
    assert on_owner.fires_on(event("field_changed", field="owner", old=None, new="alice@example.com"))
    assert on_owner.fires_on(event("field_changed", field="owner", old="alice@example.com", new=None))
    assert not on_owner.fires_on(event("field_changed", field="owner", old="Alice@example.com",
                                       new="alice@example.com "))
    assert not on_owner.fires_on(event("field_changed", field="owner", old=None, new=None))


def test_from_and_to_filters_are_each_respected() -> None:
    spec = trigger(type="field_changed", field="severity", **{"from": ["SEV3"], "to": ["SEV1", "SEV2"]})
    assert spec.fires_on(event("field_changed", field="severity", old="SEV3", new="SEV1"))
    assert not spec.fires_on(event("field_changed", field="severity", old="SEV2", new="SEV1"))
    assert not spec.fires_on(event("field_changed", field="severity", old="SEV3", new="SEV4"))


def condition(**spec: Any) -> Condition:
    return Condition.model_validate(spec)


def test_equals_in_and_not_in_hold_exactly_when_they_should() -> None:
    sev1, sev3 = event(severity="SEV1"), event(severity="SEV3")
    assert condition(field="severity", equals="sev1").holds(sev1)
    assert not condition(field="severity", equals="SEV1").holds(sev3)
    assert condition(field="severity", **{"in": ["SEV1", "SEV2"]}).holds(sev1)
    assert not condition(field="severity", **{"in": ["SEV1", "SEV2"]}).holds(sev3)
    assert condition(field="severity", not_in=["SEV1"]).holds(sev3)
    assert not condition(field="severity", not_in=["SEV1"]).holds(sev1)
    assert condition(field="owner", equals="a@x").holds(event(owner="a@x"))
    assert not condition(field="owner", equals="a@x").holds(event())


@pytest.mark.parametrize("tests", [{}, {"equals": "a", "in": ["a"]}, {"equals": "a", "not_in": ["b"]},
                                   {"in": ["a"], "not_in": ["b"]}])
def test_a_condition_has_exactly_one_operator(tests: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        condition(field="severity", **tests)


def test_a_runbook_applies_only_when_every_condition_holds() -> None:
    runbooks = RunbookSet.model_validate({"runbooks": [{
        "name": "major", "trigger": {"type": "created"},
        "conditions": [{"field": "severity", "in": ["SEV1", "SEV2"]}, {"field": "owner", "not_in": ["bot@x"]}],
        "actions": [{"add_comment": {"body": "x"}}]}]})
    assert [r.name for r in runbooks.matching(event(severity="SEV1", owner="a@x"))] == ["major"]
    assert runbooks.matching(event(severity="SEV1", owner="bot@x")) == []
    assert runbooks.matching(event(severity="SEV4", owner="a@x")) == []
    assert runbooks.matching(event("note_added", severity="SEV1")) == []


def test_safe_defaults_a_user_relies_on() -> None:
    runbooks = RunbookSet.model_validate({"jira_rules": [{"name": "r", "jql": "project = OPS"}]})
    assert runbooks.inbound.pagerduty is False  # PagerDuty is written to only when asked
    assert runbooks.inbound.allow_reopen is False
    assert runbooks.inbound.mirror_comments is True
    rule = runbooks.jira_rules[0]
    assert (rule.on_update, rule.max_per_hour) == (False, 10)
    assert runbooks.reopen is None


def test_field_from_and_to_belong_to_field_changed_triggers_only() -> None:
    for extra in ({"field": "state"}, {"from": ["a"]}, {"to": ["b"]}):
        with pytest.raises(ValidationError, match="only apply to field_changed"):
            trigger(type="created", **extra)
    with pytest.raises(ValidationError, match="names its field"):
        trigger(type="field_changed")


def test_an_action_names_the_kinds_it_was_given_when_it_has_several() -> None:
    with pytest.raises(ValidationError, match=r"\(got update_fields, add_comment\)"):
        RunbookSet.model_validate({"runbooks": [{"name": "x", "trigger": {"type": "created"}, "actions": [
            {"update_fields": {"fields": {"labels": ["a"]}}, "add_comment": {"body": "b"}}]}]})


def test_only_a_change_that_sets_field_values_may_be_coalesced() -> None:
    runbooks = RunbookSet.model_validate({"runbooks": [
        {"name": "severity", "trigger": {"type": "field_changed", "field": "severity"},
         "actions": [{"update_fields": {"fields": {"priority": "High"}}}]},
        {"name": "owner", "trigger": {"type": "field_changed", "field": "owner"},
         "actions": [{"transition": {"to": "In Progress"}}]},
        {"name": "state", "trigger": {"type": "field_changed", "field": "state"},
         "actions": [{"transition": {"to": "Done", "comment": "now [incident.state]"}}]},
        {"name": "note", "trigger": {"type": "note_added"}, "actions": [{"add_comment": {"body": "x"}}]},
    ]})
    assert runbooks.only_sets_fields(event("field_changed", field="severity", old="SEV2", new="SEV1"))
    assert runbooks.only_sets_fields(event("field_changed", field="owner", old=None, new="a@x"))
    # a transition's comment is history people read: the change always applies
    assert not runbooks.only_sets_fields(event("field_changed", field="state", old="triggered", new="resolved"))
    assert not runbooks.only_sets_fields(event("note_added"))

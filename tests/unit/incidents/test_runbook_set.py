"""runbooks.yaml as a whole pinned: what is refused at load, and what the set answers the sync.

Each test pins a behaviour a user would notice if it changed (mutants that survived `make mutation`):
a runbook without actions or a name accepted, a rule with an empty JQL, a misspelt trigger option on a
note runbook, the wrong create action chosen, a missing file refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from jira_bridge.errors import ConfigurationError
from jira_bridge.incidents.runbooks import Action, IncidentSide, RunbookSet, Trigger, load_runbooks
from tests.unit.incidents.test_runbooks import condition, event

pytestmark = pytest.mark.unit

CREATE = {"create_issue": {"project": "OPS", "issue_type": "Incident", "summary": "s"}}
COMMENT = {"add_comment": {"body": "b"}}
MOVE = {"transition": {"to": "Done", "fields": {"resolution": "Done"}}}


def runbook(name: str = "r", *actions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "trigger": {"type": "created"}, "actions": list(actions) or [COMMENT], **extra}


def test_each_action_kind_is_known_by_its_name_and_spec() -> None:
    for raw, kind in ((CREATE, "create_issue"), ({"update_fields": {"fields": {"labels": ["a"]}}}, "update_fields"),
                      (MOVE, "transition"), (COMMENT, "add_comment")):
        action = Action.model_validate(raw)
        assert action.kind == kind
        assert action.spec is getattr(action, kind)
    with pytest.raises(ValidationError, match="exactly one of"):
        Action.model_validate({})


def test_a_runbook_needs_a_name_and_at_least_one_action() -> None:
    assert RunbookSet.model_validate({"runbooks": [runbook("x")]}).runbooks[0].name == "x"  # one letter will do
    with pytest.raises(ValidationError):
        RunbookSet.model_validate({"runbooks": [runbook("")]})
    with pytest.raises(ValidationError):
        RunbookSet.model_validate({"runbooks": [{"name": "r", "trigger": {"type": "created"}, "actions": []}]})


def test_two_runbooks_with_one_name_are_refused() -> None:
    with pytest.raises(ValidationError, match="two runbooks are named 'same'"):
        RunbookSet.model_validate({"runbooks": [runbook("same"), runbook("other"), runbook("same")]})


def test_a_jira_rule_needs_a_query_and_at_least_one_incident_an_hour() -> None:
    assert RunbookSet.model_validate({"jira_rules": [{"name": "r", "jql": "x", "max_per_hour": 1}]}).jira_rules
    for bad in ({"name": "r", "jql": ""}, {"name": "r", "jql": "x", "max_per_hour": 0}, {"name": "", "jql": "x"}):
        with pytest.raises(ValidationError):
            RunbookSet.model_validate({"jira_rules": [bad]})


def test_field_options_are_refused_on_note_triggers_too() -> None:
    for extra in ({"field": "state"}, {"from": ["a"]}, {"to": ["b"]}):
        with pytest.raises(ValidationError, match="only apply to field_changed triggers, not note_added"):
            Trigger.model_validate({"type": "note_added", **extra})
    assert Trigger.model_validate({"type": "field_changed", "field": "state", "from": ["a"], "to": ["b"]}).field


def test_the_create_action_is_the_first_create_issue_of_any_runbook() -> None:
    second = {"create_issue": {**CREATE["create_issue"], "project": "PAY"}}
    runbooks = RunbookSet.model_validate(
        {"runbooks": [runbook("notes", COMMENT), runbook("open", MOVE, CREATE, second)]})
    found = runbooks.create_runbook()
    assert found is not None
    assert (found[0].name, found[1].project) == ("open", "OPS")
    create = runbooks.create_action()
    assert create is not None
    assert create.project == "OPS"
    assert [r.creates_issue for r in runbooks.runbooks] == [False, True]
    none = RunbookSet.model_validate({"runbooks": [runbook("notes", COMMENT)]})
    assert (none.create_runbook(), none.create_action()) == (None, None)


def test_transition_fields_gather_every_runbooks_transition_fields() -> None:
    runbooks = RunbookSet.model_validate({"runbooks": [
        runbook("a", COMMENT, MOVE),
        runbook("b", {"transition": {"to": "Won't Do", "fields": {"customfield_1": "x"}}})]})
    assert runbooks.transition_fields() == {"resolution": "Done", "customfield_1": "x"}


def test_linked_projects_are_the_literal_create_projects_upper_cased_once() -> None:
    def create(project: str) -> dict[str, Any]:
        return {"create_issue": {**CREATE["create_issue"], "project": project}}

    runbooks = RunbookSet.model_validate({"runbooks": [
        runbook("a", create("ops"), create("PAY")), runbook("b", create("OPS")),
        runbook("c", create("{{ incident.service }}")), runbook("d", create("[incident.team]"))]})
    assert runbooks.linked_projects() == ["OPS", "PAY"]


def test_a_workflow_for_the_issue_type_wins_over_the_projects() -> None:
    def snapshot(status: str) -> dict[str, Any]:
        return {"statuses": {status: "new"}}

    runbooks = RunbookSet.model_validate({"workflows": {"OPS": snapshot("Open"), "ops/Incident": snapshot("Triage")}})
    by_type = runbooks.workflow_snapshot("OPS", "incident")
    assert by_type is not None
    assert list(by_type.statuses) == ["Triage"]
    by_project = runbooks.workflow_snapshot("Ops", "Task")
    assert by_project is not None
    assert list(by_project.statuses) == ["Open"]
    assert runbooks.workflow_snapshot("PAY", "Incident") is None


def test_load_runbooks_reads_the_file_and_a_missing_file_means_none(tmp_path: Path) -> None:
    assert load_runbooks(tmp_path / "absent.yaml").runbooks == []
    path = tmp_path / "runbooks.yaml"
    path.write_text("runbooks:\n  - name: only\n    trigger: {type: created}\n"
                    "    actions: [{add_comment: {body: x}}]\n")
    assert [r.name for r in load_runbooks(path).runbooks] == ["only"]
    path.write_text(path.read_text().replace("type: created", "type: creatd"))
    with pytest.raises(ConfigurationError, match=r"runbooks\.yaml:3"):
        load_runbooks(path)


def test_a_value_is_never_the_same_as_no_value() -> None:
    unowned = event()
    assert not condition(field="owner", equals="None").holds(unowned)  # the text "None" is not "no owner"
    assert not condition(field="owner", **{"in": ["None", ""]}).holds(unowned)
    assert condition(field="owner", not_in=["None"]).holds(unowned)
    assert condition(field="severity", **{"in": [" sev2 "]}).holds(event(severity="SEV2"))


def test_integration_users_are_matched_after_trimming_and_by_source_case_insensitively() -> None:
    side = IncidentSide.model_validate({"integration_users": {" PagerDuty ": [" Bot@Example.com "]}})

    class Person:
        email = " bot@example.COM "
        name = None

    assert side.is_integration_user(" PAGERDUTY ", Person()) == " bot@example.COM "
    assert side.is_integration_user("pagerduty", object()) is None  # no email or name: nobody


def test_an_empty_comment_or_update_is_refused_at_load() -> None:
    for empty in ({"add_comment": {"body": ""}}, {"update_fields": {"fields": {}}}):
        with pytest.raises(ValidationError):
            RunbookSet.model_validate({"runbooks": [runbook("r", empty)]})
    assert RunbookSet.model_validate({"runbooks": [runbook("r", {"add_comment": {"body": "x"}})]}).runbooks


def test_options_are_read_by_their_yaml_names_and_their_python_names() -> None:
    assert condition(field="severity", in_values=["SEV1"]).holds(event(severity="SEV1"))
    assert Trigger.model_validate({"type": "field_changed", "field": "state", "to_values": ["resolved"]}).to_values


def test_a_loaded_runbook_set_cannot_be_changed_by_the_code_that_reads_it() -> None:
    runbooks = RunbookSet.model_validate({"runbooks": [runbook("r")]})
    with pytest.raises(ValidationError):
        runbooks.runbooks[0].name = "renamed"  # shared by every event a container handles


def test_a_field_trigger_ignores_fields_whose_names_sort_before_or_after_its_own() -> None:
    on_priority = Trigger.model_validate({"type": "field_changed", "field": "priority"})
    for other, old, new in (("owner", "a@x", "b@x"), ("state", "triggered", "resolved"), ("environment", "a", "b")):
        assert not on_priority.fires_on(event("field_changed", field=other, old=old, new=new))

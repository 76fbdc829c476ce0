import pytest

from jira_bridge.incidents.workflow import NoPathToStatus, TransitionOption, WorkflowMap, WorkflowSnapshot

pytestmark = pytest.mark.unit


def option(to: str, category: str = "indeterminate", tid: str | None = None) -> TransitionOption:
    return TransitionOption(id=tid or to, name=f"to {to}", to_status=to, to_category=category)


def full_map() -> WorkflowMap:
    workflow = WorkflowMap()
    workflow.learn("To Do", [option("In Progress"), option("Cancelled", "done")])
    workflow.learn("In Progress", [option("In Review"), option("To Do", "new")])
    workflow.learn("In Review", [option("Done", "done"), option("In Progress")])
    workflow.learn("Cancelled", [option("Done", "done")])
    return workflow


def test_shortest_path_goes_through_three_hops() -> None:
    path = full_map().shortest_path("To Do", "Done", terminal=set())
    assert path is not None
    assert [hop.to_status for hop in path] == ["In Progress", "In Review", "Done"]


def test_never_steps_through_a_terminal_status() -> None:
    workflow = full_map()
    # Through Cancelled it would be two hops; Cancelled is done-category, so that path is refused.
    path = workflow.shortest_path("To Do", "Done", terminal=set())
    assert path is not None
    assert "Cancelled" not in [hop.to_status for hop in path[:-1]]


def test_configured_terminal_statuses_are_avoided_too() -> None:
    workflow = full_map()
    assert workflow.shortest_path("To Do", "Done", terminal={"in review"}) is None
    assert "In Review" in workflow.reachable("To Do", terminal={"in review"})


def test_case_insensitive_status_names() -> None:
    path = full_map().shortest_path("to do", "in review", terminal=set())
    assert path is not None
    assert len(path) == 2


def test_unknown_statuses_on_the_way_are_named_never_explored() -> None:
    workflow = WorkflowMap()
    workflow.learn("To Do", [option("In Progress"), option("Blocked"), option("Won't Do", "done")])
    workflow.learn("In Progress", [option("In Review")])
    assert workflow.shortest_path("To Do", "Done", terminal=set()) is None
    assert workflow.unknown_on_the_way("To Do", terminal=set()) == ["Blocked", "In Review"]


def test_a_terminal_status_is_never_stepped_through_whatever_its_name_sorts_as() -> None:
    for name in ("AAA Closed", "ZZZ Closed"):
        workflow = WorkflowMap()
        workflow.learn("To Do", [option(name, "done"), option("In Progress")])
        workflow.learn(name, [option("Done", "done")])
        workflow.learn("In Progress", [option("In Review")])
        workflow.learn("In Review", [option("Done", "done")])
        path = workflow.shortest_path("To Do", "Done", terminal=set())
        assert path is not None
        assert [hop.to_status for hop in path] == ["In Progress", "In Review", "Done"]
        assert workflow.shortest_path("To Do", name, terminal=set()) is not None  # a target, it may be


SNAPSHOT = {
    "initial": "To Do",
    "statuses": {"To Do": "new", "In Progress": "indeterminate", "In Review": "indeterminate", "Done": "done",
                 "Won't Do": "done"},
    "transitions": [
        {"id": "11", "name": "Start", "from": ["To Do"], "to": "In Progress"},
        {"id": "21", "name": "Review", "from": ["In Progress"], "to": "In Review", "required": ["customfield_1"]},
        {"id": "31", "name": "Close", "from": ["In Review"], "to": "Done", "required": ["resolution"]},
        {"id": "61", "name": "Reopen", "from": ["Done"], "to": "To Do"},
        {"id": "91", "name": "Won't Do", "to": "Won't Do", "required": ["resolution"]},
    ],
}


def test_a_snapshot_makes_the_whole_path_known_before_any_move() -> None:
    workflow = WorkflowMap()
    workflow.seed(WorkflowSnapshot.model_validate(SNAPSHOT))
    path = workflow.shortest_path("To Do", "Done", terminal=set())
    assert path is not None
    assert [(hop.id, hop.required_fields) for hop in path] == [
        ("11", ()), ("21", ("customfield_1",)), ("31", ("resolution",))]
    # the global Won't Do is offered everywhere but never passed through; from Done only Reopen leads on
    assert [hop.to_status for hop in workflow.shortest_path("Done", "In Progress", terminal=set()) or []] == [
        "To Do", "In Progress"]
    assert workflow.shortest_path("Won't Do", "In Progress", terminal=set()) is None
    assert workflow.initial_status == "To Do"


def test_statuses_learned_from_jira_win_over_the_snapshot() -> None:
    workflow = WorkflowMap()
    workflow.learn("To Do", [option("In Review")])
    workflow.seed(WorkflowSnapshot.model_validate(SNAPSHOT))
    assert [hop.to_status for hop in workflow.options("To Do")] == ["In Review"]


def test_a_snapshot_naming_an_unknown_status_is_refused_with_the_name() -> None:
    broken = {**SNAPSHOT, "transitions": [{"id": "1", "name": "Go", "from": ["To Do"], "to": "Doen"}]}
    with pytest.raises(ValueError, match="Doen"):
        WorkflowSnapshot.model_validate(broken)


def test_no_path_says_nothing_moved_and_how_to_fix() -> None:
    message = str(NoPathToStatus("To Do", "Done", ["In Progress"], ["In Progress"]))
    assert "not moved" in message
    assert "jira-bridge workflow snapshot" in message

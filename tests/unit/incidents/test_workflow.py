import pytest

from jira_bridge.incidents.workflow import TransitionOption, WorkflowMap

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


def test_exploration_picks_the_nearest_unexplored_status() -> None:
    workflow = WorkflowMap()
    workflow.learn("To Do", [option("In Progress"), option("Blocked")])
    workflow.learn("In Progress", [option("In Review")])
    path = workflow.path_to_unexplored("To Do", terminal=set())
    assert path is not None
    assert [hop.to_status for hop in path] == ["Blocked"]


def test_exploration_never_targets_done_statuses() -> None:
    workflow = WorkflowMap()
    workflow.learn("To Do", [option("Won't Do", "done")])
    assert workflow.path_to_unexplored("To Do", terminal=set()) is None

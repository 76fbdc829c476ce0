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


# ----- pinned by `make mutation`: what the planner knows, and what it says when it cannot plan -----


def test_a_learned_status_can_be_forgotten_and_is_then_unknown() -> None:
    workflow = full_map()
    assert workflow.known("in progress")
    workflow.forget("IN PROGRESS")
    assert not workflow.known("In Progress")
    assert workflow.options("In Progress") == []
    assert workflow.shortest_path("To Do", "Done", terminal=set()) is None  # the way through is gone
    assert workflow.unknown_on_the_way("To Do", terminal=set()) == ["In Progress"]


def test_a_terminal_start_may_be_left_and_a_terminal_target_reached() -> None:
    workflow = WorkflowMap()
    workflow.learn("Done", [option("To Do", "new")])
    workflow.learn("To Do", [option("Done", "done")])
    assert [hop.to_status for hop in workflow.shortest_path("Done", "To Do", terminal=set()) or []] == ["To Do"]
    assert workflow.is_terminal("DONE", set())
    assert workflow.is_terminal("To Do", {"to do"})
    assert not workflow.is_terminal("To Do", set())
    assert workflow.shortest_path("To Do", "To Do", terminal=set()) == []  # already there: no move


def test_reachable_lists_display_names_sorted_without_the_start_or_what_lies_past_a_terminal() -> None:
    workflow = full_map()
    assert workflow.reachable("To Do", terminal=set()) == ["Cancelled", "Done", "In Progress", "In Review"]
    assert workflow.reachable("In Review", terminal={"in progress"}) == ["Done", "In Progress"]
    assert WorkflowMap().reachable("To Do", terminal=set()) == []


def test_unknown_statuses_exclude_the_start_and_terminal_ones() -> None:
    workflow = WorkflowMap()
    workflow.learn("To Do", [option("Blocked"), option("Closed", "done"), option("Parked")])
    assert workflow.unknown_on_the_way("To Do", terminal={"parked"}) == ["Blocked"]
    assert workflow.unknown_on_the_way("Blocked", terminal=set()) == []  # nothing known leaves it


def test_no_path_lists_what_is_reachable_and_only_then_what_is_unknown() -> None:
    plain = NoPathToStatus("To Do", "Done", [])
    assert str(plain) == ("no workflow path from 'To Do' to 'Done' that avoids terminal statuses; reachable from "
                          "'To Do': none; the issue was not moved")
    assert (plain.reachable, plain.unknown) == ([], [])
    detailed = NoPathToStatus("To Do", "Done", ["Blocked", "In Progress"], ["Blocked"])
    assert ("reachable from 'To Do': Blocked, In Progress. The transitions leaving Blocked are not known"
            in str(detailed))
    assert detailed.unknown == ["Blocked"]


def test_seeding_without_a_snapshot_marks_the_map_seeded_and_knows_nothing() -> None:
    workflow = WorkflowMap()
    workflow.seed(None)
    assert workflow.seeded
    assert (workflow.transitions, workflow.initial_status) == ({}, None)


def test_seeding_keeps_what_jira_said_and_a_known_initial_status() -> None:
    workflow = WorkflowMap(initial_status="Triage")
    workflow.learn("To Do", [option("Triage", "new")])  # Jira's answer beats the snapshot's
    workflow.seed(WorkflowSnapshot.model_validate(SNAPSHOT))
    assert workflow.initial_status == "Triage"
    assert [hop.to_status for hop in workflow.options("To Do")] == ["Triage"]
    assert workflow.is_terminal("Done", set())  # the snapshot's categories fill the gaps
    no_initial = WorkflowMap()
    no_initial.seed(WorkflowSnapshot.model_validate({**SNAPSHOT, "initial": None}))
    assert no_initial.initial_status is None


def test_a_snapshot_offers_global_transitions_everywhere_but_never_to_the_status_itself() -> None:
    snapshot = WorkflowSnapshot.model_validate(SNAPSHOT)
    from_review = {hop.id: hop for hop in snapshot.offered_from(" in review ")}
    assert sorted(from_review) == ["31", "91"]
    assert from_review["91"].to_category == "done"
    assert from_review["91"].screen_fields == ("resolution",)  # a required field is on the screen
    assert [hop.id for hop in snapshot.offered_from("Won't Do")] == []
    assert snapshot.category("in progress") == "indeterminate"
    assert snapshot.category("Nowhere") == ""
    screened = WorkflowSnapshot.model_validate({**SNAPSHOT, "transitions": [
        {"id": "31", "name": "Close", "from": ["In Review"], "to": "Done", "required": ["resolution"],
         "screen": ["resolution", "comment"]}]})
    [close] = screened.offered_from("In Review")
    assert (close.required_fields, close.screen_fields) == (("resolution",), ("resolution", "comment"))


@pytest.mark.parametrize("broken", [
    {"statuses": {}, "transitions": [], "initial": None},  # nothing to plan with
    {"initial": "Open"},
    {"transitions": [{"id": "1", "name": "Go", "from": ["Nowhere"], "to": "Done"}]},
    {"transitions": [{"id": "", "name": "Go", "to": "Done"}]},
    {"transitions": [{"id": "1", "name": "", "to": "Done"}]},
    {"statuses": {"": "new", "To Do": "new"}, "transitions": [{"id": "1", "name": "Go", "to": ""}]},
])
def test_a_snapshot_that_cannot_be_planned_with_is_refused(broken: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic's ValidationError, whichever field
        WorkflowSnapshot.model_validate({**SNAPSHOT, **broken})
    assert WorkflowSnapshot.model_validate({**SNAPSHOT, "transitions": [
        {"id": "1", "name": "G", "to": "Done"}]}).transitions[0].to == "Done"  # one character will do


def test_only_the_done_category_is_terminal_whatever_the_text_object() -> None:
    done = "".join(["do", "ne"])  # as parsed from Jira's JSON: equal to "done", not the same object
    workflow = WorkflowMap()
    workflow.learn("To Do", [option("Closed", done), option("Odd", ""), option("Legacy", "undefined")])
    workflow.learn("Odd", [option("Done", "done")])
    assert workflow.is_terminal("Closed", set())
    assert not workflow.is_terminal("Odd", set())
    assert not workflow.is_terminal("Legacy", set())
    assert [hop.to_status for hop in workflow.shortest_path("To Do", "Done", terminal=set()) or []] == ["Odd", "Done"]


def test_statuses_sorting_after_the_start_are_listed_too() -> None:
    workflow = WorkflowMap()
    workflow.learn("Backlog", [option("Zeta"), option("Alpha")])
    assert workflow.unknown_on_the_way("Backlog", terminal=set()) == ["Alpha", "Zeta"]
    assert workflow.reachable("Backlog", terminal=set()) == ["Alpha", "Zeta"]


def test_a_fresh_map_is_not_seeded_and_knows_the_category_of_a_status_nothing_leads_to() -> None:
    assert WorkflowMap().seeded is False  # the configured snapshot is still to be applied
    workflow = WorkflowMap()
    workflow.seed(WorkflowSnapshot.model_validate({"statuses": {"To Do": "new", "Archived": "done"}}))
    assert workflow.is_terminal("Archived", set())
    assert not workflow.is_terminal("To Do", set())


def test_workflow_knowledge_cannot_be_changed_by_its_readers() -> None:
    import dataclasses

    from pydantic import ValidationError

    hop = option("Done", "done")
    with pytest.raises(dataclasses.FrozenInstanceError):
        hop.to_status = "Elsewhere"  # type: ignore[misc]
    snapshot = WorkflowSnapshot.model_validate(SNAPSHOT)
    with pytest.raises(ValidationError):
        snapshot.initial = "Done"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        snapshot.transitions[0].to = "Done"  # type: ignore[misc]


def test_smallest_valid_snapshot_and_python_names() -> None:
    tiny = WorkflowSnapshot.model_validate({"statuses": {"X": "new", "Y": "done"}, "transitions": [
        {"id": "1", "name": "G", "to": "Y", "from_statuses": ["X"]}]})
    assert [hop.to_status for hop in tiny.offered_from("X")] == ["Y"]
    assert tiny.offered_from("Y") == []  # `from_statuses` (the python name) was read as `from`
    assert WorkflowSnapshot.model_validate({"statuses": {"Open": "new"}}).statuses == {"Open": "new"}


def test_a_workflow_read_back_from_the_shared_cache_is_what_was_learned_or_nothing() -> None:
    """The shared metadata cache stores a workflow as JSON: it reads back whole, and an item in an older
    or broken shape is an empty map (the bridge then asks Jira), never a half-read one or a crash."""
    learned = WorkflowMap()
    learned.learn("To Do", [TransitionOption("11", "Start", "In Progress", "indeterminate", ("resolution",),
                                             ("assignee", "resolution"))])
    learned.initial_status = "To Do"
    again = WorkflowMap.from_json(learned.to_json())
    assert again.options("To Do") == learned.options("To Do")
    assert again.options("To Do")[0].required_fields == ("resolution",)
    assert (again.initial_status, again.categories) == ("To Do", {"in progress": "indeterminate"})
    minimal = WorkflowMap.from_json({"transitions": {"to do": [  # keys as to_json writes them
        {"id": "11", "name": "Start", "to_status": "In Progress", "to_category": "indeterminate"}]}})
    assert minimal.options("To Do")[0].screen_fields == ()  # optional lists default to empty
    assert minimal.categories == {}
    assert minimal.initial_status is None
    for broken in (None, [], "x", {"transitions": [1]}, {"transitions": {"To Do": [{"nonsense": 1}]}},
                   {"categories": [1]}):
        empty = WorkflowMap.from_json(broken)
        assert (empty.transitions, empty.categories, empty.initial_status) == ({}, {}, None), broken
    assert WorkflowMap.from_json({"initial": 7}).initial_status is None

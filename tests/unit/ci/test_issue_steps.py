"""Pipeline issue steps: what a body must say, and once per caller and idempotency key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jira_bridge.ci.errors import IdempotencyKeyReused, PayloadInvalid, ProjectNotAllowed
from jira_bridge.ci.issue_steps import IssueStep, IssueSteps, StepAnswer, marker_label, parse_issue_step, request_hash
from jira_bridge.incidents.field_values import format_field


def parse(body: dict[str, Any]) -> IssueStep:
    return parse_issue_step(json.dumps(body).encode())


@pytest.mark.parametrize(("body", "message"), [
    ({"project": "OPS", "fields": {"summary": "s"}}, "idempotencyKey: is required"),
    ({"idempotencyKey": "has space", "project": "OPS", "fields": {"summary": "s"}}, "printable ASCII"),
    ({"idempotencyKey": "k", "fields": {"summary": "s"}}, "give issueKey (to update an issue) or project"),
    ({"idempotencyKey": "k", "project": "OPS", "issueKey": "OPS-1"}, "not both"),
    ({"idempotencyKey": "k", "issueKey": "OPS-01", "comment": "c"}, "'OPS-01' is not an issue key"),
    ({"idempotencyKey": "k", "project": "O PS", "fields": {"summary": "s"}}, "'O PS' is not a project key"),
    ({"idempotencyKey": "k", "project": "OPS", "fields": {"summary": " "}}, "a create needs fields.summary"),
    ({"idempotencyKey": "k", "issueKey": "OPS-1", "issueType": "Bug", "comment": "c"}, "issueType is for a create"),
    ({"idempotencyKey": "k", "issueKey": "OPS-1"}, "an update needs fields, transition or comment"),
    ({"idempotencyKey": "k", "issueKey": "OPS-1", "fields": {"project": "PAY"}}, "fields.project is set by"),
    ({"idempotencyKey": "k", "issueKey": "OPS-1", "transition": {"status": "Done"}}, "transition.to: is required"),
    ({"idempotencyKey": "k", "issueKey": "OPS-1", "comment": "c", "assignee": "x"},
     "assignee: is not a known setting"),
])
def test_a_body_that_is_not_a_step_says_what_to_fix(body: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadInvalid, match="not an issue step") as raised:
        parse(body)
    assert message in str(raised.value)


def test_steps_parse_with_their_defaults() -> None:
    step = parse({"idempotencyKey": "$CI_PIPELINE_ID-close", "issueKey": "ops-12", "transition": {"to": "Done"}})
    assert step.target_project == "OPS"
    assert step.transition is not None
    assert step.transition.fields == {}
    created = parse({"idempotencyKey": "k", "project": "ops", "fields": {"summary": "s"}})
    assert (created.target_project, created.issue_type) == ("OPS", None)


def test_marker_and_request_identity() -> None:
    assert marker_label("ci", "k") != marker_label("ci2", "k")
    assert marker_label("ci", "k") == marker_label("ci", "k")
    assert marker_label("ci", "k").startswith("jira-bridge-ci-")
    one = parse({"idempotencyKey": "k", "issueKey": "OPS-1", "comment": "c"})
    spaced = parse_issue_step(b'{ "comment": "c", "issueKey": "OPS-1", "idempotencyKey": "k" }')
    assert request_hash(one) == request_hash(spaced), "the same step, serialised differently"
    assert request_hash(one) != request_hash(parse({"idempotencyKey": "k", "issueKey": "OPS-1", "comment": "d"}))


class MemoryOnce:
    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}

    def __call__(self, key: str, work: Any) -> tuple[dict[str, Any], bool]:
        if key in self.stored:
            return self.stored[key], False
        self.stored[key] = work()
        return self.stored[key], True


class CountingSteps(IssueSteps):
    """The once-per-key wrapper around a step whose Jira work is counted, not done."""

    def __init__(self) -> None:
        super().__init__(MemoryOnce(), self._no_site, self._no_runbooks)
        self.applied: list[str] = []

    @staticmethod
    def _no_site(project: str) -> Any:
        raise AssertionError("Jira must not be asked")

    @staticmethod
    def _no_runbooks() -> Any:
        raise AssertionError("not needed")

    def _apply(self, step: IssueStep, caller: str, project: str) -> StepAnswer:
        self.applied.append(f"{caller}:{step.idempotency_key}")
        return StepAnswer(201, {"issueKey": f"{project}-{len(self.applied)}"})


def test_once_per_caller_and_key_and_the_same_key_for_another_request_is_refused() -> None:
    steps = CountingSteps()
    body = {"idempotencyKey": "run-7-create", "project": "OPS", "fields": {"summary": "s"}}
    first = steps.apply(parse(body), "gitlab-ci")
    again = steps.apply(parse(body), "gitlab-ci")
    assert (first.status, first.body, first.duplicate) == (201, {"issueKey": "OPS-1"}, False)
    assert (again.status, again.body, again.duplicate) == (201, {"issueKey": "OPS-1"}, True)
    assert steps.apply(parse(body), "jenkins").body == {"issueKey": "OPS-2"}, "keys are per caller"
    with pytest.raises(IdempotencyKeyReused, match="'run-7-create' was used for another request"):
        steps.apply(parse({**body, "fields": {"summary": "other"}}), "gitlab-ci")
    assert steps.applied == ["gitlab-ci:run-7-create", "jenkins:run-7-create"]


def test_a_caller_limited_to_projects_is_refused_before_anything_runs() -> None:
    steps = CountingSteps()
    with pytest.raises(ProjectNotAllowed, match="issues of projects OPS only, not PAY"):
        steps.apply(parse({"idempotencyKey": "k", "issueKey": "PAY-3", "comment": "c"}), "ops", ["ops"])
    with pytest.raises(ProjectNotAllowed, match="issues of no project"):
        steps.apply(parse({"idempotencyKey": "k", "issueKey": "PAY-3", "comment": "c"}), "none", [])
    assert steps.applied == []


def test_a_resolution_is_named_like_a_priority() -> None:
    assert format_field("resolution", "Done", None, lambda _: None) == {"name": "Done"}
    assert format_field("resolution", {"id": "10000"}, None, lambda _: None) == {"id": "10000"}


def test_an_update_adds_and_removes_labels_never_replaces_them() -> None:
    from jira_bridge.ci.issue_steps import _label_verbs
    from jira_bridge.incidents.field_values import FieldValueProblem

    assert _label_verbs(["shipped", "v2"]) == [{"add": "shipped"}, {"add": "v2"}]
    assert _label_verbs("shipped") == [{"add": "shipped"}]
    assert _label_verbs({"add": "a", "remove": ["b", "jira-bridge-ci-0f", "jira-bridge-INC-1"]}) == [
        {"add": "a"}, {"remove": "b"}], "the bridge's markers are never removed"
    with pytest.raises(FieldValueProblem, match="'replace' is not add or remove"):
        _label_verbs({"replace": ["a"]})
    with pytest.raises(FieldValueProblem, match="contains whitespace"):
        _label_verbs(["two words"])

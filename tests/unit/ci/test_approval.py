import re
from pathlib import Path

import pytest

from jira_bridge.ci.approval import ApprovalGate, GatedDeployment, gated_from_query
from jira_bridge.ci.config import ApprovalConfig, load_ci_config
from jira_bridge.ci.environments import environment_id
from jira_bridge.ci.errors import GatingQueryInvalid, NotAnIssueKey, NotFoundInJira, ProjectNotAllowed
from jira_bridge.errors import ConfigurationError
from jira_bridge.jira.client import JiraField
from tests.unit.ci.ci_fakes import FakePlatform, FakeSoftware, site

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ApprovalConfig.model_validate({
    "default": {"approved": {"status": ["Approved", "Done"]}, "rejected": {"status": ["Rejected"]}},
    "projects": {
        "ops": {
            "approved": {"status": ["Done"], "fields": {"resolution": "Done", "Change approved": "yes"}},
            "rejected": {"fields": {"resolution": ["Won't Do", "Duplicate"]}},
        },
        "EMPTY": {},
    },
})
FIELDS = [JiraField("resolution", "resolution", "Resolution", False), JiraField("status", "status", "Status", False),
          JiraField("customfield_10050", "customfield_10050", "Change approved", True)]


def issue(status: str, resolution: str | None = None, approved: str | None = None) -> dict[str, object]:
    return {"status": {"name": status}, "resolution": {"name": resolution} if resolution else None,
            "customfield_10050": {"value": approved, "id": "1"} if approved else None}


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform(issues={
        "OPS-1": issue("Done", "Done", "Yes"), "OPS-2": issue("Done", "Done"), "OPS-3": issue("Done", "Won't Do"),
        "OPS-4": issue("In Progress"), "PAY-1": issue("Approved"), "PAY-2": issue("REJECTED"), "PAY-3": issue("To Do"),
        "EMPTY-1": issue("Done"),
    }, field_list=FIELDS)


@pytest.fixture
def software() -> FakeSoftware:
    return FakeSoftware(known_keys=set(), gating={
        ("ci", environment_id("production"), 7): "allowed", ("ci", environment_id("production"), 8): "prevented",
        ("ci", environment_id("production"), 9): "awaiting", ("ci", "env-1", 10): "invalid"})


@pytest.fixture
def gate(platform: FakePlatform, software: FakeSoftware) -> ApprovalGate:
    return ApprovalGate(CONFIG, lambda project: site("default", software, platform=platform))


@pytest.mark.parametrize(
    ("key", "decision", "reason"),
    [
        ("OPS-1", "approved", "status is Done, resolution is Done, Change approved is yes"),
        ("ops-2", "waiting", "meets neither"),  # Done, but the approval field is not set
        ("OPS-3", "rejected", "resolution is"),
        ("OPS-4", "waiting", "'In Progress'"),
        ("PAY-1", "approved", "status is Approved"),
        ("PAY-2", "rejected", "status is REJECTED"),
        ("PAY-3", "waiting", "'To Do'"),
        ("EMPTY-1", "waiting", "no approval criteria are configured for project EMPTY"),
    ],
)
def test_criteria(gate: ApprovalGate, key: str, decision: str, reason: str) -> None:
    answer = gate.decide(key)
    assert (answer.decision, answer.source) == (decision, "criteria")
    assert reason in answer.reason
    assert answer.issue_key == key.upper()


def test_field_names_are_looked_up_once(gate: ApprovalGate, platform: FakePlatform) -> None:
    gate.decide("OPS-1")
    gate.decide("OPS-2")
    assert platform.calls.count("fields") == 1
    assert platform.calls[-1] == "get_issue OPS-2 customfield_10050,resolution,status"


@pytest.mark.parametrize(("sequence", "decision"), [(7, "approved"), (8, "rejected"), (9, "waiting")])
def test_jiras_gating_status(gate: ApprovalGate, software: FakeSoftware, sequence: int, decision: str) -> None:
    answer = gate.decide("OPS-4", GatedDeployment("ci", "production", sequence))
    expected_status = ["allowed", "prevented", "awaiting"][sequence - 7]
    assert (answer.decision, answer.source, answer.gating_status) == (decision, "gating-status", expected_status)
    assert software.requests[-1][1] == {"pipeline": "ci", "environment": environment_id("production"),
                                        "sequence": sequence}


def test_invalid_gating_status_fails_closed(gate: ApprovalGate) -> None:
    answer = gate.decide("OPS-4", GatedDeployment("ci", "env-1", 10, environment_is_id=True))
    assert (answer.decision, answer.gating_status) == ("rejected", "invalid")


def test_not_an_issue_key_and_unknown_issue(gate: ApprovalGate) -> None:
    with pytest.raises(NotAnIssueKey):
        gate.decide("OPS-01")
    with pytest.raises(NotFoundInJira, match="Jira has no such issue"):
        gate.decide("OPS-999")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, None),
        ({"other": "x"}, None),
        ({"pipeline": "ci", "environment": "Production", "deployment": "7"}, GatedDeployment("ci", "Production", 7)),
        ({"pipeline": "ci", "environmentId": "prod-1", "deployment": "7"},
         GatedDeployment("ci", "prod-1", 7, environment_is_id=True)),
    ],
)
def test_gating_query(query: dict[str, str], expected: GatedDeployment | None) -> None:
    assert gated_from_query(query) == expected


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"pipeline": "ci"}, "missing deployment, environment"),
        ({"pipeline": "ci", "environment": "p", "deployment": "²"}, "deployment (a number)"),
        ({"pipeline": "ci", "environment": "p", "deployment": "1" * 19}, "deployment (a number)"),
        ({"pipeline": "ci", "environmentId": "", "deployment": "7"}, "missing environmentId"),
        ({"pipeline": "", "environment": "p", "deployment": "7"}, "missing pipeline"),
    ],
)
def test_gating_query_needs_all_three(query: dict[str, str], problem: str) -> None:
    with pytest.raises(GatingQueryInvalid, match=re.escape(problem)):
        gated_from_query(query)


def test_a_caller_limited_to_projects_asks_only_about_their_issues(gate: ApprovalGate,
                                                                  platform: FakePlatform) -> None:
    asked = len(platform.calls)
    with pytest.raises(ProjectNotAllowed, match="issues of projects OPS only, not PAY-1"):
        gate.decide("pay-1", allowed_projects=["ops"])
    with pytest.raises(ProjectNotAllowed, match="issues of no project only"):
        gate.decide("OPS-1", allowed_projects=[])
    with pytest.raises(ProjectNotAllowed):  # before Jira is asked, gated or not
        gate.decide("PAY-1", GatedDeployment("ci", "production", 7), allowed_projects=["OPS"])
    assert len(platform.calls) == asked
    assert gate.decide("OPS-1", allowed_projects=["OPS", "PAY"]).decision == "approved"
    assert gate.decide("PAY-1", allowed_projects=None).decision == "approved"


def test_gating_details_name_only_the_callers_projects(gate: ApprovalGate, software: FakeSoftware) -> None:
    software.gating_details = ({"type": "issue", "issueKey": "OPS-4"}, {"type": "issue", "issueKey": "PAY-9"},
                               {"type": "other"})
    answer = gate.decide("OPS-4", GatedDeployment("ci", "production", 7), allowed_projects=["OPS"])
    assert answer.details == ({"type": "issue", "issueKey": "OPS-4"}, {"type": "other"})
    assert len(gate.decide("OPS-4", GatedDeployment("ci", "production", 7)).details) == 3


def test_the_shipped_config_is_valid() -> None:
    config = load_ci_config(ROOT / "config" / "ci.yaml")
    rule = config.approval.rule_for("OPS")
    assert rule is not None
    assert rule.approved.status == ["Done"]
    assert config.approval.rule_for("ANY") == config.approval.default


def test_config_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "ci.yaml"
    path.write_text("native:\n  project: ops\napproval:\n  default:\n    aproved: {status: [Done]}\n")
    with pytest.raises(ConfigurationError) as raised:
        load_ci_config(path)
    assert "ci.yaml:2: native.project" in str(raised.value)
    assert "ci.yaml:5: approval.default.aproved: is not a known setting" in str(raised.value)
    assert load_ci_config(tmp_path / "missing.yaml").approval.default is None

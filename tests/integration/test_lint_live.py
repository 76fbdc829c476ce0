"""`jira-bridge lint --local` / `--connector X`: statuses, workflow paths and select options the runbooks
name, checked against Jira (the simulator here); each misconfiguration an error with file:line and a
"did you mean" suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from jira_bridge.adapters import jira_client_for
from jira_bridge.incidents.lint import Problem, lint_file
from local_runtime.environment import LocalEnvironment
from tests.integration.conftest import BOTH_SITES, connector_as

pytestmark = [pytest.mark.integration, BOTH_SITES]

SHIPPED = (Path(__file__).resolve().parents[2] / "config" / "runbooks.yaml").read_text()


def live_errors(env: LocalEnvironment, tmp_path: Path, text: str) -> list[Problem]:
    path = tmp_path / "runbooks.yaml"
    path.write_text(text)
    return [p for p in lint_file(path, jira_client_for(connector_as(env))) if not p.warning]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_shipped_config_matches_the_sites_workflow_and_options(env: LocalEnvironment, tmp_path: Path) -> None:
    assert live_errors(env, tmp_path, SHIPPED) == []


@pytest.mark.parametrize(("before", "after", "expected"), [
    # a literal transition target
    ("          to: {map: status, from: state}\n", "          to: In Progrss\n",
     "OPS Incident's workflow has no status 'In Progrss'; did you mean 'in progress'?"),
    # reopen.status
    ("runbooks:\n", "reopen: {mode: transition, status: In Prgress}\nrunbooks:\n",
     "OPS Incident's workflow has no status 'In Prgress'; did you mean 'in progress'?"),
    # terminal_statuses
    ("runbooks:\n", "terminal_statuses: [Wont Do]\nrunbooks:\n",
     "OPS Incident's workflow has no status 'Wont Do'; did you mean \"won't do\"?"),
    # a workflow snapshot naming a status Jira does not have (stale or misspelt)
    ("In Review: indeterminate,", "In Review: indeterminate, In Reveiw: indeterminate,",
     "OPS Incident's workflow has no status 'In Reveiw'; did you mean 'in review'?"),
    # a select option through a mapping
    ("      SEV2: SEV2\n", "      SEV2: SEV02\n",
     "Severity (customfield_10041) has no option 'SEV02'; did you mean 'sev2'?"),
    # a select option as a mapping default
    ("from: severity, default: SEV3}", "from: severity, default: Sev-3}",
     "Severity (customfield_10041) has no option 'Sev-3'; did you mean 'sev3'?"),
    # a literal multi-select option
    ("            customfield_10045: \"{{ incident.url or '' }}\"",
     "            customfield_10042: [api, paymnts]\n            customfield_10045: \"{{ incident.url or '' }}\"",
     "Affected services (customfield_10042) has no option 'paymnts'; did you mean 'payments'?"),
])
def test_each_misconfiguration_is_an_error_with_file_line_and_a_suggestion(
    env: LocalEnvironment, tmp_path: Path, before: str, after: str, expected: str
) -> None:
    assert before in SHIPPED
    text = SHIPPED.replace(before, after, 1)
    problems = live_errors(env, tmp_path, text)
    matching = [p for p in problems if expected in p.message]
    assert len(matching) == 1, [str(p) for p in problems]
    changed = next(line for line in after.splitlines() if line not in before.splitlines())
    assert matching[0].where == f"runbooks.yaml:{line_of(text, changed.strip())}"


def test_a_mapped_status_the_snapshot_cannot_reach_is_an_error(env: LocalEnvironment, tmp_path: Path) -> None:
    done = '      - {id: "31", name: Done, from: [In Review], to: Done, required: [resolution]}\n'
    assert done in SHIPPED
    text = SHIPPED.replace(done, "", 1)
    [problem] = [p for p in live_errors(env, tmp_path, text) if "no transition path" in p.message]
    assert "from 'To Do' to 'Done'" in problem.message
    assert "In Review" in problem.message  # what is reachable, so the gap is visible
    assert problem.where == f"runbooks.yaml:{line_of(text, 'resolved: Done')}"

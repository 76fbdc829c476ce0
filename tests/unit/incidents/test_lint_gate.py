"""`jira-bridge lint` as a gate: each misconfiguration that would silently do nothing is an error with
file:line and a suggestion; names that merely render empty are warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from jira_bridge.incidents.lint import Problem, lint_file

pytestmark = pytest.mark.unit

SHIPPED = (Path(__file__).resolve().parents[3] / "config" / "runbooks.yaml").read_text()


def lint(tmp_path: Path, text: str) -> list[Problem]:
    path = tmp_path / "runbooks.yaml"
    path.write_text(text)
    return lint_file(path)


def errors(problems: list[Problem]) -> list[str]:
    return [str(p) for p in problems if not p.warning]


def test_the_shipped_config_is_clean(tmp_path: Path) -> None:
    assert lint(tmp_path, SHIPPED) == []


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(("before", "after", "expected"), [
    ("trigger: {type: field_changed, field: severity}", "trigger: {type: field_changed, field: severty}",
     "unknown incident field 'severty'; did you mean 'severity'?"),
    ("priority: {map: severity, from: severity, default: Medium}",
     "priority: {map: severity, from: sevrity, default: Medium}", "did you mean 'severity'?"),
    ("priority: {map: severity, from: severity, default: Medium}",
     "priority: {map: severty, from: severity, default: Medium}", "no mapping named 'severty'; did you mean"),
    ("    resolved: Done\n", "    resolved: Dnoe\n", "workflow OPS has no status 'Dnoe'; did you mean 'done'?"),
])
def test_a_misspelling_is_an_error_with_file_line_and_a_suggestion(
    tmp_path: Path, before: str, after: str, expected: str
) -> None:
    assert before in SHIPPED
    text = SHIPPED.replace(before, after, 1)
    [problem] = errors(lint(tmp_path, text))
    assert expected in problem
    assert problem.startswith(f"runbooks.yaml:{line_of(text, after.strip().splitlines()[0])}")


def test_a_condition_on_a_misspelt_field_is_an_error(tmp_path: Path) -> None:
    condition = "    conditions: [{field: enviroment, equals: production}]\n"
    text = SHIPPED.replace("    trigger: {type: created}\n", "    trigger: {type: created}\n" + condition, 1)
    [problem] = errors(lint(tmp_path, text))
    assert "did you mean 'environment'?" in problem


def test_a_custom_field_name_is_only_a_warning(tmp_path: Path) -> None:
    text = SHIPPED.replace("    trigger: {type: created}\n",
                           "    trigger: {type: created}\n    conditions: [{field: region, equals: eu-west-1}]\n", 1)
    [problem] = lint(tmp_path, text)
    assert problem.warning
    assert "incident.custom_fields.region" in problem.message


def test_duplicate_yaml_keys_are_an_error_naming_both_lines(tmp_path: Path) -> None:
    text = SHIPPED.replace("    SEV2: High\n", "    SEV2: High\n    SEV2: Highest\n", 1)
    [problem] = lint(tmp_path, text)
    assert "key 'SEV2' appears twice" in str(problem)
    assert f"runbooks.yaml:{line_of(text, 'SEV2: Highest')}" in str(problem)
    assert f"first on line {line_of(text, 'SEV2: High')}" in str(problem)


def test_an_unknown_template_name_is_a_warning_not_an_error(tmp_path: Path) -> None:
    text = SHIPPED.replace('summary: "[[incident.severity]] {{ incident.title }}"',
                           'summary: "[[incident.severity]] {{ incident.titel }}"', 1)
    [problem] = lint(tmp_path, text)
    assert problem.warning
    assert "titel" in problem.message
    assert "renders empty at run time" in problem.message


def test_a_request_type_offline_is_a_warning_that_it_was_not_checked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only Jira knows a service desk's request types: offline, lint says it did not check the name."""
    from jira_bridge_cli.main import main

    text = """
runbooks:
  - name: open
    trigger: {type: created}
    actions:
      - create_issue: {project: HELP, issue_type: Task, request_type: Report a system problem, summary: x}
"""
    problems = lint(tmp_path, text)
    assert [str(p) for p in problems] == [
        "runbooks.yaml:6: warning: request_type 'Report a system problem' was not checked: lint ran offline; "
        "run `jira-bridge lint --connector NAME` to check it against the project's request types"]
    assert main(["lint", str(tmp_path / "runbooks.yaml")]) == 0
    assert "ok, 1 warning(s)" in capsys.readouterr().out

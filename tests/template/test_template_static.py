"""template.yaml passes every static gate: cfn-lint (+ serverless rules), `sam validate --lint`, checkov.

No AWS account, region or Docker is needed. A missing tool env fails with the make target that
installs it; nothing is skipped silently.
"""

from __future__ import annotations

import re

import pytest

from local_runtime.cfn_yaml import load_template
from tests.template.conftest import REPO_ROOT, TEMPLATE, run_tool, tool

pytestmark = pytest.mark.template

CHECKOV_CONFIG = REPO_ROOT / ".checkov.yaml"


def _report(name: str, result: object) -> str:
    return f"{name} exited {result.returncode}:\n{result.stdout}"  # type: ignore[attr-defined]


def test_cfn_lint_with_serverless_rules_is_clean() -> None:
    cfn_lint = tool("cfnlint", "cfn-lint")
    # The template path goes BEFORE -a: `-a` is greedy and would swallow it.
    result = run_tool([cfn_lint, TEMPLATE.name, "-a", "cfn_lint_serverless.rules"])
    # cfn-lint's exit code is a bitmask: 2 error, 4 warning, 8 informational. All must be clear.
    assert result.returncode == 0, _report("cfn-lint", result)


def test_sam_validate_lint_is_clean() -> None:
    sam = tool("sam", "sam")
    result = run_tool([sam, "validate", "--lint", "--template-file", TEMPLATE.name])
    assert result.returncode == 0, _report("sam validate --lint", result)
    assert "is a valid SAM Template" in result.stdout, _report("sam validate --lint", result)


def test_checkov_is_clean() -> None:
    checkov = tool("checkov", "checkov")
    result = run_tool(
        [
            checkov,
            "--file", TEMPLATE.name,
            "--framework", "cloudformation",
            "--config-file", CHECKOV_CONFIG.name,
            "--skip-download",
            "--compact",
            "--quiet",
        ]
    )  # fmt: skip
    assert result.returncode == 0, _report("checkov", result)
    assert "Failed checks: 0" in result.stdout, _report("checkov", result)


def test_every_checkov_skip_has_a_written_reason() -> None:
    """Global skips carry a comment above them; resource-level skips carry a `comment`."""
    lines = CHECKOV_CONFIG.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.match(r"\s*-\s*CKV", line):
            assert number > 0, f".checkov.yaml starts with a skip: `{line.strip()}` needs a reason"
            assert lines[number - 1].strip().startswith("#"), (
                f".checkov.yaml line {number + 1}: `{line.strip()}` needs a `# reason` line above it"
            )
    for logical_id, resource in load_template(TEMPLATE)["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert str(skip.get("comment", "")).strip(), f"{logical_id}: checkov skip {skip} has no comment"


def test_every_cfn_lint_suppression_says_why() -> None:
    """`ignore_checks` entries are YAML comments-only territory: require `- RULE # why` on the line."""
    text = TEMPLATE.read_text(encoding="utf-8").splitlines()
    inside = False
    for number, line in enumerate(text, start=1):
        if line.strip() == "ignore_checks:":
            inside = True
            continue
        if inside and re.match(r"\s*-\s*[A-Z]+\d+", line):
            assert "#" in line, f"template.yaml:{number}: `{line.strip()}` needs a `# reason` comment"
            continue
        inside = False

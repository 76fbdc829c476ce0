"""Shared fixtures of the template tier: the repo root, the parsed template and the tool envs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from local_runtime.cfn_yaml import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
# `make template TOOLS=<dir>` passes its TOOLS here (a worktree uses the main checkout's tool envs).
TOOLS = Path(os.environ.get("JIRA_BRIDGE_TOOLS") or REPO_ROOT / ".tools").resolve()
INSTALL_HINT = "run `make tools` to install the template toolchain into .tools/ (or make template TOOLS=<dir>)"


def tool(env: str, executable: str) -> Path:
    """A tool from its own environment under .tools/; FAIL (never skip) when it is missing."""
    path = TOOLS / env / "bin" / executable
    if not path.is_file():
        pytest.fail(f"{path} is missing: {INSTALL_HINT}", pytrace=False)
    return path


def tool_env() -> dict[str, str]:
    """Environment for tool subprocesses: no telemetry, no update checks, no AWS account needed."""
    env = dict(os.environ)
    env["SAM_CLI_TELEMETRY"] = "0"
    env.pop("AWS_PROFILE", None)
    return env


def run_tool(
    args: list[str | Path], timeout: float = 120, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool from the repo root, capturing stdout and stderr together."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=REPO_ROOT,
        env={**tool_env(), **(extra_env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)

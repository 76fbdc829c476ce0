"""The README's CI -> Jira one-liners, run as written against the local stack (curl, jq, openssl)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from local_runtime.environment import (
    LOCAL_CI_API_KEY,
    LOCAL_CI_HMAC_CALLER,
    LOCAL_CI_HMAC_SECRET,
    LocalEnvironment,
)
from tests.integration.ci_support import open_issues

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## CI -> Jira"):text.index("## Configuration reference")]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(), re.DOTALL)


def run(command: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=30, check=False, cwd=cwd)


@pytest.fixture
def tools() -> None:
    missing = [tool for tool in ("curl", "jq", "openssl", "git", "bash") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


def test_the_readme_points_at_the_published_schema() -> None:
    # The schema file itself is kept equal to the model by tests/unit/test_published_schemas.py.
    assert "(schemas/ci-notification.schema.json)" in section()


def test_one_liners_report_to_jira(env: LocalEnvironment, tools: None, tmp_path: Path) -> None:
    open_issues(env, 1)
    github, gitlab, shell, signed_get, poll, issue_step = blocks("bash")
    base = {"JIRA_BRIDGE_URL": env.api.url(""), "JIRA_BRIDGE_API_KEY": LOCAL_CI_API_KEY}

    github = github.replace("${{ job.status }}", "success")
    answer = run(github, {**base, "GITHUB_REPOSITORY": "acme/shop", "GITHUB_WORKFLOW": "CI", "GITHUB_RUN_NUMBER": "31",
                          "GITHUB_RUN_ATTEMPT": "1", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "9",
                          "GITHUB_SHA": "9f1c2e4", "GITHUB_HEAD_REF": "", "GITHUB_REF_NAME": "main",
                          "PR_TITLE": "", "COMMITS": json.dumps([{"id": "9f1c2e4", "message": "OPS-1: it's fixed"}])})
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["results"][0]["status"] == "reported"
    assert env.jira.build("acme/shop/CI", 31) is not None

    answer = run(gitlab, {**base, "CI_PROJECT_PATH": "acme/shop", "CI_PROJECT_NAME": "shop",
                          "CI_PROJECT_URL": "https://gitlab.com/acme/shop", "CI_PIPELINE_IID": "77",
                          "CI_PIPELINE_URL": "https://gitlab.com/acme/shop/-/pipelines/1077", "CI_JOB_STATUS": "failed",
                          "CI_COMMIT_SHA": "9f1c2e4", "CI_COMMIT_MESSAGE": "Fix \"quotes\" for ops-1\n\nbody",
                          "CI_COMMIT_REF_NAME": "main"})
    assert answer.returncode == 0, answer.stderr
    build = env.jira.build("acme/shop", 77)
    assert build is not None
    assert build["state"] == "failed"

    subprocess.run(["git", "init", "-q", "-b", "feature/OPS-1-x"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=CI", "commit", "-q", "--allow-empty",
                    "-m", "nightly: it's ops-1 again"], cwd=tmp_path, check=True)
    shell = shell.replace("X-Jira-Bridge-Caller: jenkins", f"X-Jira-Bridge-Caller: {LOCAL_CI_HMAC_CALLER}")
    answer = run(shell, {**base, "JIRA_BRIDGE_HMAC_SECRET": LOCAL_CI_HMAC_SECRET}, cwd=tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert env.jira.build("nightly", 42) is not None

    # The signed GET, as documented: Jira's gating status for a reported deployment.
    from jira_bridge.ci.environments import environment_id
    from tests.integration.ci_support import PIPELINE, notification, notify

    assert notify(env, notification(21, ENVIRONMENT_NAME="production")).status_code == 202
    env.jira.software.set_gating_status(PIPELINE["id"], environment_id("production"), 21, "allowed")
    signed_get = (signed_get.replace("OPS-12", "OPS-1").replace("acme%2Fshop", quote(PIPELINE["id"], safe=""))
                  .replace("X-Jira-Bridge-Caller: jenkins", f"X-Jira-Bridge-Caller: {LOCAL_CI_HMAC_CALLER}"))
    answer = run(signed_get, {**base, "JIRA_BRIDGE_HMAC_SECRET": LOCAL_CI_HMAC_SECRET})
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["decision"] == "approved"

    env.jira.as_user("alice@example.com").move_to("OPS-1", "Done")
    answer = run(poll.replace("OPS-12", "OPS-1"), base)
    assert answer.returncode == 0, answer.stderr

    # The issue step, run twice as a retried pipeline step would: one issue, moved and commented.
    step_env = {**base, "CI_PIPELINE_ID": "4242", "CI_COMMIT_TAG": "v2.4.1",
                "CI_PIPELINE_URL": "https://gitlab.com/acme/shop/-/pipelines/4242"}
    first, again = run(issue_step, step_env), run(issue_step, step_env)
    assert first.returncode == 0, first.stderr
    assert json.loads(again.stdout) == {**json.loads(first.stdout), "duplicate": True}
    created = [i for i in env.jira.issues() if i.fields.get("summary") == "Release v2.4.1"]
    assert len(created) == 1
    assert len(created[0].comments) == 1

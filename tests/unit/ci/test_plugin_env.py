"""`jira-bridge ci notify`: the plugins/jira settings and the CI's variables, as a notification."""

from __future__ import annotations

import pytest

from jira_bridge.ci.sources.generic import CiNotification
from jira_bridge.errors import ConfigurationError
from jira_bridge_cli.bridge_client import Credentials, _seconds, wait_for_decision
from jira_bridge_cli.plugin_env import notification_from_env

DRONE = {
    "PLUGIN_PROJECT": "OPS", "PLUGIN_PIPELINE": "shop deploy", "PLUGIN_ENVIRONMENT_NAME": "Stàging",
    "PLUGIN_STATE": "terminated", "PLUGIN_ISSUEKEYS": "OPS-7, OPS-8", "PLUGIN_LOG_LEVEL": "trace",
    "PLUGIN_CLOUD_ID": "abc", "PLUGIN_LINK": "https://drone.example.com/x/9",
    "DRONE_BUILD_NUMBER": "9", "DRONE_BUILD_STATUS": "success", "DRONE_BUILD_LINK": "https://ignored.example.com",
    "DRONE_COMMIT_MESSAGE": "OPS-1 fix", "DRONE_PULL_REQUEST_TITLE": "OPS-2 title", "DRONE_COMMIT_SOURCE": "ops-3-x",
    "DRONE_BUILD_STARTED": "1764820800", "DRONE_REPO": "acme/shop",
}


def test_drone_step_settings_win_over_the_build_variables() -> None:
    body, notes = notification_from_env(DRONE)
    assert body == {
        "pipeline": {"id": "shop deploy", "name": "shop deploy"}, "build_number": 9,
        "url": "https://drone.example.com/x/9", "state": "terminated", "PROJECT": "OPS", "CLOUD_ID": "abc",
        "ENVIRONMENT_NAME": "Stàging", "pr_title": "OPS-2 title", "branch": "ops-3-x",
        "started_at": "2025-12-04T04:00:00+00:00", "commits": ["OPS-1 fix"], "ISSUE_KEYS": ["OPS-7", "OPS-8"],
        "LOG_LEVEL": "debug",
    }
    assert notes == []
    CiNotification.model_validate(body)  # a valid /ci/notify body


def test_woodpecker_and_gitlab_variables() -> None:
    woodpecker = {"CI_PIPELINE_NUMBER": "12", "CI_REPO": "acme/api", "CI_PIPELINE_URL": "https://ci.example.com/12",
                  "CI_PIPELINE_STATUS": "failure", "CI_COMMIT_MESSAGE": "API-4 x", "CI_COMMIT_SHA": "abc",
                  "CI_PIPELINE_DEPLOY_TARGET": "production", "CI_REPO_URL": "https://git.example.com/acme/api",
                  "CI_COMMIT_BRANCH": "main"}
    body, _ = notification_from_env(woodpecker)
    assert (body["pipeline"]["id"], body["build_number"], body["state"], body["ENVIRONMENT_NAME"], body["commit"]) == (
        "acme/api", 12, "failure", "production", "abc")
    gitlab = {"CI_PIPELINE_IID": "3", "CI_PROJECT_PATH": "g/p", "CI_PIPELINE_URL": "https://gitlab.com/g/p/-/pipelines/3",
              "CI_JOB_STATUS": "success", "CI_MERGE_REQUEST_TITLE": "P-1 t", "CI_COMMIT_REF_NAME": "p-2",
              "CI_PIPELINE_CREATED_AT": "2026-12-04T10:00:00Z", "CI_PROJECT_URL": "https://gitlab.com/g/p"}
    body, _ = notification_from_env(gitlab)
    assert (body["build_number"], body["pr_title"], body["branch"], body["started_at"], body["repository_url"]) == (
        3, "P-1 t", "p-2", "2026-12-04T10:00:00Z", "https://gitlab.com/g/p")
    CiNotification.model_validate(body)


def test_what_is_missing_or_ignored_is_said() -> None:
    with pytest.raises(ConfigurationError, match="no link to the run: set PLUGIN_LINK or DRONE_BUILD_LINK"):
        notification_from_env({"DRONE_BUILD_NUMBER": "1", "DRONE_REPO": "r", "DRONE_BUILD_STATUS": "success"})
    with pytest.raises(ConfigurationError, match="the build number 'x1' is not a number"):
        notification_from_env({**DRONE, "DRONE_BUILD_NUMBER": "x1"})
    _, notes = notification_from_env({**DRONE, "PLUGIN_CONNECT_KEY": "k-secret", "PLUGIN_LOG_LEVEL": "loud"})
    assert notes == ["PLUGIN_CONNECT_KEY is not used: Jira's credentials live in the bridge's connector secret",
                     "PLUGIN_LOG_LEVEL='loud' is not a level (debug, trace, info, warning, error): ignored"]


def test_credentials_and_retry_after() -> None:
    assert Credentials.from_values("key", "c", "s").headers("GET", "/p", "", None) == {"X-Api-Key": "key"}
    signed = Credentials.from_values(None, "jenkins", "s" * 16).headers("POST", "/ci/notify", "", b"{}")
    assert signed["X-Jira-Bridge-Caller"] == "jenkins"
    assert signed["X-Hub-Signature-256"].startswith("sha256=")
    get = Credentials.from_values(None, "jenkins", "s" * 16).headers("GET", "/ci/approval/OPS-1", "", None)
    assert "X-Jira-Bridge-Timestamp" in get
    with pytest.raises(ConfigurationError, match="needs a CI caller's credentials"):
        Credentials.from_values(None, None, None)
    assert [_seconds(v) for v in ("30", "", "soon", "-5")] == [30.0, None, None, 0.0]


def test_wait_for_decision_without_wait_asks_once() -> None:
    asked: list[float] = []

    def ask(deadline: float) -> dict[str, str]:
        asked.append(deadline)
        return {"decision": "waiting"}

    assert wait_for_decision(ask, timeout=0, interval=15) == ({"decision": "waiting"}, False)
    assert len(asked) == 1

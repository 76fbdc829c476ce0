"""The pipeline-side CLI against the local stack: `jira-bridge ci approval --wait --timeout` and the
`plugins/jira` drop-in (`jira-bridge ci notify` and its entry script, from a shell).

Waiting runs on a simulated clock (`jira_bridge_cli.bridge_client.CLOCK`): an hour's polling takes
no real time, and what happens "meanwhile" in Jira happens in the clock's sleep."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from jira_bridge_cli import bridge_client
from jira_bridge_cli.main import main
from jira_sim.seed import ALICE_EMAIL
from local_runtime.clock import SimClock
from local_runtime.environment import LOCAL_CI_API_KEY, LOCAL_CI_HMAC_CALLER, LOCAL_CI_HMAC_SECRET, LocalEnvironment
from tests.integration.ci_support import open_issues

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


class StepClock(SimClock):
    """A simulated clock that records each sleep and runs ``meanwhile(n)`` during the n-th one."""

    def __init__(self, meanwhile: Callable[[int], None] = lambda n: None) -> None:
        super().__init__()
        self.sleeps: list[float] = []
        self.meanwhile = meanwhile

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super().sleep(seconds)
        self.meanwhile(len(self.sleeps))


@pytest.fixture
def use_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[StepClock], StepClock]:
    def install(clock: StepClock) -> StepClock:
        monkeypatch.setattr(bridge_client, "CLOCK", [clock.monotonic, clock.sleep])
        return clock

    return install


def test_wait_returns_when_the_issue_is_moved(env: LocalEnvironment, use_clock: Callable[[StepClock], StepClock],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    key = open_issues(env, 1)[0]
    alice = env.jira.as_user(ALICE_EMAIL)

    def meanwhile(n: int) -> None:
        if n == 3:  # 45 simulated seconds in, someone finishes the change in Jira
            alice.move_to(key, "Done")

    clock = use_clock(StepClock(meanwhile))
    code = main(["ci", "approval", key, "--url", env.api.url(""), "--api-key", LOCAL_CI_API_KEY, "--wait",
                 "--timeout", "3600"])
    assert code == 0
    assert capsys.readouterr().out.startswith(f"{key}: approved (status is Done")
    assert clock.sleeps == [15.0, 15.0, 15.0], "polled every --interval until the decision changed"


def test_wait_times_out_cleanly(env: LocalEnvironment, use_clock: Callable[[StepClock], StepClock],
                                capsys: pytest.CaptureFixture[str]) -> None:
    key = open_issues(env, 1)[0]
    clock = use_clock(StepClock())
    env.jira.reset_log()
    code = main(["ci", "approval", key, "--url", env.api.url(""), "--api-key", LOCAL_CI_API_KEY, "--wait",
                 "--timeout", "60", "--interval", "15"])
    assert code == 3, "timed out: neither approved (0) nor rejected (1)"
    out, err = capsys.readouterr()
    assert out.startswith(f"{key}: waiting (")
    assert err.strip() == f"jira-bridge: {key} is still waiting after 60 s (--timeout): no decision"
    assert clock.elapsed == 60.0, "never waits past the timeout"
    assert env.jira.count("GET", f"/rest/api/3/issue/{key}") == 5, "asked at 0, 15, 30, 45 and 60 s"


def test_rejected_is_its_own_exit_code(env: LocalEnvironment, use_clock: Callable[[StepClock], StepClock],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    key = open_issues(env, 1)[0]
    use_clock(StepClock(lambda n: env.jira.as_user(ALICE_EMAIL).move_to(key, "In Review") if n == 1 else None))
    criteria = '{"approved": {"jql": "status = Done"}, "rejected": {"jql": "status = \'In Review\'"}}'
    monkeypatch.setenv("JIRA_BRIDGE_HMAC_SECRET", LOCAL_CI_HMAC_SECRET)  # the criteria body is signed
    assert main(["ci", "approval", key, "--url", env.api.url(""), "--caller", LOCAL_CI_HMAC_CALLER, "--wait",
                 "--criteria", criteria]) == 1


def test_wait_honours_retry_after_while_the_bridge_is_unavailable(
        env: LocalEnvironment, use_clock: Callable[[StepClock], StepClock], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    key = open_issues(env, 1)[0]
    env.jira.faults.server_error(503, count=None, retry_after=120, method="GET", path="/rest/api/3/issue/*")

    def meanwhile(n: int) -> None:
        if n == 2:
            env.jira.faults.clear()  # Jira is back during the bridge's second Retry-After

    clock = use_clock(StepClock(meanwhile))
    # An HMAC caller: every attempt is signed afresh (method, path, query and timestamp).
    monkeypatch.setenv("JIRA_BRIDGE_HMAC_SECRET", LOCAL_CI_HMAC_SECRET)
    monkeypatch.setenv("JIRA_BRIDGE_URL", env.api.url(""))
    code = main(["ci", "approval", key, "--caller", LOCAL_CI_HMAC_CALLER, "--wait", "--timeout", "600"])
    assert code == 3  # the answer once Jira is back: still waiting at 600 s
    assert clock.sleeps[:2] == [30.0, 30.0], "the bridge's 503 said Retry-After: 30"
    assert "still waiting after 600 s" in capsys.readouterr().err


def test_an_unavailable_bridge_past_the_timeout_is_exit_5_not_rejected(
        env: LocalEnvironment, use_clock: Callable[[StepClock], StepClock], capsys: pytest.CaptureFixture[str]) -> None:
    key = open_issues(env, 1)[0]
    env.jira.faults.server_error(503, count=None, retry_after=120, method="GET", path="/rest/api/3/issue/*")
    use_clock(StepClock())
    code = main(["ci", "approval", key, "--url", env.api.url(""), "--api-key", LOCAL_CI_API_KEY, "--wait",
                 "--timeout", "100"])
    assert code == 5
    err = capsys.readouterr().err
    assert f"/ci/approval/{key} answered 503: Jira is unavailable; retry later (after 4 attempts" in err
    assert "--timeout" in err


def test_bad_input_is_exit_2_at_once(env: LocalEnvironment, use_clock: Callable[[StepClock], StepClock],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    clock = use_clock(StepClock())
    base = ["--url", env.api.url(""), "--wait"]
    assert main(["ci", "approval", "OPS-999", *base, "--api-key", LOCAL_CI_API_KEY]) == 2
    assert "answered 404: Jira has no such issue" in capsys.readouterr().err
    assert main(["ci", "approval", "OPS-1", *base, "--api-key", "not-a-known-api-key-000"]) == 2
    assert "answered 401: invalid credentials" in capsys.readouterr().err
    assert main(["ci", "approval", "OPS-1", *base, "--caller", "jenkins"]) == 2
    assert "needs its HMAC secret: set JIRA_BRIDGE_HMAC_SECRET" in capsys.readouterr().err
    assert clock.sleeps == [], "a 4xx is not retried"


# ----- the plugins/jira drop-in ----------------------------------------------------------------------


def drone_env(env: LocalEnvironment, **settings: str) -> dict[str, str]:
    """What Drone gives a `plugins/jira` step: its settings as PLUGIN_*, the build as DRONE_*."""
    return {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # the venv's jira-bridge
        "PLUGIN_BRIDGE_URL": env.api.url(""),
        "PLUGIN_CALLER": LOCAL_CI_HMAC_CALLER,
        "PLUGIN_HMAC_SECRET": LOCAL_CI_HMAC_SECRET,
        "PLUGIN_PROJECT": "OPS",
        "PLUGIN_PIPELINE": "acme/shop",
        "PLUGIN_INSTANCE": env.jira.base_url,
        "DRONE_BUILD_NUMBER": "57",
        "DRONE_BUILD_STATUS": "success",
        "DRONE_BUILD_LINK": "https://drone.example.com/acme/shop/57",
        "DRONE_BUILD_STARTED": "1764820800",
        "DRONE_COMMIT_SHA": "9f2c1e7d",
        "DRONE_COMMIT_MESSAGE": "OPS-1: cache the basket",
        "DRONE_COMMIT_BRANCH": "main",
        "DRONE_SOURCE_BRANCH": "feature/ops-2-faster-checkout",
        "DRONE_REPO_LINK": "https://github.com/acme/shop",
        **settings,
    }


def shell(command: str, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/sh", "-c", command], env=variables, capture_output=True, text=True, timeout=120,
                          check=False)


def test_plugin_settings_from_a_shell_report_a_build_on_the_issues(env: LocalEnvironment) -> None:
    open_issues(env, 2)
    variables = drone_env(env, PLUGIN_CLIENT_ID="id-from-the-old-step", PLUGIN_CLIENT_SECRET="s3cr3t-old-step",
                          PLUGIN_LOG_LEVEL="info")
    done = shell(str(ROOT / "plugins" / "jira" / "entrypoint.sh"), variables)
    assert done.returncode == 0, done.stderr
    assert "build reported" in done.stdout
    assert "PLUGIN_CLIENT_SECRET is not used" in done.stderr
    assert "s3cr3t-old-step" not in done.stdout + done.stderr, "a secret's value is never printed"
    build = env.jira.build("acme/shop", 57)
    assert build is not None
    assert build["state"] == "successful"
    assert sorted(build["issueKeys"]) == ["OPS-1", "OPS-2"], "commit message and source branch"
    assert [b["buildNumber"] for b in env.jira.development_info("OPS-2")["builds"]] == [57]


def test_plugin_environment_name_reports_a_deployment(env: LocalEnvironment) -> None:
    from jira_bridge.ci.environments import environment_id

    open_issues(env, 1)
    done = shell("jira-bridge ci notify", drone_env(env, PLUGIN_ENVIRONMENT_NAME="production", PLUGIN_STATE="running",
                                                    PLUGIN_CALLER="", PLUGIN_API_KEY=LOCAL_CI_API_KEY))
    assert done.returncode == 0, done.stderr
    deployment = env.jira.deployment("acme/shop", environment_id("production"), 57)
    assert deployment is not None
    assert (deployment["state"], deployment["environment"]["type"]) == ("in_progress", "production")


def test_plugin_errors_say_which_setting(env: LocalEnvironment) -> None:
    no_number = drone_env(env)
    del no_number["DRONE_BUILD_NUMBER"]
    done = shell("jira-bridge ci notify", no_number)
    assert done.returncode == 2
    assert done.stderr.strip() == ("jira-bridge: no build number: set DRONE_BUILD_NUMBER or CI_PIPELINE_NUMBER or "
                                   "CI_PIPELINE_IID (the CI sets the latter ones itself)")
    wrong_site = shell("jira-bridge ci notify", drone_env(env, PLUGIN_INSTANCE="otherorg"))
    assert wrong_site.returncode == 1, "Jira-side refusal: 422"
    assert "INSTANCE 'otherorg' is not the site" in wrong_site.stdout
    no_url = drone_env(env)
    del no_url["PLUGIN_BRIDGE_URL"]
    assert "no bridge URL: set PLUGIN_BRIDGE_URL" in shell("jira-bridge ci notify", no_url).stderr

"""`jira-bridge connector|ci-caller set|show|list|test --local`: merged writes, masked reads, no foot-guns."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from jira_bridge_cli.main import main
from local_runtime.environment import LocalEnvironment

pytestmark = pytest.mark.integration


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([*args, "--local"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def secret(env: LocalEnvironment, name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(env.aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
    return value


def default_secret_id(env: LocalEnvironment) -> str:
    return str(env.stack.resolve(env.stack.template["Outputs"]["DefaultConnectorSecretName"]["Value"]))


def test_connector_set_keeps_the_generated_webhook_secret_and_reads_the_token_from_stdin(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    secret_id = default_secret_id(env)
    before = secret(env, secret_id)
    assert len(before["webhook_secret"]) >= 16
    user = env.jira.user("alice@example.com")
    monkeypatch.setattr("sys.stdin", io.StringIO(user.api_token + "\n"))
    code, out, err = cli(capsys, "connector", "set", "default", "--site-url", env.jira.base_url,
                         "--email", user.email, "--api-token-file", "-")
    assert code == 0, err
    assert "webhook_secret kept" in out
    after = secret(env, secret_id)
    assert after["webhook_secret"] == before["webhook_secret"], "the Jira webhook's secret must survive a set"
    assert after["api_token"] == user.api_token
    assert after["email"] == user.email
    assert user.api_token not in out + err

    # show masks every secret value; --reveal prints exactly one, for pasting into Jira
    code, out, _ = cli(capsys, "connector", "show", "default")
    assert code == 0
    assert user.api_token not in out
    assert before["webhook_secret"] not in out
    shown = json.loads(out.split("\n", 1)[1])
    assert shown["email"] == user.email
    assert shown["api_token"] == f"****({len(user.api_token)} chars)"
    code, out, _ = cli(capsys, "connector", "show", "default", "--reveal", "webhook_secret")
    assert out.strip() == before["webhook_secret"]

    # the connection test passes against the simulator, the webhook secret check included
    code, out, err = cli(capsys, "connector", "test", "default", "--project", "OPS")
    assert code == 0, out + err
    assert "PASS webhook secret" in out
    # ... and records the bridge's own account, so the functions never ask Jira who they are
    assert secret(env, secret_id)["account_id"] == user.account_id
    assert "recorded account_id" in out
    code, out, err = cli(capsys, "connector", "test", "default", "--project", "OPS")
    assert "recorded account_id" not in out, "already recorded: the secret is not written again"
    # credentials of another account: the recorded id would be someone else's, so it goes
    bob = env.jira.user("bob@example.com")
    code, _, err = cli(capsys, "connector", "set", "default", "--email", bob.email)
    assert code == 0, err
    assert "account_id" not in secret(env, secret_id)


def test_connector_test_records_the_cloud_id_so_no_container_looks_it_up(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.integration.ci_support import notification, notify, open_issues

    secret_id = default_secret_id(env)
    assert "cloud_id" not in secret(env, secret_id)
    code, out, err = cli(capsys, "connector", "test", "default", "--project", "OPS")
    assert code == 0, out + err
    cloud_id = env.jira.site.cloud_id
    assert secret(env, secret_id)["cloud_id"] == cloud_id
    assert f"PASS cloud id: recorded cloud_id {cloud_id}" in out
    assert secret(env, secret_id)["account_id"], "recorded in the same write as the account id"
    code, out, _ = cli(capsys, "connector", "test", "default", "--project", "OPS")
    assert "recorded cloud_id" not in out, "already recorded: not looked up or written again"

    # a cold CI container (the stack-wide cache empty: a fresh deployment) asks Jira only for its token
    open_issues(env, 1)
    env.cold_start()
    env.jira.reset_log()
    assert notify(env, notification(1)).status_code == 202
    assert [(r.method, r.path) for r in env.jira.requests] == [
        ("POST", "/oauth/token"), ("POST", f"/jira/builds/0.1/cloud/{cloud_id}/bulk")]

    # another site: its cloud id is another, so the recorded one goes unless given anew
    code, _, err = cli(capsys, "connector", "set", "default", "--site-url", "https://elsewhere.atlassian.net")
    assert code == 0, err
    assert "cloud_id" not in secret(env, secret_id)
    code, _, err = cli(capsys, "connector", "set", "default", "--site-url", env.jira.base_url, "--cloud-id", cloud_id)
    assert code == 0, err
    assert secret(env, secret_id)["cloud_id"] == cloud_id


def test_a_set_that_would_break_the_connector_writes_nothing(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    secret_id = default_secret_id(env)
    before = secret(env, secret_id)
    code, _, _ = cli(capsys, "connector", "set", "default", "--email", "not-an-email")
    assert code == 2
    assert secret(env, secret_id) == before
    with pytest.raises(SystemExit):  # a token on the command line is not an option at all
        main(["connector", "set", "default", "--api-token", "abc", "--local"])
    empty = tmp_path / "token"
    empty.write_text("\n")
    code, _, err = cli(capsys, "connector", "set", "default", "--api-token-file", str(empty))
    assert code == 2
    assert "is empty" in err
    assert secret(env, secret_id) == before


def test_a_missing_webhook_secret_fails_the_connector_test(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    secret_id = default_secret_id(env)
    broken = {k: v for k, v in secret(env, secret_id).items() if k != "webhook_secret"}
    env.aws.put_secret(secret_id, broken)
    code, out, _ = cli(capsys, "connector", "test", "default", "--project", "OPS")
    assert code == 1
    assert "FAIL webhook secret" in out
    assert "--regenerate-webhook-secret" in out
    code, out, _ = cli(capsys, "connector", "list")
    assert "NO webhook secret" in out


def test_new_connector_needs_create_and_gets_its_own_webhook_secret(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("payments-token")
    args = ("connector", "set", "payments", "--site-url", "https://payments.atlassian.net",
            "--email", "bot@example.com", "--api-token-file", str(token))
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert "--create" in err
    code, out, _ = cli(capsys, *args, "--create")
    assert code == 0
    assert "webhook_secret generated" in out
    created = secret(env, default_secret_id(env).removesuffix("default") + "payments")
    assert len(created["webhook_secret"]) == 64
    code, out, _ = cli(capsys, "connector", "list", "--json")
    assert {row["name"] for row in json.loads(out)} >= {"default", "payments"}


def test_ci_caller_set_keeps_other_callers_and_the_github_secret(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    secret_id = str(env.stack.resolve(env.stack.template["Outputs"]["CiCallersSecretName"]["Value"]))
    before = secret(env, secret_id)
    code, out, err = cli(capsys, "ci-caller", "set", "gitlab-ci", "--generate", "api-key", "--project", "ops")
    assert code == 0, err
    api_key = out.strip().splitlines()[-1]
    key_file = tmp_path / "hmac"
    key_file.write_text("jenkins-hmac-secret-0123456789")
    code, _, err = cli(capsys, "ci-caller", "set", "jenkins", "--hmac-secret-file", str(key_file))
    assert code == 0, err
    after = secret(env, secret_id)
    assert after["github_webhook_secret"] == before.get("github_webhook_secret")
    assert after["callers"]["gitlab-ci"] == {"api_key": api_key, "projects": ["OPS"]}
    assert after["callers"]["jenkins"] == {"hmac_secret": "jenkins-hmac-secret-0123456789"}
    code, out, _ = cli(capsys, "ci-caller", "show", "gitlab-ci")
    assert api_key not in out
    code, out, _ = cli(capsys, "ci-caller", "list", "--json")
    listed = {r["name"]: r["auth"] for r in json.loads(out)}
    assert listed.keys() == {*before["callers"], "gitlab-ci", "jenkins"}
    assert {k: after["callers"][k] for k in before["callers"]} == before["callers"], "other callers must be kept"
    assert listed["gitlab-ci"] == "api_key"
    assert cli(capsys, "ci-caller", "test", "jenkins")[0] == 0
    assert cli(capsys, "ci-caller", "test", "nobody")[0] == 1
    # the caller authenticates against the deployed-shaped API with the key the command generated
    answer = requests.get(env.api.url("/ci/approval/OPS-1"), headers={"X-Api-Key": api_key}, timeout=30)
    assert answer.status_code != 401, answer.text

"""`jira-bridge test-connection` and `jira-bridge webhooks check|register` against local Cloud and Data
Center simulators: what an operator sees, and the exit code a script would act on."""

from __future__ import annotations

import pytest

from jira_bridge_cli.main import main

pytestmark = pytest.mark.integration


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_connection_test_reports_the_datacenter_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "test-connection", "--local", "--site", "datacenter")
    assert code == 0, out
    assert "PASS Jira version: Jira Data Center 10.3.19; signs webhooks" in out


def test_connection_test_refuses_a_version_below_the_minimum_and_says_which(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "test-connection", "--local", "--site", "datacenter", "--dc-version", "9.4.1")
    assert code == 1
    assert "FAIL Jira version: Jira Data Center 9.4.1 is older than 9.12" in out
    assert "Upgrade Jira to 9.12" in out


@pytest.mark.parametrize(("site", "version", "api"), [
    ("cloud", "10.3.19", "/rest/webhooks/1.0/webhook"),
    ("datacenter", "10.3.19", "/rest/jira-webhook/1.0/webhooks"),
])
def test_check_prints_the_fix_and_register_makes_it_pass(
    capsys: pytest.CaptureFixture[str], site: str, version: str, api: str
) -> None:
    code, out = run(capsys, "webhooks", "check", "--local", "--site", site, "--dc-version", version)
    assert code == 1
    assert "none points at http://127.0.0.1:3000/webhooks/jira" in out
    assert f"POST {api}" in out
    assert "jira-bridge webhooks register --connector default" in out
    code, out = run(capsys, "webhooks", "register", "--local", "--site", site, "--dc-version", version)
    assert code == 0, out
    assert "points at http://127.0.0.1:3000/webhooks/jira: events jira:issue_created" in out


def test_a_9x_site_needs_hint_mode(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "webhooks", "register", "--local", "--site", "datacenter", "--dc-version", "9.12.15")
    assert code == 1
    assert "(/rest/webhooks/1.0/webhook, unsigned)" in out
    assert 'set "webhook_auth": "hint"' in out

"""The operator CLI against the local stack and broken setups: status by incident or issue key with
parked events, `local put-event`, and one line with a documented exit code for every failure."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from jira_bridge_cli.main import main
from local_runtime.environment import LocalEnvironment

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[2] / "events"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def created_event() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / "incident-created.eventbridge.json").read_text())
    return loaded


def test_put_event_then_status_by_incident_and_by_issue_key(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    event = created_event()
    incident = event["detail"]["incident"]["id"]
    code, out, err = run(capsys, "local", "put-event", str(EVENTS / "incident-created.eventbridge.json"))
    assert code == 0, err
    assert "published Incident Changed" in out
    env.drain()
    [issue] = env.jira.issues()

    code, out, _ = run(capsys, "status", incident, "--local")
    assert code == 0
    assert f"incident   {incident}" in out
    assert issue.key in out
    assert "parked     none" in out

    code, out, _ = run(capsys, "status", issue.key, "--local", "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["link"]["incident_id"] == incident
    assert answer["link"]["issue_key"] == issue.key
    assert answer["link"]["actions"], "the last actions are part of the answer"
    assert answer["parked"] == []


def test_status_shows_the_last_error_and_the_incidents_parked_events(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    env.jira.faults.server_error(403, count=None, method="POST", path="/rest/api/3/issue")
    event = created_event()
    incident = event["detail"]["incident"]["id"]
    env.put_events([{"Source": event["source"], "DetailType": event["detail-type"], "Detail": event["detail"],
                     "EventBusName": str(env.stack.resolve({"Ref": "IncidentBus"}))}])
    env.drain()
    _, out, _ = run(capsys, "status", incident, "--local", "--json")
    answer = json.loads(out)
    assert answer["link"]["last_error"], out
    assert [p["queue"] for p in answer["parked"]] == ["incident-events"]
    assert answer["parked"][0]["incident_id"] == incident
    _, out, _ = run(capsys, "status", incident, "--local")
    assert "last error" in out
    assert "parked     1 message(s)" in out


def test_an_unknown_incident_is_exit_1_not_a_traceback(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "status", "INC-404", "--local")
    assert code == 1
    assert "no link" in out
    assert "Traceback" not in err


def test_aws_failures_are_one_line_with_exit_4(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = run(capsys, "status", "INC-1", "--table", "links")
    assert code == 4
    assert err.startswith("jira-bridge: no AWS region: pass --region")
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "status", "INC-1", "--table", "links", "--region", "eu-west-1")
    assert code == 4
    assert "no AWS credentials" in err
    code, _, err = run(capsys, "dlq", "list", "--stack", "nope", "--profile", "missing-profile")
    assert code == 4
    assert "missing-profile" in err
    assert "Traceback" not in err


def test_an_unreachable_bridge_is_exit_5_never_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    code, _, err = run(capsys, "approval", "OPS-1", "--url", f"http://127.0.0.1:{port}/v1", "--api-key", "k" * 20)
    assert code == 5, err
    assert err.startswith("jira-bridge: cannot reach http://127.0.0.1:")
    assert len(err.strip().splitlines()) == 1


def test_local_start_prints_the_credentials_and_a_curl_that_works(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    import shlex
    import subprocess

    from jira_bridge_cli.main import local_start_help

    text = local_start_help(env)
    assert "AWS_ACCESS_KEY_ID=" in text
    [curl] = [line.strip() for line in text.splitlines() if line.strip().startswith("curl ")]
    answer = subprocess.run([*shlex.split(curl), "-w", "\n%{http_code}"], capture_output=True,
                            text=True, timeout=30, check=False)
    body, status = answer.stdout.rsplit("\n", 1)
    # authenticated: the bridge answers for the issue (the simulator has no OPS-1 until the demo creates it)
    assert status in {"200", "404"}, (curl, answer.stdout, answer.stderr)
    assert "issue" in body, body


def test_a_webhook_only_tool_posts_incidents_with_its_own_credentials(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    import requests

    from local_runtime.environment import LOCAL_CI_API_KEY, LOCAL_INCIDENT_API_KEY

    detail = created_event()["detail"]
    url = env.api.url("/incidents")
    body = json.dumps(detail)
    assert requests.post(url, data=body, timeout=10).status_code == 401
    ci_key = requests.post(url, data=body, headers={"X-Api-Key": LOCAL_CI_API_KEY}, timeout=10)
    assert ci_key.status_code == 401, "CI callers are not incident callers"
    invalid = requests.post(url, data=json.dumps({"incident": {}}), headers={"X-Api-Key": LOCAL_INCIDENT_API_KEY},
                            timeout=10)
    assert invalid.status_code == 400
    assert "not an Incident Changed event" in invalid.json()["message"]
    answer = requests.post(url, data=body, headers={"X-Api-Key": LOCAL_INCIDENT_API_KEY}, timeout=10)
    assert answer.status_code == 202, answer.text
    assert answer.json()["incident_id"] == detail["incident"]["id"]
    again = requests.post(url, data=body, headers={"Authorization": f"Bearer {LOCAL_INCIDENT_API_KEY}"}, timeout=10)
    assert again.status_code == 202  # a tool's retry: published again, applied once
    env.drain()
    [issue] = env.jira.issues()
    assert issue.properties["jira-bridge"]["incidentId"] == detail["incident"]["id"]

    # an operator adds an HMAC caller with the CLI; once the function's secret cache (5 minutes) has
    # expired, the new caller signs and posts
    import hashlib
    import hmac

    from aws_lambda_powertools.utilities import parameters

    code, out, err = run(capsys, "incident-caller", "set", "opsgenie-relay", "--generate", "hmac", "--local")
    assert code == 0, err
    secret = out.strip().splitlines()[-1]
    parameters.clear_caches()  # the 5 minutes, elapsed
    signature = "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    signed = requests.post(url, data=body, timeout=10, headers={
        "X-Jira-Bridge-Caller": "opsgenie-relay", "X-Hub-Signature-256": signature})
    assert signed.status_code == 202, signed.text
    forged = requests.post(url, data=body, timeout=10, headers={
        "X-Jira-Bridge-Caller": "opsgenie-relay", "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert forged.status_code == 401

"""Secrets never reach the logs, at any log level.

Every flow runs with the Lambda runtime's application log level at DEBUG (the root logger, which is
what `LoggingConfig.ApplicationLogLevel: DEBUG` sets), Powertools at DEBUG (the service logger and
`POWERTOOLS_DEBUG`, the package's own logger) and `POWERTOOLS_LOGGER_LOG_EVENT=true`. Every record
any logger emits is captured, formatted and scanned for every secret value the stack holds: the
connector's API token (and the Basic header it becomes), webhook secret and OAuth client secret,
the OAuth access tokens Jira issued, the CI callers' API key and HMAC secret, the GitHub webhook
secret, and the PagerDuty webhook secret and API token.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from jira_bridge.observability import logger as service_logger
from jira_bridge.pagerduty.signature import sign as pagerduty_sign
from jira_sim.seed import ALICE_EMAIL
from local_runtime.environment import (
    LOCAL_CI_API_KEY,
    LOCAL_CI_HMAC_SECRET,
    LOCAL_GITHUB_WEBHOOK_SECRET,
    LOCAL_PAGERDUTY_SECRET,
    LocalEnvironment,
)
from tests.integration.ci_support import approval, approval_signed, github, notification, notify, notify_signed
from tests.integration.test_jira_to_incident import incident_event, settle

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PAGERDUTY_SAMPLES = ROOT.parent / "shared" / "contracts" / "pagerduty" / "webhooks-v3"
DEBUG_ENV = {"POWERTOOLS_LOG_LEVEL": "DEBUG", "AWS_LAMBDA_LOG_LEVEL": "DEBUG", "POWERTOOLS_DEBUG": "true",
             "POWERTOOLS_LOGGER_LOG_EVENT": "true"}

# Loggers of the local stand-ins running in this process (moto, the simulator); they are not deployed.
STAND_INS = {"moto", "werkzeug", "jira_sim", "local_runtime", "responses"}


class Everything(logging.Handler):
    """Keeps every record, rendered the ways a log sink could render it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in STAND_INS:
            return
        formatter = service_logger.registered_formatter if record.name == service_logger.name else None
        rendered = (formatter or logging.Formatter()).format(record)
        self.texts.append(f"{record.name} {rendered} {record.__dict__!r}")


@pytest.fixture
def everything_logged(env: LocalEnvironment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    package = logging.getLogger("aws_lambda_powertools")
    saved = (root.level, service_logger.log_level, package.level)
    for name, value in DEBUG_ENV.items():
        monkeypatch.setitem(env.runner.env_overrides.setdefault("Parameters", {}), name, value)
    root.setLevel(logging.DEBUG)
    package.setLevel(logging.DEBUG)
    service_logger.setLevel("DEBUG")
    for target in (root, service_logger._logger, package):  # the service and package loggers do not propagate
        target.addHandler(handler)
    try:
        yield handler
    finally:
        for target in (root, service_logger._logger, package):
            target.removeHandler(handler)
        root.setLevel(saved[0])
        service_logger.setLevel(saved[1])
        package.setLevel(saved[2])


def secret_values(env: LocalEnvironment) -> dict[str, str]:
    connector = env.connector_secret()
    values = {
        "connector api_token": connector["api_token"],
        "connector Basic header": base64.b64encode(f"{connector['email']}:{connector['api_token']}".encode()).decode(),
        "connector webhook_secret": connector["webhook_secret"],
        "connector oauth_client_secret": connector["oauth_client_secret"],
        "CI caller api_key": LOCAL_CI_API_KEY,
        "CI caller hmac_secret": LOCAL_CI_HMAC_SECRET,
        "github_webhook_secret": LOCAL_GITHUB_WEBHOOK_SECRET,
        "pagerduty webhook secret": LOCAL_PAGERDUTY_SECRET,
        "pagerduty api_token": "local-pagerduty-token",
    }
    for number, token in enumerate(env.jira.oauth._tokens):
        values[f"OAuth access token {number}"] = token
    return values


def test_no_secret_is_logged_at_debug(env: LocalEnvironment, everything_logged: Everything) -> None:
    # Incident -> Jira, and Jira -> incident through the simulator's signed webhooks.
    env.put_events([incident_event(1, "triggered", {"kind": "created"})])
    settle(env)
    env.jira.as_user(ALICE_EMAIL).move_to("OPS-1", "Done")
    assert [r["state"] for r in settle(env)] == ["resolved"]
    # CI -> Jira: API key and HMAC callers (builds through OAuth), GitHub, the approval gate.
    assert notify(env, notification(1)).status_code == 202
    assert notify_signed(env, notification(2)).status_code == 202
    run = json.loads((ROOT / "events" / "github-workflow-run.signed.apigw.json").read_text())["body"].encode()
    assert github(env, "workflow_run", run, delivery="leak-test").status_code in (200, 202)
    assert approval(env, "OPS-1").status_code == 200
    assert approval_signed(env, "OPS-1").status_code == 200
    # PagerDuty -> the bus.
    body = (PAGERDUTY_SAMPLES / "incident.triggered.zulip.json").read_bytes()
    answer = requests.post(env.api.url("/webhooks/pagerduty"), data=body, timeout=10,
                           headers={"Content-Type": "application/json",
                                    "X-PagerDuty-Signature": pagerduty_sign(body, LOCAL_PAGERDUTY_SECRET)})
    assert answer.status_code == 202, answer.text
    env.drain()
    time.sleep(0.1)  # let the simulator's last webhook thread finish its log lines

    logged = everything_logged.texts
    assert len(logged) > 200, "the flows ran at DEBUG: the bridge and Powertools had their say"
    leaks = {name: sum(value in text for text in logged) for name, value in secret_values(env).items()}
    assert {name: count for name, count in leaks.items() if count} == {}

"""A broken configuration file is caught at each function's cold start: one clear log line (what is
wrong, file:line, the fix), a `ConfigInvalid` metric, and events refused visibly, never acked silently."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from jira_bridge.errors import ConfigurationError
from jira_bridge.observability import logger as service_logger
from jira_bridge.observability import metrics
from jira_bridge.settings import load_settings
from local_runtime.environment import LocalEnvironment

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[2] / "events"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())


@pytest.fixture
def broken(env: LocalEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Lines]]:
    """The stack's config copied to `tmp_path` (break a file there), metrics on, error lines collected."""
    shutil.copytree(env.stack.root / "config", tmp_path, dirs_exist_ok=True)
    for function in ("IncidentEventsFunction", "JiraWebhookFunction", "JiraReconcileFunction", "JiraChangesFunction",
                     "CiNotifyFunction"):
        monkeypatch.setitem(env.runner.env_overrides, function,
                            {"CONFIG_DIR": str(tmp_path), "POWERTOOLS_METRICS_DISABLED": "false"})
    monkeypatch.setattr(metrics, "namespace", "JiraBridge/test")
    lines = Lines()
    service_logger._logger.addHandler(lines)
    load_settings.cache_clear()  # a container's settings are parsed once: this one starts cold
    try:
        yield tmp_path, lines
    finally:
        service_logger._logger.removeHandler(lines)
        load_settings.cache_clear()  # the next test's functions start cold with their own environment


def break_runbooks(config: Path) -> int:
    """A misspelt trigger type in runbooks.yaml; returns its line."""
    text = (config / "runbooks.yaml").read_text()
    assert "trigger: {type: created}" in text
    line = text[: text.index("trigger: {type: created}")].count("\n") + 1
    (config / "runbooks.yaml").write_text(text.replace("trigger: {type: created}", "trigger: {type: creatd}", 1))
    return line


def emitted_metrics(out: str) -> list[str]:
    names = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            names += [m["Name"] for d in blob["_aws"]["CloudWatchMetrics"] for m in d["Metrics"] if blob.get(m["Name"])]
    return names


def test_incident_events_are_parked_with_the_reason_and_the_cause_is_logged_once(
        env: LocalEnvironment, broken: tuple[Path, Lines], capsys: pytest.CaptureFixture[str]) -> None:
    config, lines = broken
    line = break_runbooks(config)
    batch = json.loads((EVENTS / "incident-events.sqs-batch-with-poison.json").read_text())
    capsys.readouterr()
    for _ in range(2):  # a warm container: the cause is not logged (or counted) again
        assert env.runner.invoke("IncidentEventsFunction", batch) == {"batchItemFailures": []}
    out = capsys.readouterr().out

    problems = [text for text in lines.errors if "configuration invalid" in text]
    assert len(problems) == 1
    assert f"runbooks.yaml:{line}" in problems[0]
    assert "creatd" in problems[0] or "trigger.type" in problems[0]
    assert "jira-bridge lint" in problems[0]  # the fix
    assert "redeploy" in problems[0]
    assert emitted_metrics(out).count("ConfigInvalid") == 1
    assert env.jira.issues() == []  # nothing half-applied with a config that does not say what was meant
    parked = env.aws.client("sqs").receive_message(
        QueueUrl=env.stack.queue_urls["IncidentEventsDLQ"], MaxNumberOfMessages=10,
        MessageAttributeNames=["All"], VisibilityTimeout=0).get("Messages", [])
    reasons = [m["MessageAttributes"]["reason"]["StringValue"] for m in parked]
    assert len(reasons) == 2  # each record once: the second invocation's parking is deduplicated
    assert all(f"runbooks.yaml:{line}" in reason for reason in reasons)


def test_a_jira_webhook_gets_a_503_while_connectors_yaml_is_invalid(
        env: LocalEnvironment, broken: tuple[Path, Lines], capsys: pytest.CaptureFixture[str]) -> None:
    config, lines = broken
    (config / "connectors.yaml").write_text("default_connector: default\nprojects: [OPS]\n")
    capsys.readouterr()
    signed = json.loads((EVENTS / "jira-webhook.apigw-signed.json").read_text())
    answer = env.runner.invoke("JiraWebhookFunction", signed)
    assert answer["statusCode"] == 503  # Jira retries it; never a 401 that blames the signature
    assert "misconfigured" in json.loads(answer["body"])["message"]
    problems = [text for text in lines.errors if "configuration invalid" in text]
    assert len(problems) == 1
    assert "connectors.yaml" in problems[0]
    assert emitted_metrics(capsys.readouterr().out) == ["ConfigInvalid"]


def test_reconciliation_fails_with_the_reason(env: LocalEnvironment, broken: tuple[Path, Lines]) -> None:
    config, lines = broken
    line = break_runbooks(config)
    with pytest.raises(ConfigurationError, match=f"runbooks.yaml:{line}"):
        env.runner.invoke("JiraReconcileFunction", {"source": "aws.scheduler"})
    assert len([text for text in lines.errors if "configuration invalid" in text]) == 1


def test_jira_changes_are_kept_in_the_queue_not_acked(env: LocalEnvironment, broken: tuple[Path, Lines]) -> None:
    config, lines = broken
    line = break_runbooks(config)
    record: dict[str, Any] = {
        "messageId": "m1", "receiptHandle": "r1", "body": json.dumps({"connector": "default", "body": "{}"}),
        "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": "g1", "SentTimestamp": "0",
                       "SenderId": "x", "ApproximateFirstReceiveTimestamp": "0",
                       "MessageDeduplicationId": "d1", "SequenceNumber": "1"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:changes.fifo", "awsRegion": "us-east-1"}
    with pytest.raises(BatchProcessingError):  # every record failed: the batch goes back to the queue
        env.runner.invoke("JiraChangesFunction", {"Records": [record]})
    problems = [text for text in lines.errors if "configuration invalid" in text]
    assert len(problems) == 1
    assert f"runbooks.yaml:{line}" in problems[0]


def test_a_ci_call_gets_a_503_while_ci_yaml_is_invalid(env: LocalEnvironment, broken: tuple[Path, Lines]) -> None:
    config, lines = broken
    (config / "ci.yaml").write_text("environments:\n  production: {type: prod}\n")
    answer = env.runner.invoke("CiNotifyFunction", json.loads((EVENTS / "ci-notify.signed.apigw.json").read_text()))
    assert answer["statusCode"] == 503
    problems = [text for text in lines.errors if "configuration invalid" in text]
    assert len(problems) == 1
    assert "ci.yaml:2" in problems[0]

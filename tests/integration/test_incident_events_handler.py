"""IncidentEventsFunction as deployed: EventBridge rule -> FIFO queue -> handler, from template.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from jira_bridge.links.model import SyncStatus
from jira_bridge.links.store import DynamoLinkStore
from local_runtime.environment import LocalEnvironment
from tests.integration.conftest import BOTH_SITES, api

pytestmark = [pytest.mark.integration, BOTH_SITES]  # every test runs against Cloud and Data Center

EVENTS = Path(__file__).resolve().parents[2] / "events"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def bus(env: LocalEnvironment) -> str:
    return str(env.stack.resolve({"Ref": "IncidentBus"}))


def publish(env: LocalEnvironment, event: dict[str, Any]) -> None:
    env.put_events([{"Source": event["source"], "DetailType": event["detail-type"], "Detail": event["detail"],
                     "EventBusName": bus(env)}])


def dlq_messages(env: LocalEnvironment) -> list[dict[str, Any]]:
    answer = env.aws.client("sqs").receive_message(
        QueueUrl=env.stack.queue_urls["IncidentEventsDLQ"], MaxNumberOfMessages=10,
        MessageAttributeNames=["All"], VisibilityTimeout=0)
    messages: list[dict[str, Any]] = answer.get("Messages", [])
    return messages


def link(env: LocalEnvironment, incident_id: str) -> Any:
    store = DynamoLinkStore(env.stack.physical_name("LinkTable"), lambda: env.aws.client("dynamodb"))
    return store.get_by_incident(incident_id)


def test_event_on_the_bus_reaches_jira_through_the_template_wiring(env: LocalEnvironment) -> None:
    publish(env, sample("incident-created.eventbridge.json"))
    publish(env, sample("incident-state-changed.eventbridge.json"))
    assert env.drain() >= 2  # the two incident events (and any Jira webhooks that arrived meanwhile)
    issue = env.jira.as_user("alice@example.com").call("GET", "/rest/api/3/issue/OPS-1")
    assert issue["fields"]["summary"] == "[SEV1] Checkout API returns 502"
    assert issue["fields"]["status"]["name"] == "In Progress"


def test_a_poison_record_is_parked_and_the_batch_succeeds(env: LocalEnvironment) -> None:
    response = env.runner.invoke("IncidentEventsFunction", sample("incident-events.sqs-batch-with-poison.json"))
    assert response == {"batchItemFailures": []}
    assert [i.key for i in env.jira.issues()] == ["OPS-1"]
    parked = dlq_messages(env)
    assert len(parked) == 1
    assert "not an Incident Changed event" in parked[0]["MessageAttributes"]["reason"]["StringValue"]


def test_a_refusal_is_recorded_dead_lettered_and_does_not_block(env: LocalEnvironment) -> None:
    refused = sample("incident-created.eventbridge.json")
    refused["detail"]["incident"]["id"] = "INC-REFUSED"
    refused["detail"]["incident"]["service"] = "checkout api"  # the runbook's label would hold a space
    publish(env, refused)
    publish(env, sample("incident-created.eventbridge.json"))
    env.drain()

    assert [i.key for i in env.jira.issues()] == ["OPS-1"]
    failed = link(env, "INC-REFUSED")
    assert failed.sync_status is SyncStatus.FAILED
    assert "label 'service-checkout api' contains whitespace" in failed.last_error
    parked = dlq_messages(env)
    assert len(parked) == 1
    assert "contains whitespace" in parked[0]["MessageAttributes"]["reason"]["StringValue"]
    assert json.loads(parked[0]["Body"])["detail"]["incident"]["id"] == "INC-REFUSED"


def test_jira_unavailable_fails_the_rest_of_the_batch_for_an_ordered_retry(env: LocalEnvironment) -> None:
    env.jira.faults.server_error(502, count=1, method="POST", path=f"{api(env)}/issue")
    batch = sample("incident-events.sqs-batch-with-poison.json")
    second = json.loads(json.dumps(batch["Records"][0]))
    second["messageId"] = "second-record"
    second["body"] = json.dumps(sample("incident-state-changed.eventbridge.json"))
    batch["Records"] = [batch["Records"][0], second]

    # FIFO: the record after a failure is not processed out of order. Every record failed, so the
    # invocation fails and SQS redelivers the whole batch, in order.
    with pytest.raises(BatchProcessingError):
        env.runner.invoke("IncidentEventsFunction", batch)
    assert dlq_messages(env) == []
    assert "502" in link(env, "INC-1042").last_error

    assert env.runner.invoke("IncidentEventsFunction", batch) == {"batchItemFailures": []}
    issues = env.jira.issues()
    assert [i.key for i in issues] == ["OPS-1"]
    assert env.jira.as_user("alice@example.com").call("GET", "/rest/api/3/issue/OPS-1")["fields"]["status"][
        "name"] == "In Progress"


def test_a_permanent_error_is_parked_and_the_batch_mate_still_applies(env: LocalEnvironment) -> None:
    batch = sample("incident-events.sqs-batch-with-poison.json")
    broken = json.loads(batch["Records"][0]["body"])
    broken["detail"]["incident"]["id"] = "INC-FROM-DELETED-ISSUE"
    broken["detail"]["incident"]["custom_fields"]["jira_issue_key"] = "OPS-999"  # no such issue
    first = {**batch["Records"][0], "messageId": "broken", "body": json.dumps(broken)}
    batch["Records"] = [first, batch["Records"][0]]

    assert env.runner.invoke("IncidentEventsFunction", batch) == {"batchItemFailures": []}
    assert [i.key for i in env.jira.issues()] == ["OPS-1"]
    [parked] = dlq_messages(env)
    assert "OPS-999" in parked["MessageAttributes"]["reason"]["StringValue"]
    assert link(env, "INC-FROM-DELETED-ISSUE").sync_status is SyncStatus.FAILED

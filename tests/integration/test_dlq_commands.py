"""`jira-bridge dlq list|show|replay --local` against the local stack: park, inspect, fix, replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jira_bridge.sqs_ids import incident_group_id
from jira_bridge_cli.main import main
from local_runtime.environment import LocalEnvironment

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[2] / "events"
CREATE_PATH = "/rest/api/3/issue"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def publish(env: LocalEnvironment, event: dict[str, Any]) -> None:
    env.put_events([{"Source": event["source"], "DetailType": event["detail-type"], "Detail": event["detail"],
                     "EventBusName": str(env.stack.resolve({"Ref": "IncidentBusName"}))}])


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["dlq", *args, "--local"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listed(capsys: pytest.CaptureFixture[str], queue: str = "all") -> dict[str, list[dict[str, Any]]]:
    code, out, _ = cli(capsys, "list", "--queue", queue, "--json")
    assert code == 0
    return {q["queue"]: q["messages"] for q in json.loads(out)["queues"]}


def event_of(incident: str, sequence: int, kind: str, **change: Any) -> dict[str, Any]:
    event = sample("incident-created.eventbridge.json")
    detail = event["detail"]
    detail["incident"]["id"] = incident
    detail["sequence"] = sequence
    detail["event_id"] = f"{incident}-evt-{sequence}"
    detail["change"] = {"kind": kind, **change}
    if kind == "note_added":
        detail["incident"]["notes"] = [change["note"]]
    if change.get("field") == "state":
        detail["incident"]["state"] = change["new_value"]
    return event


def issue_of(env: LocalEnvironment, incident: str) -> Any:
    matches = [i for i in env.jira.issues() if incident in json.dumps(i.fields, default=str)]
    assert len(matches) == 1, f"{incident}: {[i.key for i in matches]}"
    return matches[0]


def comments(env: LocalEnvironment, key: str) -> list[str]:
    answer = env.jira.as_user("alice@example.com").call("GET", f"/rest/api/3/issue/{key}/comment")
    return [json.dumps(c["body"]) for c in answer["comments"]]


def park_directly(env: LocalEnvironment, queue: str, body: dict[str, Any], group: str, dedup: str,
                  reason: str = "test") -> None:
    """What the worker does when it parks (the same group, a `reason` attribute)."""
    env.aws.client("sqs").send_message(
        QueueUrl=env.stack.queue_urls[queue], MessageBody=json.dumps(body), MessageGroupId=group,
        MessageDeduplicationId=dedup, MessageAttributes={"reason": {"DataType": "String", "StringValue": reason}})


def test_a_refused_event_is_listed_shown_dry_run_and_replayed_once_jira_is_fixed(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    forbidden = env.jira.faults.server_error(403, count=None, method="POST", path=CREATE_PATH)
    publish(env, sample("incident-created.eventbridge.json"))
    publish(env, event_of("INC-OTHER", 1, "created"))  # parked too: the whole site refuses creates
    env.drain()
    assert env.jira.issues() == []

    parked = listed(capsys)["incident-events"]
    assert sorted(p["incident_id"] for p in parked) == ["INC-1042", "INC-OTHER"]
    mine = next(p for p in parked if p["incident_id"] == "INC-1042")
    assert mine["group"] == incident_group_id("INC-1042")
    assert (mine["event_type"], mine["sequence"]) == ("created", 1)
    assert "HTTP 403" in mine["reason"]
    code, out, _ = cli(capsys, "list", "--incident", "INC-1042")
    assert code == 0
    assert "INC-1042" in out
    assert "INC-OTHER" not in out
    assert "2 parked" in out

    code, out, _ = cli(capsys, "show", mine["message_id"])
    assert code == 0
    assert "HTTP 403" in out
    assert '"title": "Checkout API returns 502"' in out
    code, _, err = cli(capsys, "show", "no-such-message")
    assert code == 1
    assert "no parked message no-such-message" in err

    code, out, _ = cli(capsys, "replay", "--incident", "INC-1042", "--dry-run")
    assert code == 0
    assert f"-> IncidentEventsQueue (group={incident_group_id('INC-1042')} dedup=replay#" in out
    assert "INC-OTHER" not in out
    assert len(listed(capsys)["incident-events"]) == 2  # a dry run changes nothing

    env.jira.faults.clear()  # the cause is fixed (the integration account may create issues again)
    assert forbidden.hits >= 2
    code, out, _ = cli(capsys, "replay", "--incident", "INC-1042")
    assert code == 0
    assert "replayed 1 message(s)" in out
    env.drain()
    assert issue_of(env, "INC-1042").fields["summary"] == "[SEV1] Checkout API returns 502"
    assert [p["incident_id"] for p in listed(capsys)["incident-events"]] == ["INC-OTHER"]  # only the chosen one

    code, out, _ = cli(capsys, "replay", "--all")
    env.drain()
    assert code == 0
    assert listed(capsys)["incident-events"] == []
    assert len(env.jira.issues()) == 2


def test_replaying_the_same_note_again_and_again_adds_one_comment(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    publish(env, event_of("INC-NOTE", 1, "created"))
    env.drain()
    key = issue_of(env, "INC-NOTE").key
    note = {"id": "note-1", "text": "Rolled back the checkout deploy."}
    env.jira.faults.server_error(403, count=None, method="POST", path=f"{CREATE_PATH}/*/comment")
    publish(env, event_of("INC-NOTE", 2, "note_added", note=note))
    env.drain()
    [parked] = listed(capsys)["incident-events"]
    assert comments(env, key) == []

    # The same event parked twice (as after a crash between a send and its delete) ...
    body = json.loads(env.aws.client("sqs").receive_message(
        QueueUrl=env.stack.queue_urls["IncidentEventsDLQ"], VisibilityTimeout=0)["Messages"][0]["Body"])
    park_directly(env, "IncidentEventsDLQ", body, parked["group"], "copy-1")
    env.jira.faults.clear()
    code, out, _ = cli(capsys, "replay", "--incident", "INC-NOTE")
    assert code == 0
    assert "replayed 2 message(s)" in out
    env.drain()
    # ... and replayed again later, after it was applied.
    park_directly(env, "IncidentEventsDLQ", body, parked["group"], "copy-2")
    cli(capsys, "replay", "--all")
    env.drain()

    assert len(comments(env, key)) == 1
    assert "Rolled back the checkout deploy." in comments(env, key)[0]
    assert listed(capsys)["incident-events"] == []


def test_replay_applies_one_incidents_events_in_sequence_order_across_both_dlqs(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    incident = "INC-ORDER"
    group = incident_group_id(incident)
    created = event_of(incident, 1, "created")
    acknowledged = event_of(incident, 2, "field_changed", field="state", old_value="triggered",
                            new_value="acknowledged")
    note = event_of(incident, 3, "note_added", note={"id": "n-3", "text": "Found the bad deploy."})
    resolved = event_of(incident, 4, "field_changed", field="state", old_value="acknowledged", new_value="resolved")
    # Parked out of order, in two queues: the router's invocation kept failing for the created event
    # (Lambda's on-failure record wraps it), the rest were parked by the worker.
    park_directly(env, "IncidentEventsDLQ", resolved, group, "r4")
    park_directly(env, "IncidentEventsDLQ", note, group, "r3")
    park_directly(env, "IncidentEventsDLQ", acknowledged, group, "r2")
    record = {"version": "1.0", "timestamp": "2026-12-04T09:00:00.000Z",
              "requestContext": {"requestId": "e4b46cbf", "condition": "RetriesExhausted", "approximateInvokeCount": 3,
                                 "functionArn": env.stack.arn("IncidentRouterFunction") + ":$LATEST"},
              "requestPayload": created,
              "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
              "responsePayload": {"errorMessage": "SQS unavailable", "errorType": "EndpointConnectionError"}}
    env.aws.client("sqs").send_message(QueueUrl=env.stack.queue_urls["IncidentEventsDeliveryDLQ"],
                                       MessageBody=json.dumps(record))

    [delivery] = listed(capsys)["incident-delivery"]
    assert delivery["incident_id"] == incident
    assert delivery["sequence"] == 1
    assert delivery["reason"] == "RetriesExhausted after 3 invocation(s): SQS unavailable"

    code, out, _ = cli(capsys, "replay", "--incident", incident)
    assert code == 0
    order = [int(line.split(" seq=")[1].split()[0]) for line in out.splitlines() if line.startswith("replayed ")
             and " seq=" in line]
    assert order == [1, 2, 3, 4]
    env.drain()

    key = issue_of(env, incident).key
    jira = env.jira.as_user("alice@example.com")
    assert jira.call("GET", f"/rest/api/3/issue/{key}")["fields"]["status"]["name"] == "Done"
    assert sum("Found the bad deploy." in c for c in comments(env, key)) == 1
    history = issue_of(env, incident).changelog
    statuses = [item.to_string for change in history for item in change.items if item.field == "status"]
    # acknowledged, then resolved (through the workflow's steps): never back out of Done
    assert statuses[0] == "In Progress"
    assert statuses[-1] == "Done"
    assert statuses.count("Done") == 1
    assert listed(capsys) == {k: [] for k in listed(capsys)}


def test_jira_deliveries_go_back_to_their_issue_group_with_a_fresh_deduplication_id(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    delivery = {"connector": "default", "delivery_id": "delivery-1",
                "body": json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "10001", "key": "OPS-1"}})}
    sqs = env.aws.client("sqs")
    sqs.send_message(QueueUrl=env.stack.queue_urls["JiraChangesDLQ"], MessageBody=json.dumps(delivery),
                     MessageGroupId="default#10001", MessageDeduplicationId="delivery-1")
    [parked] = listed(capsys)["jira-changes"]
    assert parked["group"] == "default#10001"
    assert parked["event_type"] == "jira:issue_updated OPS-1"

    for _ in range(2):  # two runs inside SQS's 5-minute deduplication window: neither is dropped
        code, out, _ = cli(capsys, "replay", "--queue", "jira-changes", "--all")
        assert code == 0
        assert "-> JiraChangesQueue (group=default#10001" in out
        [sent] = sqs.receive_message(QueueUrl=env.stack.queue_urls["JiraChangesQueue"], AttributeNames=["All"],
                                     VisibilityTimeout=0)["Messages"]
        assert json.loads(sent["Body"]) == delivery
        assert sent["Attributes"]["MessageGroupId"] == "default#10001"
        sqs.delete_message(QueueUrl=env.stack.queue_urls["JiraChangesQueue"], ReceiptHandle=sent["ReceiptHandle"])
        sqs.send_message(QueueUrl=env.stack.queue_urls["JiraChangesDLQ"], MessageBody=json.dumps(delivery),
                         MessageGroupId="default#10001", MessageDeduplicationId=f"again-{_}")


def test_bad_input_is_one_clear_line(env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "replay")
    assert code == 2
    assert err.strip() == ("jira-bridge: dlq replay: choose what to replay: --incident ID, --message-id ID or --all "
                           "(add --dry-run to see it first)")


def test_parked_ci_events_are_replayed_into_the_ci_function(
        env: LocalEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    """EventBridge's DLQ holds the CodeBuild event itself; a failed async invocation holds Lambda's
    record with the event as requestPayload. Both re-enter CiNotifyFunction, once each."""
    build = sample("codebuild-build-state-change.eventbridge.json")
    sqs = env.aws.client("sqs")
    url = env.stack.queue_urls["CiEventsFailures"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(build), MessageAttributes={
        "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"}})
    record = {"version": "1.0", "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
              "requestPayload": {**build, "id": "second-build-event"}, "responsePayload": {"errorMessage": "boom"}}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    assert len(listed(capsys, "ci-events")["ci-events"]) == 2

    code, out, _ = cli(capsys, "replay", "--queue", "ci-events", "--all")
    assert code == 0, out
    env.drain()
    replayed = [i.result for i in env.runner.invocations if i.function == "CiNotifyFunction" and i.error is None]
    assert len(replayed) == 2
    assert listed(capsys, "ci-events")["ci-events"] == []

"""The local SQS model behaves as AWS documents SQS (see the URLs in local_runtime/sqs_model.py)."""

import hashlib
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from local_runtime.clock import SimClock
from local_runtime.sqs_model import LocalSqs

pytestmark = pytest.mark.unit


@pytest.fixture
def clock() -> SimClock:
    return SimClock(start=1_767_225_600.0)


@pytest.fixture
def sqs(clock: SimClock) -> LocalSqs:
    return LocalSqs(clock)


def arn_of(sqs: LocalSqs, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def fifo_pair(sqs: LocalSqs, max_receives: int = 3, visibility: int = 30) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName="events-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    queue = sqs.create_queue(QueueName="events.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": str(visibility),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": max_receives})})[
        "QueueUrl"]
    return queue, dlq


def bodies(answer: dict[str, Any]) -> list[str]:
    return [m["Body"] for m in answer.get("Messages", [])]


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_a_received_message_is_invisible_until_its_visibility_timeout_expires(sqs: LocalSqs, clock: SimClock) -> None:
    url = sqs.create_queue(QueueName="plain", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    first = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    clock.advance(59.9)
    assert bodies(sqs.receive_message(QueueUrl=url)) == []
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("0", "1")
    clock.advance(0.1)
    again = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again["Attributes"]["ApproximateFirstReceiveTimestamp"] == first_ms(clock, 60)
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    # The old handle no longer deletes (the call succeeds); the newest one does.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    clock.advance(60)
    latest = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=latest["ReceiptHandle"])
    clock.advance(600)
    assert bodies(sqs.receive_message(QueueUrl=url)) == []


def first_ms(clock: SimClock, seconds_ago: float) -> str:
    return str(int((clock.time() - seconds_ago) * 1000))


def test_change_message_visibility_counts_from_the_call_and_is_bounded_as_in_aws(
    sqs: LocalSqs, clock: SimClock
) -> None:
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    clock.advance(10)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=100)
    clock.advance(99)
    assert bodies(sqs.receive_message(QueueUrl=url)) == []
    clock.advance(1)
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    with pytest.raises(ClientError) as too_long:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=43_201)
    assert code(too_long) == "InvalidParameterValue"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=7200)
    clock.advance(3600)  # 12 h count from the receive: 11 h are left now
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=39_600)
    with pytest.raises(ClientError) as past_twelve_hours:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=39_601)
    assert code(past_twelve_hours) == "InvalidParameterValue"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=5)
    clock.advance(5)
    with pytest.raises(sqs.exceptions.MessageNotInflight) as expired:  # visible again: not in flight
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=10)
    assert code(expired) == "AWS.SimpleQueueService.MessageNotInflight"
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="not-a-handle", VisibilityTimeout=10)
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")


def test_redrive_happens_on_the_receive_after_max_receive_count_and_keeps_the_message(
    sqs: LocalSqs, clock: SimClock
) -> None:
    queue, dlq = fifo_pair(sqs, max_receives=3)
    sqs.send_message(QueueUrl=queue, MessageBody="poison", MessageGroupId="incident-1")
    sqs.send_message(QueueUrl=queue, MessageBody="next", MessageGroupId="incident-1")
    for attempt in range(1, 4):
        got = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]
        assert [m["Body"] for m in got] == ["poison"]
        assert got[0]["Attributes"]["ApproximateReceiveCount"] == str(attempt)
        clock.advance(30)
    # Still in the source queue after its 3rd receive: it moves only when a 4th receive would deliver it.
    assert sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert bodies(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)) == ["next"]
    parked = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert parked["Body"] == "poison"
    assert parked["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, queue)
    assert parked["Attributes"]["MessageDeduplicationId"] == parked["MessageId"]  # FIFO DLQ: id replaces dedup id
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [queue]


def test_fifo_blocks_a_group_while_any_of_its_messages_is_in_flight_and_keeps_order(
    sqs: LocalSqs, clock: SimClock
) -> None:
    queue, _ = fifo_pair(sqs, max_receives=10)
    for group, body in [("a", "a1"), ("b", "b1"), ("a", "a2"), ("a", "a3"), ("b", "b2")]:
        sqs.send_message(QueueUrl=queue, MessageBody=body, MessageGroupId=group)
    first = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=2)
    assert bodies(first) == ["a1", "a2"]  # consecutive messages of one group
    second = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    assert bodies(second) == ["b1", "b2"]  # group a is blocked while a1/a2 are in flight
    assert bodies(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)) == []
    a1, a2 = first["Messages"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=a1["ReceiptHandle"])
    assert bodies(sqs.receive_message(QueueUrl=queue)) == []  # a2 still in flight: a3 waits
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=a2["ReceiptHandle"], VisibilityTimeout=0)
    assert bodies(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)) == ["a2", "a3"]  # a2 again, first


def test_fifo_deduplicates_for_five_minutes_by_id_or_body_hash(sqs: LocalSqs, clock: SimClock) -> None:
    queue, _ = fifo_pair(sqs)
    first = sqs.send_message(QueueUrl=queue, MessageBody="same", MessageGroupId="g")
    again = sqs.send_message(QueueUrl=queue, MessageBody="same", MessageGroupId="other")
    assert again["MessageId"] == first["MessageId"]  # accepted, not delivered twice
    sqs.send_message(QueueUrl=queue, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="explicit")
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["MessageDeduplicationId"])
    assert [m["Attributes"]["MessageDeduplicationId"] for m in got["Messages"]] == [
        hashlib.sha256(b"same").hexdigest(), "explicit"]
    for message in got["Messages"]:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    clock.advance(299)
    sqs.send_message(QueueUrl=queue, MessageBody="same", MessageGroupId="g")
    assert bodies(sqs.receive_message(QueueUrl=queue)) == []  # deleted, but still inside the window
    clock.advance(1)
    sqs.send_message(QueueUrl=queue, MessageBody="same", MessageGroupId="g")
    assert bodies(sqs.receive_message(QueueUrl=queue)) == ["same"]


@pytest.mark.parametrize("bad", ["", "x" * 129, "has space", "é", "tab\t"])
def test_invalid_group_and_deduplication_ids_are_refused(sqs: LocalSqs, bad: str) -> None:
    queue, _ = fifo_pair(sqs)
    with pytest.raises((ClientError, ParamValidationError)):
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageGroupId=bad)
    with pytest.raises((ClientError, ParamValidationError)):
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageGroupId="ok", MessageDeduplicationId=bad)
    punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + "A" * 96
    assert sqs.send_message(QueueUrl=queue, MessageBody="x", MessageGroupId=punctuation)["MessageId"]


def test_parameters_each_queue_type_requires_or_refuses(sqs: LocalSqs, clock: SimClock) -> None:
    queue, _ = fifo_pair(sqs)
    plain = sqs.create_queue(QueueName="plain")["QueueUrl"]
    with pytest.raises(ClientError) as no_group:
        sqs.send_message(QueueUrl=queue, MessageBody="x")
    assert code(no_group) == "MissingParameter"
    with pytest.raises(ClientError) as delayed:
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageGroupId="g", DelaySeconds=5)
    assert code(delayed) == "InvalidParameterValue"
    sqs.send_message(QueueUrl=queue, MessageBody="zero delay is accepted", MessageGroupId="g", DelaySeconds=0)
    with pytest.raises(ClientError) as dedup_on_standard:
        sqs.send_message(QueueUrl=plain, MessageBody="x", MessageDeduplicationId="d")
    assert code(dedup_on_standard) == "InvalidParameterValue"
    sqs.send_message(QueueUrl=plain, MessageBody="fair queue", MessageGroupId="tenant")  # allowed since fair queues
    sqs.send_message(QueueUrl=plain, MessageBody="later", DelaySeconds=10)
    assert bodies(sqs.receive_message(QueueUrl=plain, MaxNumberOfMessages=10)) == ["fair queue"]
    clock.advance(10)
    assert bodies(sqs.receive_message(QueueUrl=plain, MaxNumberOfMessages=10)) == ["later"]
    nofifo = sqs.create_queue(QueueName="strict.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as no_dedup:
        sqs.send_message(QueueUrl=nofifo, MessageBody="x", MessageGroupId="g")
    assert code(no_dedup) == "InvalidParameterValue"
    with pytest.raises(ClientError) as fifo_attribute_on_standard:
        sqs.create_queue(QueueName="std", Attributes={"ContentBasedDeduplication": "true"})
    assert code(fifo_attribute_on_standard) == "InvalidAttributeName"
    with pytest.raises(ClientError) as mixed_dlq:
        sqs.create_queue(QueueName="std2", Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": arn_of(sqs, nofifo), "maxReceiveCount": 5})})
    assert code(mixed_dlq) == "InvalidAttributeValue"


def test_size_limit_is_one_mebibyte_and_retention_expires_messages(sqs: LocalSqs, clock: SimClock) -> None:
    url = sqs.create_queue(QueueName="plain", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1_048_576)
    with pytest.raises(ClientError) as too_big:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1_048_577)
    assert code(too_big) == "InvalidParameterValue"
    with pytest.raises(ClientError) as control_character:
        sqs.send_message(QueueUrl=url, MessageBody="bad \x00 byte")
    assert code(control_character) == "InvalidMessageContents"
    clock.advance(60)
    assert bodies(sqs.receive_message(QueueUrl=url)) == []


def test_errors_are_the_clients_modelled_exceptions_with_aws_codes(sqs: LocalSqs) -> None:
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as missing:
        sqs.receive_message(QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/nope")
    assert code(missing) == "AWS.SimpleQueueService.NonExistentQueue"
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    with pytest.raises(ParamValidationError):
        sqs.send_message(QueueUrl=url)
    with pytest.raises(sqs.exceptions.InvalidBatchEntryId):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "no spaces", "MessageBody": "x"}])
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}])
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": "x"} for i in range(11)])
    with pytest.raises(sqs.exceptions.EmptyBatchRequest):
        sqs.delete_message_batch(QueueUrl=url, Entries=[])
    answer = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "MessageBody": "x"}, {"Id": "bad", "MessageBody": "x", "MessageDeduplicationId": "d"}])
    assert [s["Id"] for s in answer["Successful"]] == ["ok"]
    assert answer["Failed"][0]["Id"] == "bad"
    assert answer["Failed"][0]["Code"] == "InvalidParameterValue"
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)


def test_move_task_redrives_a_dlq_to_its_source_as_new_messages(sqs: LocalSqs, clock: SimClock) -> None:
    queue, dlq = fifo_pair(sqs, max_receives=1)
    for body in ("e1", "e2"):
        sqs.send_message(QueueUrl=queue, MessageBody=body, MessageGroupId="incident-7")
    sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    clock.advance(30)
    assert bodies(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)) == []  # both dead-lettered
    with pytest.raises(ClientError) as not_a_dlq:
        sqs.start_message_move_task(SourceArn=arn_of(sqs, queue))
    assert code(not_a_dlq) == "InvalidParameterValue"
    standard = sqs.create_queue(QueueName="plain")["QueueUrl"]
    with pytest.raises(ClientError) as wrong_type:
        sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq), DestinationArn=arn_of(sqs, standard))
    assert code(wrong_type) == "InvalidParameterValue"
    with pytest.raises(ClientError):
        sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq), MaxNumberOfMessagesPerSecond=501)

    handle = sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq), MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    with pytest.raises(sqs.exceptions.UnsupportedOperation):  # one active task per source queue
        sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq))
    running = sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"]
    assert running[0]["Status"] == "RUNNING"
    assert running[0]["ApproximateNumberOfMessagesToMove"] == 2
    clock.advance(1)
    assert sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"][0][
        "ApproximateNumberOfMessagesMoved"] == 1
    clock.advance(1)
    done = sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq), MaxResults=10)["Results"]
    assert done[0]["Status"] == "COMPLETED"
    assert done[0]["ApproximateNumberOfMessagesMoved"] == 2
    with pytest.raises(ClientError):
        sqs.cancel_message_move_task(TaskHandle=handle)  # only a RUNNING task can be cancelled
    back = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in back] == ["e1", "e2"]  # in order, in their group
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back} == {"1"}  # new messages


def test_a_running_move_task_can_be_cancelled(sqs: LocalSqs, clock: SimClock) -> None:
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    source = sqs.create_queue(QueueName="source", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1})})["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=source, MessageBody=f"m{i}")
    sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    handle = sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq), MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    clock.advance(2)
    assert sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"] == 2
    clock.advance(10)
    assert sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"][0]["Status"] == "CANCELLED"
    left = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert left["ApproximateNumberOfMessages"] == "3"

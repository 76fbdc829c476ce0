"""An in-memory Amazon SQS on a controllable clock, for the local runtime and tests (never shipped).

moto's server runs on real time and has no message move tasks, so it cannot show a six-hour outage,
a redrive at the documented receive, or a DLQ replay in a test's few seconds. `LocalSqs` has the
boto3 SQS client's method names, argument names, response shapes and errors (a `ClientError` of the
client's own modelled class, with the error code real SQS answers with), and keeps time with a
`local_runtime.clock` clock, so `SimClock.advance` is all it takes for visibility to expire.

Written by hand because no library models SQS on an injectable clock (moto and ElasticMQ use wall
time). Arguments are checked against botocore's own SQS model first, as the real client does.

Modelled as AWS documents it:

- Visibility: a received message is invisible for the queue's VisibilityTimeout (or the receive's),
  ChangeMessageVisibility takes 0..43200 s counted from the call, and cannot take a message past 12
  hours after its receive; a message that is not in flight answers MessageNotInflight. A receipt
  handle that is not the message's latest deletes nothing (and succeeds).
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html
- Redrive: "When the ReceiveCount for a message exceeds the maxReceiveCount for a queue, Amazon SQS
  moves the message to the dead-letter-queue": a message already received maxReceiveCount times is
  moved by the receive that would have delivered it once more, never returned. A FIFO message moved
  to a FIFO DLQ gets its MessageId as deduplication id; a standard DLQ keeps the original enqueue
  time for retention, a FIFO DLQ resets it. The DLQ must be of the same type as the source.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sqs-queue.html (RedrivePolicy)
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html
- FIFO: per-group order; in-flight messages block delivery of the rest of their group; a receive
  returns as many consecutive messages of a group as it can, and may add other available groups;
  deduplication for 5 minutes by MessageDeduplicationId or, with ContentBasedDeduplication, the
  SHA-256 of the body (DeduplicationScope queue or messageGroup); MessageGroupId is required, and
  per-message DelaySeconds is refused (0 is accepted).
  https://repost.aws/knowledge-center/sqs-fifo-messages-not-returned
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
- Ids: MessageGroupId / MessageDeduplicationId are 1..128 characters of letters, digits and
  ``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``; batch entry ids up to 80 of letters, digits, - and _; a
  standard queue accepts MessageGroupId (fair queues) but refuses MessageDeduplicationId.
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
- Size: bodies and attributes up to MaximumMessageSize, 1,048,576 bytes (1 MiB) by default and at
  most since 2025 (was 256 KiB); message content limited to the XML character set.
  https://aws.amazon.com/blogs/compute/more-room-to-build-serverless-services-now-support-payloads-up-to-1-mb
- Retention: messages older than MessageRetentionPeriod (60..1209600 s) are gone.
- Move tasks (DLQ redrive): the source must be the dead-letter queue of another SQS queue; the
  destination (default: each message's original source queue) must be of the same type (FIFO DLQs
  redrive to FIFO queues only); one active task per source queue; moved messages are new messages
  (new MessageId, receive count and retention restart); MaxNumberOfMessagesPerSecond 1..500;
  ListMessageMoveTasks returns the newest (1 by default, up to 10); only a RUNNING task can be cancelled.
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html

Error codes: SQS answers the JSON protocol with an ``x-amzn-query-error`` header, so botocore raises
the modelled class (``client.exceptions.QueueDoesNotExist``) with ``Error.Code`` set to the legacy
query code (``AWS.SimpleQueueService.NonExistentQueue``); `_raise` builds exactly that.

Not modelled: long polling (WaitTimeSeconds is accepted and ignored: the caller moves the clock),
standard queues' at-least-once duplicates and reordering (this model delivers each message once, in
order, which real SQS may also do), KMS, tags, policies beyond storing them, throughput quotas.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from local_runtime.clock import Clock, RealClock

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

MAX_MESSAGE_SIZE = 1_048_576  # bytes: the default and the maximum since 2025 (was 262,144)
MAX_VISIBILITY = 43_200  # 12 hours
DEDUP_WINDOW = 300  # FIFO deduplication interval, seconds
MAX_MOVE_RATE = 500  # messages per second a move task may be given
_ID_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + _ID_PUNCTUATION)
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# What SQS refuses in a message body (outside XML 1.0's characters): InvalidMessageContents.
INVALID_SQS_CHARACTERS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Error shape (what botocore raises) -> the query error code real SQS puts in Error.Code.
_QUERY_CODES = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "ReceiptHandleIsInvalid": "ReceiptHandleIsInvalid",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
    "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
    "InvalidAttributeName": "InvalidAttributeName",
    "InvalidMessageContents": "InvalidMessageContents",
    "ResourceNotFoundException": "ResourceNotFoundException",
}

_QUEUE_ATTRIBUTES = {
    "DelaySeconds": (0, 900, "0"),
    "MaximumMessageSize": (1024, MAX_MESSAGE_SIZE, str(MAX_MESSAGE_SIZE)),
    "MessageRetentionPeriod": (60, 1_209_600, "345600"),
    "ReceiveMessageWaitTimeSeconds": (0, 20, "0"),
    "VisibilityTimeout": (0, MAX_VISIBILITY, "30"),
}
_FIFO_ONLY = {"FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}
_FREE_ATTRIBUTES = {"Policy", "RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
                    "SqsManagedSseEnabled"}
_COMPUTED = {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"}
_MESSAGE_SYSTEM_ATTRIBUTES = {"SenderId", "SentTimestamp", "ApproximateReceiveCount",
                              "ApproximateFirstReceiveTimestamp", "SequenceNumber", "MessageDeduplicationId",
                              "MessageGroupId", "AWSTraceHeader", "DeadLetterQueueSourceArn"}


@dataclass
class _Message:
    message_id: str
    body: str
    attributes: dict[str, Any]
    sent_at: float
    enqueued_at: float  # retention runs from here
    available_at: float  # DelaySeconds
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    receive_count: int = 0
    first_receive_at: float | None = None
    invisible_until: float = 0.0
    received_at: float = 0.0
    receipt_handle: str | None = None
    dead_letter_source_arn: str | None = None
    sender_id: str = "AIDAIT2UOQQY3AUEKVGXU"

    def visible(self, now: float) -> bool:
        return now >= self.available_at and now >= self.invisible_until

    def in_flight(self, now: float) -> bool:
        return self.receipt_handle is not None and now < self.invisible_until


@dataclass
class _MoveTask:
    handle: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    started_at: float
    to_move: int
    moved: int = 0
    status: str = "RUNNING"
    failure: str | None = None
    last_progress: float = 0.0


@dataclass
class _Queue:
    name: str
    url: str
    arn: str
    attributes: dict[str, str]
    created_at: float
    modified_at: float
    messages: list[_Message] = field(default_factory=list)
    dedup: dict[str, tuple[float, str, str | None]] = field(default_factory=dict)  # key -> (expires, id, seq)
    purged_at: float | None = None
    sequence: Iterator[int] = field(default_factory=lambda: itertools.count(10_000_000_000_000_000_001))

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoQueue") == "true"

    def number(self, name: str) -> int:
        return int(self.attributes.get(name, _QUEUE_ATTRIBUTES[name][2]))

    def redrive(self) -> dict[str, Any] | None:
        raw = self.attributes.get("RedrivePolicy")
        return json.loads(raw) if raw else None


class LocalSqs:
    """The SQS client API over in-memory queues on `clock`. Thread-safe (one lock for the whole model)."""

    def __init__(self, clock: Clock | None = None, region: str = REGION, account_id: str = ACCOUNT_ID) -> None:
        self.clock: Clock = clock or RealClock()
        self.region = region
        self.account_id = account_id
        self._queues: dict[str, _Queue] = {}
        self._tasks: list[_MoveTask] = []
        self._lock = threading.RLock()
        client = _model_client(region)  # never sends: its modelled exceptions and its parameter model
        self.exceptions = client.exceptions
        self.meta = client.meta

    # ----- housekeeping ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every queue, message and task."""
        with self._lock:
            self._queues.clear()
            self._tasks.clear()

    def _call(self, operation: str, params: dict[str, Any], body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Validate like the client, bring the model up to `now`, run, and add ResponseMetadata."""
        model = self.meta.service_model.operation_model(operation)
        assert model.input_shape is not None
        validate_parameters(params, model.input_shape)
        with self._lock:
            self._tick()
            answer = body()
        answer["ResponseMetadata"] = {"RequestId": str(uuid.uuid4()), "HTTPStatusCode": 200,
                                      "HTTPHeaders": {}, "RetryAttempts": 0}
        return answer

    def _raise(self, operation: str, shape_or_code: str, message: str) -> None:
        code = _QUERY_CODES.get(shape_or_code, shape_or_code)
        error: dict[str, Any] = {"Code": code, "Message": message, "Type": "Sender"}
        if shape_or_code in _QUERY_CODES:
            error["QueryErrorCode"] = shape_or_code
        response = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        exception: Any = self.exceptions.from_code(shape_or_code)
        raise exception(response, operation)

    def _invalid(self, operation: str, message: str) -> None:
        self._raise(operation, "InvalidParameterValue", message)

    def _queue(self, operation: str, url: str) -> _Queue:
        queue = self._queues.get(url.rstrip("/").rsplit("/", 1)[-1])
        if queue is None:
            self._raise(operation, "QueueDoesNotExist", "The specified queue does not exist.")
        assert queue is not None
        return queue

    def _by_arn(self, arn: str) -> _Queue | None:
        return next((q for q in self._queues.values() if q.arn == arn), None)

    def _tick(self) -> None:
        """Retention expiry, and move-task progress up to now (both happen in the background in AWS)."""
        now = self.clock.time()
        for queue in self._queues.values():
            keep = queue.number("MessageRetentionPeriod")
            queue.messages = [m for m in queue.messages if now < m.enqueued_at + keep]
            queue.dedup = {k: v for k, v in queue.dedup.items() if v[0] > now}
        for task in self._tasks:
            if task.status == "RUNNING":
                self._progress(task, now)

    # ----- queues ---------------------------------------------------------------------------------

    def create_queue(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            name = params["QueueName"]
            attributes = {k: str(v) for k, v in params.get("Attributes", {}).items()}
            fifo = attributes.get("FifoQueue", "false").lower() == "true"
            base = name[:-5] if fifo and name.endswith(".fifo") else name
            if not _QUEUE_NAME.match(base) or (fifo and not name.endswith(".fifo")) or len(name) > 80:
                self._invalid("CreateQueue", "Can only include alphanumeric characters, hyphens, or underscores. "
                              "1 to 80 in length" + (" and a FIFO queue name must end with .fifo" if fifo else ""))
            attributes = self._checked_attributes("CreateQueue", attributes, fifo)
            now = self.clock.time()
            existing = self._queues.get(name)
            if existing is not None:
                wanted = {**self._defaults(fifo), **attributes}
                if any(existing.attributes.get(k) != v for k, v in wanted.items()):
                    self._raise("CreateQueue", "QueueNameExists",
                                "A queue already exists with the same name and a different value for attribute(s)")
                return {"QueueUrl": existing.url}
            url = f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}"
            arn = f"arn:aws:sqs:{self.region}:{self.account_id}:{name}"
            self._queues[name] = _Queue(name, url, arn, {**self._defaults(fifo), **attributes}, now, now)
            return {"QueueUrl": url}

        return self._call("CreateQueue", params, run)

    @staticmethod
    def _defaults(fifo: bool) -> dict[str, str]:
        defaults = {name: spec[2] for name, spec in _QUEUE_ATTRIBUTES.items()}
        defaults["SqsManagedSseEnabled"] = "true"
        if fifo:
            defaults |= {"FifoQueue": "true", "ContentBasedDeduplication": "false", "DeduplicationScope": "queue",
                         "FifoThroughputLimit": "perQueue"}
        return defaults

    def _checked_attributes(self, operation: str, attributes: dict[str, str], fifo: bool) -> dict[str, str]:
        checked: dict[str, str] = {}
        for name, value in attributes.items():
            if name in _QUEUE_ATTRIBUTES:
                low, high, _ = _QUEUE_ATTRIBUTES[name]
                if not value.lstrip("-").isdigit() or not low <= int(value) <= high:
                    self._raise(operation, "InvalidAttributeValue",
                                f"Invalid value for the parameter {name}. Reason: must be between {low} and {high}.")
                checked[name] = str(int(value))
            elif name in _FIFO_ONLY:
                if not fifo:
                    self._raise(operation, "InvalidAttributeName", f"Unknown Attribute {name}.")
                flag = value.lower() if name in {"FifoQueue", "ContentBasedDeduplication"} else value
                allowed = {"FifoQueue": {"true"}, "ContentBasedDeduplication": {"true", "false"},
                           "DeduplicationScope": {"queue", "messageGroup"},
                           "FifoThroughputLimit": {"perQueue", "perMessageGroupId"}}[name]
                if flag not in allowed:
                    self._raise(operation, "InvalidAttributeValue", f"Invalid value for the parameter {name}.")
                checked[name] = flag
            elif name == "RedrivePolicy":
                checked[name] = self._checked_redrive(operation, value, fifo)
            elif name in _FREE_ATTRIBUTES:
                checked[name] = value.lower() if name == "SqsManagedSseEnabled" else value
            else:
                self._raise(operation, "InvalidAttributeName", f"Unknown Attribute {name}.")
        return checked

    def _checked_redrive(self, operation: str, value: str, fifo: bool) -> str:
        if value == "":
            return ""
        try:
            policy = json.loads(value)
            target, count = policy["deadLetterTargetArn"], int(policy["maxReceiveCount"])
        except (ValueError, KeyError, TypeError):
            self._raise(operation, "InvalidAttributeValue",
                        "Value for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map "
                        "with deadLetterTargetArn and maxReceiveCount.")
            raise AssertionError from None
        if not 1 <= count <= 1000:
            self._raise(operation, "InvalidAttributeValue",
                        "Value for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: "
                        f"{count}, valid values are from 1 to 1000 both inclusive.")
        dlq = self._by_arn(target)
        if dlq is None:
            self._raise(operation, "InvalidAttributeValue",
                        "Value for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.")
        assert dlq is not None
        if dlq.fifo != fifo:
            self._raise(operation, "InvalidAttributeValue",
                        "Value for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type "
                        "of queue as the source.")
        return json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": count}, separators=(",", ":"))

    def set_queue_attributes(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("SetQueueAttributes", params["QueueUrl"])
            attributes = {k: str(v) for k, v in params["Attributes"].items()}
            if "FifoQueue" in attributes:
                self._invalid("SetQueueAttributes", "Invalid value for the parameter FifoQueue: it cannot be changed.")
            queue.attributes.update(self._checked_attributes("SetQueueAttributes", attributes, queue.fifo))
            if queue.attributes.get("RedrivePolicy") == "":
                del queue.attributes["RedrivePolicy"]
            queue.modified_at = self.clock.time()
            return {}

        return self._call("SetQueueAttributes", params, run)

    def get_queue_url(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queues.get(params["QueueName"])
            if queue is None:
                self._raise("GetQueueUrl", "QueueDoesNotExist", "The specified queue does not exist.")
            assert queue is not None
            return {"QueueUrl": queue.url}

        return self._call("GetQueueUrl", params, run)

    def list_queues(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            prefix = params.get("QueueNamePrefix", "")
            urls = sorted(q.url for q in self._queues.values() if q.name.startswith(prefix))
            return self._page(urls, params, "QueueUrls")

        return self._call("ListQueues", params, run)

    def list_dead_letter_source_queues(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            dlq = self._queue("ListDeadLetterSourceQueues", params["QueueUrl"])
            urls = sorted(q.url for q in self._queues.values() if (q.redrive() or {}).get("deadLetterTargetArn")
                          == dlq.arn)
            page = self._page(urls, params, "queueUrls")
            page.setdefault("queueUrls", [])
            return page

        return self._call("ListDeadLetterSourceQueues", params, run)

    def _page(self, urls: list[str], params: dict[str, Any], key: str) -> dict[str, Any]:
        start = int(params.get("NextToken") or 0)
        size = int(params.get("MaxResults") or 1000)
        if not 1 <= size <= 1000:
            self._invalid("ListQueues", "Value for parameter MaxResults is invalid. Reason: must be between 1 and "
                          "1000.")
        chunk = urls[start:start + size] if "MaxResults" in params else urls[:1000]
        answer: dict[str, Any] = {key: chunk} if chunk else {}
        if "MaxResults" in params and start + size < len(urls):
            answer["NextToken"] = str(start + size)
        return answer

    def delete_queue(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("DeleteQueue", params["QueueUrl"])
            del self._queues[queue.name]
            return {}

        return self._call("DeleteQueue", params, run)

    def get_queue_attributes(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("GetQueueAttributes", params["QueueUrl"])
            names = set(params.get("AttributeNames") or [])
            known = set(_QUEUE_ATTRIBUTES) | _FREE_ATTRIBUTES | _COMPUTED | {"RedrivePolicy"} | (
                _FIFO_ONLY if queue.fifo else set())
            unknown = names - known - {"All"}
            if unknown:
                self._raise("GetQueueAttributes", "InvalidAttributeName", f"Unknown Attribute {sorted(unknown)[0]}.")
            everything = {**queue.attributes, **self._computed(queue)}
            chosen = everything if "All" in names else {k: v for k, v in everything.items() if k in names}
            return {"Attributes": chosen} if chosen else {}

        return self._call("GetQueueAttributes", params, run)

    def _computed(self, queue: _Queue) -> dict[str, str]:
        now = self.clock.time()
        return {
            "ApproximateNumberOfMessages": str(sum(m.visible(now) for m in queue.messages)),
            "ApproximateNumberOfMessagesNotVisible": str(sum(m.in_flight(now) for m in queue.messages)),
            "ApproximateNumberOfMessagesDelayed": str(sum(now < m.available_at for m in queue.messages)),
            "CreatedTimestamp": str(int(queue.created_at)),
            "LastModifiedTimestamp": str(int(queue.modified_at)),
            "QueueArn": queue.arn,
        }

    def purge_queue(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("PurgeQueue", params["QueueUrl"])
            now = self.clock.time()
            if queue.purged_at is not None and now < queue.purged_at + 60:
                self._raise("PurgeQueue", "PurgeQueueInProgress",
                            f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds.")
            queue.purged_at = now
            queue.messages = [m for m in queue.messages if m.sent_at > now]
            return {}

        return self._call("PurgeQueue", params, run)

    # ----- sending --------------------------------------------------------------------------------

    def send_message(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("SendMessage", params["QueueUrl"])
            problem = self._problem_with_send(queue, params)
            if problem is not None:
                self._raise("SendMessage", *problem)
            return self._enqueue(queue, params)

        return self._call("SendMessage", params, run)

    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("SendMessageBatch", params["QueueUrl"])
            entries = params["Entries"]
            self._check_batch("SendMessageBatch", entries)
            total = sum(_message_size(e.get("MessageBody", ""), e.get("MessageAttributes")) for e in entries)
            if total > MAX_MESSAGE_SIZE:
                self._raise("SendMessageBatch", "BatchRequestTooLong",
                            f"Batch requests cannot be longer than {MAX_MESSAGE_SIZE} bytes. You have sent {total} "
                            "bytes.")
            successful, failed = [], []
            for entry in entries:
                problem = self._problem_with_send(queue, entry)
                if problem is not None:
                    failed.append({"Id": entry["Id"], "SenderFault": True, "Code": _QUERY_CODES.get(problem[0],
                                   problem[0]), "Message": problem[1]})
                    continue
                successful.append({"Id": entry["Id"], **self._enqueue(queue, entry)})
            return {"Successful": successful, "Failed": failed}

        return self._call("SendMessageBatch", params, run)

    def _problem_with_send(self, queue: _Queue, params: dict[str, Any]) -> tuple[str, str] | None:
        body = params.get("MessageBody", "")
        if body == "":
            return "MissingParameter", "The request must contain the parameter MessageBody."
        if INVALID_SQS_CHARACTERS.search(body):
            return ("InvalidMessageContents", "Invalid binary character in the message body; see "
                    "https://www.w3.org/TR/REC-xml/#charsets")
        limit = queue.number("MaximumMessageSize")
        if _message_size(body, params.get("MessageAttributes")) > limit:
            return ("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter "
                    f"than {limit} bytes.")
        if len(params.get("MessageAttributes") or {}) > 10:
            return "InvalidParameterValue", "Number of message attributes [11] exceeds the allowed maximum [10]."
        delay = params.get("DelaySeconds")
        if delay is not None and not 0 <= int(delay) <= 900:
            return ("InvalidParameterValue", f"Value {delay} for parameter DelaySeconds is invalid. Reason: must be "
                    "between 0 and 900.")
        group, dedup = params.get("MessageGroupId"), params.get("MessageDeduplicationId")
        for name, value in (("MessageGroupId", group), ("MessageDeduplicationId", dedup)):
            if value is not None and not is_valid_message_id(value):
                return ("InvalidParameterValue", f"Value {value} for parameter {name} is invalid. Reason: {name} can "
                        "only include alphanumeric and punctuation characters. 1 to 128 in length.")
        if not queue.fifo:
            if dedup is not None:
                return ("InvalidParameterValue", "The request include parameter that is not valid for this queue "
                        "type. Reason: MessageDeduplicationId is only supported on FIFO queues.")
            return None
        if group is None:
            return "MissingParameter", "The request must contain the parameter MessageGroupId."
        if delay is not None and int(delay) != 0:
            return ("InvalidParameterValue", f"Value {delay} for parameter DelaySeconds is invalid. Reason: The "
                    "request include parameter that is not valid for this queue type.")
        if dedup is None and queue.attributes.get("ContentBasedDeduplication") != "true":
            return ("InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly")
        return None

    def _enqueue(self, queue: _Queue, params: dict[str, Any], *, enqueued_at: float | None = None,
                 receive_count: int = 0, dlq_source: str | None = None, message_id: str | None = None,
                 sent_at: float | None = None) -> dict[str, Any]:
        now = self.clock.time()
        body: str = params["MessageBody"]
        group, dedup = params.get("MessageGroupId"), params.get("MessageDeduplicationId")
        sequence: str | None = None
        if queue.fifo:
            dedup = dedup or hashlib.sha256(body.encode()).hexdigest()
            key = f"{group}\x00{dedup}" if queue.attributes.get("DeduplicationScope") == "messageGroup" else dedup
            seen = queue.dedup.get(key)
            if seen is not None and seen[0] > now:  # accepted, not delivered: answers the first one
                return _sent(body, params.get("MessageAttributes"), seen[1], seen[2])
            sequence = str(next(queue.sequence))
            message_id = message_id or str(uuid.uuid4())
            queue.dedup[key] = (now + DEDUP_WINDOW, message_id, sequence)
        given = params.get("DelaySeconds")
        delay = int(given) if given is not None else queue.number("DelaySeconds")
        message = _Message(
            message_id=message_id or str(uuid.uuid4()), body=body,
            attributes=dict(params.get("MessageAttributes") or {}),
            sent_at=now if sent_at is None else sent_at,
            enqueued_at=now if enqueued_at is None else enqueued_at,
            available_at=now + delay, group_id=group, dedup_id=dedup if queue.fifo else None,
            sequence_number=sequence, receive_count=receive_count, dead_letter_source_arn=dlq_source,
        )
        queue.messages.append(message)
        return _sent(body, message.attributes, message.message_id, sequence)

    # ----- receiving ------------------------------------------------------------------------------

    def receive_message(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("ReceiveMessage", params["QueueUrl"])
            count = params.get("MaxNumberOfMessages", 1)
            if not 1 <= count <= 10:
                self._invalid("ReceiveMessage", f"Value {count} for parameter MaxNumberOfMessages is invalid. "
                              "Reason: Must be between 1 and 10, if provided.")
            timeout = params.get("VisibilityTimeout")
            if timeout is not None and not 0 <= timeout <= MAX_VISIBILITY:
                self._invalid("ReceiveMessage", f"Value {timeout} for parameter VisibilityTimeout is invalid. "
                              f"Reason: Must be between 0 and {MAX_VISIBILITY}, if provided.")
            wanted_system = set(params.get("AttributeNames") or []) | set(params.get("MessageSystemAttributeNames")
                                                                           or [])
            bad = wanted_system - _MESSAGE_SYSTEM_ATTRIBUTES - {"All"}
            if bad:
                self._raise("ReceiveMessage", "InvalidAttributeName", f"Unknown Attribute {sorted(bad)[0]}.")
            visibility = queue.number("VisibilityTimeout") if timeout is None else int(timeout)
            chosen = self._choose(queue, count)
            now = self.clock.time()
            messages = []
            for message in chosen:
                message.receive_count += 1
                message.first_receive_at = message.first_receive_at or now
                message.received_at = now
                message.invisible_until = now + visibility
                message.receipt_handle = _receipt_handle(queue, message)
                messages.append(self._received(queue, message, wanted_system, params.get("MessageAttributeNames")))
            return {"Messages": messages} if messages else {}

        return self._call("ReceiveMessage", params, run)

    def _choose(self, queue: _Queue, count: int) -> list[_Message]:
        """Which messages a receive gets, moving any that exceeded maxReceiveCount to the DLQ on the way."""
        now = self.clock.time()
        policy = queue.redrive()
        limit = int(policy["maxReceiveCount"]) if policy else None
        chosen: list[_Message] = []
        if not queue.fifo:
            for message in list(queue.messages):
                if len(chosen) == count:
                    break
                if message.visible(now):
                    if limit is not None and message.receive_count >= limit and self._dead_letter(queue, message):
                        continue
                    chosen.append(message)
            return chosen
        groups: dict[str, list[_Message]] = {}
        for message in queue.messages:
            groups.setdefault(message.group_id or "", []).append(message)
        for members in groups.values():  # dict order: the group whose head is oldest first
            if len(chosen) == count:
                break
            if any(m.in_flight(now) for m in members):
                continue  # a group with a message in flight delivers nothing else
            for message in members:
                if len(chosen) == count or not message.visible(now):
                    break
                if limit is not None and message.receive_count >= limit and self._dead_letter(queue, message):
                    continue
                chosen.append(message)
        return chosen

    def _dead_letter(self, queue: _Queue, message: _Message) -> bool:
        policy = queue.redrive() or {}
        dlq = self._by_arn(str(policy.get("deadLetterTargetArn")))
        if dlq is None:
            return False
        queue.messages.remove(message)
        entry: dict[str, Any] = {"MessageBody": message.body, "MessageAttributes": message.attributes}
        if dlq.fifo:
            entry |= {"MessageGroupId": message.group_id, "MessageDeduplicationId": message.message_id}
        elif message.group_id is not None:
            entry["MessageGroupId"] = message.group_id
        self._enqueue(dlq, entry, enqueued_at=None if dlq.fifo else message.enqueued_at,
                      receive_count=message.receive_count, dlq_source=queue.arn, message_id=message.message_id,
                      sent_at=message.sent_at)
        return True

    def _received(self, queue: _Queue, message: _Message, wanted: set[str], attribute_names: Any) -> dict[str, Any]:
        answer: dict[str, Any] = {"MessageId": message.message_id, "ReceiptHandle": message.receipt_handle,
                                  "MD5OfBody": hashlib.md5(message.body.encode(), usedforsecurity=False).hexdigest(),
                                  "Body": message.body}
        system = {
            "SenderId": message.sender_id,
            "SentTimestamp": str(int(message.sent_at * 1000)),
            "ApproximateReceiveCount": str(message.receive_count),
            "ApproximateFirstReceiveTimestamp": str(int((message.first_receive_at or 0) * 1000)),
        }
        if message.sequence_number is not None:
            system["SequenceNumber"] = message.sequence_number
        if message.dedup_id is not None:
            system["MessageDeduplicationId"] = message.dedup_id
        if message.group_id is not None:
            system["MessageGroupId"] = message.group_id
        if message.dead_letter_source_arn is not None:
            system["DeadLetterQueueSourceArn"] = message.dead_letter_source_arn
        chosen = system if "All" in wanted else {k: v for k, v in system.items() if k in wanted}
        if chosen:
            answer["Attributes"] = chosen
        selected = _select_attributes(message.attributes, attribute_names or [])
        if selected:
            answer["MD5OfMessageAttributes"] = md5_of_message_attributes(selected)
            answer["MessageAttributes"] = selected
        return answer

    def peek(self, url: str) -> list[dict[str, Any]]:
        """Local inspection only (no SQS API does this): every message in the queue, in order, with its
        body, message attributes, receive count and group, without receiving it (no receive count,
        visibility or FIFO group changes). The benchmark counts what a DLQ holds with it."""
        queue = self._queue("Peek", url)
        return [{"MessageId": m.message_id, "Body": m.body, "MessageAttributes": dict(m.attributes),
                 "ReceiveCount": m.receive_count, "MessageGroupId": m.group_id} for m in queue.messages]

    # ----- acknowledging --------------------------------------------------------------------------

    def _lookup_handle(self, operation: str, queue: _Queue, handle: str) -> tuple[_Message | None, bool]:
        """(message, is its latest handle); raises ReceiptHandleIsInvalid for a handle this queue never issued."""
        try:
            decoded = json.loads(base64.urlsafe_b64decode(handle.encode()))
            assert decoded["q"] == queue.arn
            message_id = decoded["m"]
        except Exception:  # noqa: BLE001 - any malformed handle is the same AWS error
            self._raise(operation, "ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid '
                        "receipt handle.")
            raise AssertionError from None
        message = next((m for m in queue.messages if m.message_id == message_id), None)
        return message, message is not None and message.receipt_handle == handle

    def delete_message(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("DeleteMessage", params["QueueUrl"])
            self._delete(queue, "DeleteMessage", params["ReceiptHandle"])
            return {}

        return self._call("DeleteMessage", params, run)

    def _delete(self, queue: _Queue, operation: str, handle: str) -> None:
        message, latest = self._lookup_handle(operation, queue, handle)
        if message is not None and latest:
            queue.messages.remove(message)

    def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("ChangeMessageVisibility", params["QueueUrl"])
            problem = self._change_visibility(queue, params["ReceiptHandle"], params["VisibilityTimeout"])
            if problem is not None:
                self._raise("ChangeMessageVisibility", *problem)
            return {}

        return self._call("ChangeMessageVisibility", params, run)

    def _change_visibility(self, queue: _Queue, handle: str, timeout: int) -> tuple[str, str] | None:
        if not 0 <= timeout <= MAX_VISIBILITY:
            return ("InvalidParameterValue", f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: "
                    f"Must be between 0 and {MAX_VISIBILITY}, if provided.")
        try:
            message, latest = self._lookup_handle("ChangeMessageVisibility", queue, handle)
        except ClientError as error:
            return "ReceiptHandleIsInvalid", str(error.response["Error"]["Message"])
        now = self.clock.time()
        if message is None or not latest or not message.in_flight(now):
            return ("MessageNotInflight", "Message does not exist or is not available for visibility timeout "
                    "change.")
        if now + timeout > message.received_at + MAX_VISIBILITY:
            return ("InvalidParameterValue", f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: "
                    "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
        message.invisible_until = now + timeout
        return None

    def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("DeleteMessageBatch", params["QueueUrl"])
            self._check_batch("DeleteMessageBatch", params["Entries"])
            successful, failed = [], []
            for entry in params["Entries"]:
                try:
                    self._delete(queue, "DeleteMessageBatch", entry["ReceiptHandle"])
                    successful.append({"Id": entry["Id"]})
                except ClientError as error:
                    failed.append({"Id": entry["Id"], "SenderFault": True, "Code": error.response["Error"]["Code"],
                                   "Message": error.response["Error"]["Message"]})
            return {"Successful": successful, "Failed": failed}

        return self._call("DeleteMessageBatch", params, run)

    def change_message_visibility_batch(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            queue = self._queue("ChangeMessageVisibilityBatch", params["QueueUrl"])
            self._check_batch("ChangeMessageVisibilityBatch", params["Entries"])
            successful, failed = [], []
            for entry in params["Entries"]:
                problem = self._change_visibility(queue, entry["ReceiptHandle"], entry.get("VisibilityTimeout", 0))
                if problem is None:
                    successful.append({"Id": entry["Id"]})
                else:
                    failed.append({"Id": entry["Id"], "SenderFault": True,
                                   "Code": _QUERY_CODES.get(problem[0], problem[0]), "Message": problem[1]})
            return {"Successful": successful, "Failed": failed}

        return self._call("ChangeMessageVisibilityBatch", params, run)

    def _check_batch(self, operation: str, entries: list[dict[str, Any]]) -> None:
        if not entries:
            self._raise(operation, "EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry "
                        "in the request.")
        if len(entries) > 10:
            self._raise(operation, "TooManyEntriesInBatchRequest", f"Maximum number of entries per request are 10. "
                        f"You have sent {len(entries)}.")
        ids = [e["Id"] for e in entries]
        for entry_id in ids:
            if not _BATCH_ID.match(entry_id):
                self._raise(operation, "InvalidBatchEntryId", "A batch entry id can only contain alphanumeric "
                            "characters, hyphens and underscores. It can be at most 80 letters long.")
        if len(set(ids)) != len(ids):
            self._raise(operation, "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the "
                        "same Id.")

    # ----- message move tasks (DLQ redrive) -------------------------------------------------------

    def start_message_move_task(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            operation = "StartMessageMoveTask"
            source = self._by_arn(params["SourceArn"])
            if source is None:
                self._raise(operation, "ResourceNotFoundException", "The resource that you specified for the "
                            "SourceArn parameter doesn't exist.")
            assert source is not None
            if not self._dead_letter_sources(source):
                self._invalid(operation, "Source queue must be configured as a Dead Letter Queue.")
            destination_arn = params.get("DestinationArn")
            if destination_arn is not None:
                destination = self._by_arn(destination_arn)
                if destination is None:
                    self._raise(operation, "ResourceNotFoundException", "The resource that you specified for the "
                                "DestinationArn parameter doesn't exist.")
                assert destination is not None
                if destination.fifo != source.fifo:
                    self._invalid(operation, "The source queue and the destination queue must be of the same type.")
            rate = params.get("MaxNumberOfMessagesPerSecond")
            if rate is not None and not 1 <= rate <= MAX_MOVE_RATE:
                self._invalid(operation, f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. "
                              f"Reason: must be between 1 and {MAX_MOVE_RATE}.")
            if any(t.source_arn == source.arn and t.status == "RUNNING" for t in self._tasks):
                self._raise(operation, "UnsupportedOperation", "There is already a task running. Only one active "
                            "task is allowed for each source queue arn at a given time.")
            now = self.clock.time()
            handle = base64.urlsafe_b64encode(json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source.arn})
                                              .encode()).decode()
            task = _MoveTask(handle, source.arn, destination_arn, rate, now,
                             to_move=sum(m.visible(now) for m in source.messages), last_progress=now)
            self._tasks.append(task)
            self._progress(task, now)
            return {"TaskHandle": handle}

        return self._call("StartMessageMoveTask", params, run)

    def _dead_letter_sources(self, dlq: _Queue) -> list[_Queue]:
        return [q for q in self._queues.values() if (q.redrive() or {}).get("deadLetterTargetArn") == dlq.arn]

    def _progress(self, task: _MoveTask, now: float) -> None:
        source = self._by_arn(task.source_arn)
        if source is None:
            task.status, task.failure = "FAILED", "AWS.SimpleQueueService.NonExistentQueue"
            return
        budget = task.to_move - task.moved
        if task.rate is not None:
            budget = min(budget, int((now - task.started_at) * task.rate) - task.moved)
        for message in [m for m in source.messages if m.visible(now)][:max(0, budget)]:
            destination = self._by_arn(task.destination_arn or message.dead_letter_source_arn or "")
            if destination is None:
                task.status, task.failure = "FAILED", "AWS.SimpleQueueService.NonExistentQueue"
                return
            source.messages.remove(message)
            entry: dict[str, Any] = {"MessageBody": message.body, "MessageAttributes": message.attributes}
            if message.group_id is not None:
                entry["MessageGroupId"] = message.group_id
            if destination.fifo:
                entry["MessageDeduplicationId"] = message.dedup_id or message.message_id
            self._enqueue(destination, entry)  # a new message: new id, receive count 0, retention restarts
            task.moved += 1
        if task.moved >= task.to_move:
            task.status = "COMPLETED"

    def list_message_move_tasks(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            source = self._by_arn(params["SourceArn"])
            if source is None:
                self._raise("ListMessageMoveTasks", "ResourceNotFoundException", "The resource that you specified "
                            "for the SourceArn parameter doesn't exist.")
            size = params.get("MaxResults", 1)
            if not 1 <= size <= 10:
                self._invalid("ListMessageMoveTasks", f"Value {size} for parameter MaxResults is invalid. Reason: "
                              "must be between 1 and 10.")
            tasks = [t for t in reversed(self._tasks) if t.source_arn == params["SourceArn"]][:size]
            return {"Results": [self._describe_task(t) for t in tasks]}

        return self._call("ListMessageMoveTasks", params, run)

    @staticmethod
    def _describe_task(task: _MoveTask) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Status": task.status, "SourceArn": task.source_arn,
            "ApproximateNumberOfMessagesMoved": task.moved, "ApproximateNumberOfMessagesToMove": task.to_move,
            "StartedTimestamp": int(task.started_at * 1000),
        }
        if task.status == "RUNNING":
            entry["TaskHandle"] = task.handle  # only a running task's handle is returned (it can be cancelled)
        if task.destination_arn is not None:
            entry["DestinationArn"] = task.destination_arn
        if task.rate is not None:
            entry["MaxNumberOfMessagesPerSecond"] = task.rate
        if task.failure is not None:
            entry["FailureReason"] = task.failure
        return entry

    def cancel_message_move_task(self, **params: Any) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            task = next((t for t in self._tasks if t.handle == params["TaskHandle"]), None)
            if task is None:
                self._raise("CancelMessageMoveTask", "ResourceNotFoundException", "The task handle does not exist.")
            assert task is not None
            if task.status != "RUNNING":
                self._raise("CancelMessageMoveTask", "UnsupportedOperation",
                            f"Only a RUNNING task can be cancelled; this one is {task.status}.")
            task.status = "CANCELLED"
            return {"ApproximateNumberOfMessagesMoved": task.moved}

        return self._call("CancelMessageMoveTask", params, run)

    # ----- for the event source model and benchmarks (not SQS API) --------------------------------

    def next_change(self, urls: Iterable[str] | None = None) -> float | None:
        """The earliest future `time()` at which a message of these queues becomes visible, or a running
        move task can move another message; None if nothing is waiting on the clock."""
        with self._lock:
            now = self.clock.time()
            chosen = {u.rstrip("/").rsplit("/", 1)[-1] for u in urls} if urls is not None else None
            times = [max(m.available_at, m.invisible_until) for q in self._queues.values()
                     if chosen is None or q.name in chosen for m in q.messages]
            future = [t for t in times if t > now]
            for task in self._tasks:
                if task.status == "RUNNING" and task.rate is not None:
                    future.append(task.started_at + (task.moved + 1) / task.rate)
            return min(future) if future else None

    def queue_names(self) -> list[str]:
        with self._lock:
            return list(self._queues)


@cache
def _model_client(region: str) -> Any:
    return botocore.session.get_session().create_client(
        "sqs", region_name=region, aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106


def is_valid_message_id(value: str) -> bool:
    """SQS's rule for MessageGroupId and MessageDeduplicationId: 1..128 of letters, digits and punctuation.

    Deliberately independent of the layer's `jira_bridge.sqs_ids`: this is the service's side of the check.
    """
    return 1 <= len(value) <= 128 and all(c in _ID_CHARS for c in value)


def _receipt_handle(queue: _Queue, message: _Message) -> str:
    token = {"q": queue.arn, "m": message.message_id, "n": uuid.uuid4().hex}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def _message_size(body: str, attributes: dict[str, Any] | None) -> int:
    size = len(body.encode())
    for name, value in (attributes or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        size += len(str(value.get("StringValue", "")).encode()) + len(value.get("BinaryValue", b""))
    return size


def _sent(body: str, attributes: dict[str, Any] | None, message_id: str, sequence: str | None) -> dict[str, Any]:
    answer: dict[str, Any] = {"MD5OfMessageBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                              "MessageId": message_id}
    if attributes:
        answer["MD5OfMessageAttributes"] = md5_of_message_attributes(attributes)
    if sequence is not None:
        answer["SequenceNumber"] = sequence
    return answer


def _select_attributes(attributes: dict[str, Any], names: list[str]) -> dict[str, Any]:
    if not attributes or not names:
        return {}
    if "All" in names or ".*" in names:
        return dict(attributes)
    prefixes = [n[:-2] for n in names if n.endswith(".*")]
    return {k: v for k, v in attributes.items() if k in names or any(k.startswith(p + ".") for p in prefixes)}


def md5_of_message_attributes(attributes: dict[str, Any]) -> str:
    """The MD5 SQS returns over message attributes (length-prefixed name, type, transport byte, value)."""
    digest = hashlib.md5(usedforsecurity=False)

    def add(data: bytes) -> None:
        digest.update(len(data).to_bytes(4, "big") + data)

    for name in sorted(attributes):
        value = attributes[name]
        data_type = str(value["DataType"])
        add(name.encode())
        add(data_type.encode())
        if "BinaryValue" in value and value["BinaryValue"] is not None:
            digest.update(b"\x02")
            add(bytes(value["BinaryValue"]))
        else:
            digest.update(b"\x01")
            add(str(value.get("StringValue", "")).encode())
    return digest.hexdigest()

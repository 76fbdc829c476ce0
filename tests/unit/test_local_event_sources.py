"""Lambda's SQS event source mapping model: a failing FIFO group stays blocked, in order, while the
others flow at once; an outage of 20 simulated minutes runs in well under a second."""

import json
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runtime.clock import SimClock
from local_runtime.event_sources import EventSourceMappings
from local_runtime.local_aws import create_template_queues
from local_runtime.runner import LocalRunner
from local_runtime.sqs_model import LocalSqs
from local_runtime.stack import Stack

pytestmark = pytest.mark.unit

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
      ContentBasedDeduplication: true
      VisibilityTimeout: 360
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDLQ.Arn
        maxReceiveCount: 100
  WorkDLQ:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Handler: esm_test_worker.handler
      Runtime: python3.13
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt WorkQueue.Arn
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig:
              MaximumConcurrency: 3
"""

# Fails every record of a group that is "down" and, as Powertools' SqsFifoPartialProcessor does, every
# later record of the batch's same group; records what it applied and when (simulated time).
WORKER = """
applied = []
down_until = {}
clock = None


def handler(event, context):
    failures, failed_groups = [], set()
    for record in event["Records"]:
        group = record["attributes"]["MessageGroupId"]
        if group in failed_groups or clock.time() < down_until.get(group, 0):
            failed_groups.add(group)
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        applied.append((group, record["body"], clock.time()))
    return {"batchItemFailures": failures}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[EventSourceMappings, LocalSqs, Any, Stack]]:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "esm_test_worker.py").write_text(textwrap.dedent(WORKER))
    sys.modules.pop("esm_test_worker", None)
    stack = Stack(tmp_path / "template.yaml", stack_name="esm")
    clock = SimClock(start=1_767_225_600.0)
    sqs = LocalSqs(clock)
    create_template_queues(sqs, stack)
    mappings = EventSourceMappings(LocalRunner(stack), sqs)
    mappings.runner.handler(stack.function("Worker"))  # imports the worker as the runner does
    worker = sys.modules["esm_test_worker"]
    worker.clock = clock  # type: ignore[attr-defined]
    yield mappings, sqs, worker, stack
    if str(tmp_path / "worker") in sys.path:
        sys.path.remove(str(tmp_path / "worker"))
    sys.modules.pop("esm_test_worker", None)


def test_a_failing_group_waits_in_order_while_other_groups_are_applied_at_once(world: Any) -> None:
    mappings, sqs, worker, stack = world
    queue = stack.queue_urls["WorkQueue"]
    start = sqs.clock.time()
    worker.down_until["incident-bad"] = start + 20 * 60  # its Jira calls fail for 20 minutes
    for step in range(4):
        for incident in ("incident-bad", "incident-1", "incident-2", "incident-3", "incident-4"):
            sqs.send_message(QueueUrl=queue, MessageGroupId=incident, MessageBody=json.dumps([incident, step]))

    began = time.perf_counter()
    report = mappings.run_until_idle(max_sim_seconds=6 * 3600)
    real_seconds = time.perf_counter() - began

    assert report.idle
    by_group: dict[str, list[tuple[str, float]]] = {}
    for group, body, at in worker.applied:
        by_group.setdefault(group, []).append((body, at - start))
    for incident in ("incident-1", "incident-2", "incident-3", "incident-4"):
        assert [json.loads(b)[1] for b, _ in by_group[incident]] == [0, 1, 2, 3]
        assert max(at for _, at in by_group[incident]) == 0.0  # no delay from the failing neighbour
    bad = by_group["incident-bad"]
    assert [json.loads(b)[1] for b, _ in bad] == [0, 1, 2, 3]  # in order, each applied once
    assert min(at for _, at in bad) == 4 * 360  # first visibility expiry after the 20-minute outage
    dlq = stack.queue_urls["WorkDLQ"]
    assert sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert real_seconds < 1.0
    # The mapping ran up to MaximumConcurrency (3) batches at one instant: other groups were not queued
    # behind the failing one.
    first_round = [d for d in report.deliveries if d.at == start]
    assert 2 <= len(first_round) <= 3


def test_a_function_error_returns_the_whole_batch_and_a_bad_item_id_fails_it_all(world: Any) -> None:
    mappings, sqs, worker, stack = world
    queue = stack.queue_urls["WorkQueue"]
    sqs.send_message(QueueUrl=queue, MessageGroupId="g", MessageBody="one")
    sqs.send_message(QueueUrl=queue, MessageGroupId="g", MessageBody="two")
    original = worker.handler
    worker.handler = lambda event, context: {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}
    mappings.runner._handlers.clear()
    try:
        (delivery,) = mappings.step()
        assert delivery.deleted == []
        assert len(delivery.failed) == 2
        sqs.clock.advance(360)

        def boom(event: Any, context: Any) -> Any:
            raise RuntimeError("bug on this incident's data")

        worker.handler = boom
        mappings.runner._handlers.clear()
        (delivery,) = mappings.step()
        assert delivery.deleted == []
        assert isinstance(delivery.error, RuntimeError)
    finally:
        worker.handler = original
        mappings.runner._handlers.clear()
    sqs.clock.advance(360)
    mappings.run_until_idle()
    assert [body for _, body, _ in worker.applied] == ["one", "two"]
    receives = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert receives["ApproximateNumberOfMessages"] == "0"
    assert receives["ApproximateNumberOfMessagesNotVisible"] == "0"

"""Lambda's SQS event source mapping, modelled on the local SQS model's clock (never shipped).

For every `Type: SQS` event of a function in template.yaml, a poller receives batches with the
queue's own VisibilityTimeout, hands the function the SQS event Lambda builds, and then:

- the handler raised (a function error): nothing is deleted, the whole batch returns to the queue
  when its visibility expires;
- ``FunctionResponseTypes: [ReportBatchItemFailures]``: every record not named in
  ``batchItemFailures`` is deleted; an empty or null list (or no response) is a complete success; an
  item with an empty, null or unknown ``itemIdentifier`` (or an unreadable response) fails the whole
  batch, as Lambda documents;
- without it, a normal return deletes the whole batch.

Several pollers run per step (``ScalingConfig.MaximumConcurrency`` if the template sets one, else the
``concurrency`` given here), all at the same simulated instant, so one FIFO group failing while others
flow is visible. `run_until_idle` jumps the clock to the next visibility expiry when nothing is
visible, so hours of retries run in well under a second.
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from local_runtime.clock import SimClock
from local_runtime.runner import LocalRunner, _sqs_record
from local_runtime.sqs_model import LocalSqs


@dataclass(frozen=True)
class SqsEventSource:
    function: str
    queue_url: str
    batch_size: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None


@dataclass
class Delivery:
    """One invocation by the mapping: when, which records, and what became of them."""

    function: str
    at: float
    message_ids: list[str]
    deleted: list[str]
    failed: list[str]
    error: BaseException | None = None


@dataclass
class IdleReport:
    sim_seconds: float
    steps: int
    deliveries: list[Delivery] = field(default_factory=list)
    idle: bool = True  # False: stopped at max_sim_seconds with work still waiting


class EventSourceMappings:
    """The SQS event sources of the template's functions, polling `sqs` on its clock."""

    def __init__(self, runner: LocalRunner, sqs: LocalSqs, concurrency: int = 5,
                 invocation_seconds: float = 0.0) -> None:
        self.runner = runner
        self.sqs = sqs
        self.clock = sqs.clock
        self.concurrency = concurrency
        self.invocation_seconds = invocation_seconds  # simulated duration of each round of invocations
        self.deliveries: list[Delivery] = []

    def sources(self) -> list[SqsEventSource]:
        stack = self.runner.stack
        found = []
        for spec in self.runner.specs.values():
            for event in spec.events:
                if event.type != "SQS":
                    continue
                props = stack.resolve(event.properties)
                logical_id = stack.queue_logical_id_for_arn(str(props["Queue"]))
                if logical_id is None or logical_id not in stack.queue_urls:
                    continue
                if str(props.get("Enabled", True)).lower() == "false":
                    continue
                scaling = props.get("ScalingConfig") or {}
                found.append(SqsEventSource(
                    function=spec.logical_id,
                    queue_url=stack.queue_urls[logical_id],
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    maximum_concurrency=int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling
                    else None,
                ))
        return found

    def step(self) -> list[Delivery]:
        """One polling round: every poller of every source receives once (all at this instant), then each
        batch is invoked and acknowledged. Returns the round's deliveries (empty: nothing was visible)."""
        batches: list[tuple[SqsEventSource, list[dict[str, Any]]]] = []
        for source in self.sources():
            for _ in range(source.maximum_concurrency or self.concurrency):
                answer = self.sqs.receive_message(
                    QueueUrl=source.queue_url, MaxNumberOfMessages=min(source.batch_size, 10),
                    MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
                messages = answer.get("Messages", [])
                if not messages:
                    break
                batches.append((source, messages))
        if not batches:
            return []
        started = self.clock.time()
        outcomes = [(source, messages, *self._invoke(source, messages)) for source, messages in batches]
        if self.invocation_seconds and isinstance(self.clock, SimClock):
            self.clock.advance(self.invocation_seconds)
        deliveries = []
        for source, messages, failed, error in outcomes:
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                self.sqs.delete_message_batch(QueueUrl=source.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
            deliveries.append(Delivery(source.function, started, [m["MessageId"] for m in messages],
                                       [m["MessageId"] for m in done], sorted(failed), error))
        self.deliveries.extend(deliveries)
        return deliveries

    def _invoke(self, source: SqsEventSource, messages: list[dict[str, Any]]) -> tuple[set[str], BaseException | None]:
        """(message ids that failed, the error the function raised if it did)."""
        every = {m["MessageId"] for m in messages}
        event = {"Records": [_sqs_record(m, source.queue_url, self.runner.stack.region) for m in messages]}
        try:
            response = self.runner.invoke(source.function, event)
        except Exception as error:  # noqa: BLE001 - a function error fails the whole batch, as in Lambda
            return every, error
        if not source.report_batch_item_failures:
            return set(), None
        return _failed_items(response, every), None

    def run_until_idle(self, max_sim_seconds: float = 86_400.0, max_steps: int = 100_000) -> IdleReport:
        """Poll until no source has anything visible and nothing is waiting on the clock, jumping the clock
        to the next visibility expiry (or delay, or move-task tick) whenever a round finds nothing."""
        if not isinstance(self.clock, SimClock):
            raise TypeError("run_until_idle needs the SQS model on a SimClock (it moves the clock)")
        clock = self.clock
        began = clock.monotonic()
        deadline = clock.time() + max_sim_seconds
        report = IdleReport(0.0, 0)
        for _ in range(max_steps):
            report.steps += 1
            round_ = self.step()
            report.deliveries.extend(round_)
            if round_:
                continue
            upcoming = self.sqs.next_change([s.queue_url for s in self.sources()])
            if upcoming is None:
                break
            if upcoming > deadline:
                clock.advance_to(deadline)
                report.idle = False
                break
            clock.advance_to(upcoming)
        else:
            report.idle = False
        report.sim_seconds = clock.monotonic() - began
        return report


def _failed_items(response: Any, every: set[str]) -> set[str]:
    """Lambda's reading of a partial batch response: the ids to keep, or all of them if it is invalid."""
    if response is None or response == {}:
        return set()
    if not isinstance(response, dict):
        return every
    items = response.get("batchItemFailures")
    if items is None or items == []:
        return set()
    if not isinstance(items, list):
        return every
    failed = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in every:
            return every
        failed.add(identifier)
    return failed

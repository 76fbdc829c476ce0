"""Retrying one FIFO message later without holding up the other message groups in its batch.

Both queue consumers that call Jira (incident events: a group per incident; Jira changes: a group per
issue) process batches with Powertools' ``SqsFifoPartialProcessor(skip_group_on_error=True)``: a
failed record fails only the rest of *its* group. This module does the two things SQS needs from
us then:

- the failed record's visibility becomes its retry delay (:func:`retry_delay`: the remote's
  ``Retry-After`` when it gave one, else exponential backoff), so an outage is waited out in the
  queue, not asleep in a Lambda, and the group stays blocked behind it in order;
- the records of that group that were never tried are handed back at once (visibility 0): the
  failed one still blocks its group, so they keep their place, and they do not sit out the queue's
  whole visibility timeout after the failure clears.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FIRST_RETRY_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 900.0
EXACT_RETRY_AFTER_RECEIVES = 3
MAX_VISIBILITY_SECONDS = 43_200  # SQS's ceiling for a message's visibility timeout (12 h)
# Longest wait a remote call may spend in-process (a short Retry-After) in a queue consumer.
IN_PROCESS_WAIT_SECONDS = 2.0

_log = logging.getLogger("jira_bridge.queue_retries")


def retry_delay(retry_after: float | None, receive_count: int, rand: float) -> int:
    """Seconds before a failed message is tried again (its new visibility timeout).

    Exponential backoff with equal jitter by SQS's ApproximateReceiveCount (1 on first delivery):
    5-10 s, 10-20 s, 20-40 s ... capped at 7.5-15 min. The remote's ``Retry-After`` (plus up to 10%
    jitter, so a crowd throttled together does not return together) is what the first
    ``EXACT_RETRY_AFTER_RECEIVES`` receives wait; after that it is a lower bound on the backoff, never
    the whole answer: a short Retry-After repeated on every receive would otherwise burn through
    maxReceiveCount in minutes and park a message that only needed patience.
    """
    ceiling = min(MAX_BACKOFF_SECONDS, FIRST_RETRY_SECONDS * 2.0 ** max(receive_count - 1, 0))
    delay = ceiling / 2 + rand * ceiling / 2
    if retry_after is not None and retry_after > 0:
        asked = retry_after + rand * max(1.0, retry_after * 0.1)
        delay = asked if receive_count <= EXACT_RETRY_AFTER_RECEIVES else max(delay, asked)
    return int(min(MAX_VISIBILITY_SECONDS, max(1, math.ceil(delay))))


@dataclass
class FifoRetries:
    """One invocation's retries on one queue, over an injected SQS client (boto3's shape)."""

    sqs: Any
    queue_url: str
    backed_off: set[str] = field(default_factory=set)

    def back_off(self, message_id: str, receipt_handle: str, receive_count: int, error: Exception) -> int:
        """Retry this message later, not sooner than the remote asked; returns the delay."""
        delay = retry_delay(getattr(error, "retry_after", None), receive_count,
                            random.random())  # noqa: S311 - jitter, not cryptography
        try:
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=receipt_handle,
                                               VisibilityTimeout=delay)
        except Exception:  # noqa: BLE001 - then it retries after the queue's visibility timeout: later, still in order
            _log.warning("could not set the retry delay of %s", message_id, exc_info=True)
        self.backed_off.add(message_id)
        return delay

    def release_untried(self, records: Iterable[Mapping[str, Any]], failed: set[str]) -> int:
        """Hand back the failed records this invocation never tried (behind a failure of their group)."""
        released = 0
        for record in records:
            if record["messageId"] in failed and record["messageId"] not in self.backed_off:
                try:
                    self.sqs.change_message_visibility(QueueUrl=self.queue_url,
                                                       ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0)
                    released += 1
                except Exception:  # noqa: BLE001 - it then waits out its visibility timeout, still in order
                    _log.warning("could not hand back %s", record["messageId"], exc_info=True)
        return released

    def process(self, event: dict[str, Any], context: Any, record_handler: Callable[[Any], Any],
                processor: Any) -> dict[str, Any]:
        """Powertools' partial batch run under the queue consumer's time and wait budget; afterwards
        the untried records go back in line (also when every record failed and the batch raises)."""
        from aws_lambda_powertools.utilities.batch import process_partial_response
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

        from jira_bridge.invocation import invocation_budget

        records = event.get("Records", [])
        with invocation_budget(context, max_wait=IN_PROCESS_WAIT_SECONDS):  # remote retries end in time
            try:
                response: dict[str, Any] = dict(process_partial_response(
                    event=event, record_handler=record_handler, processor=processor, context=context))
            except BatchProcessingError:  # every record failed: Lambda retries the batch (counts an error)
                self.release_untried(records, {r["messageId"] for r in records})
                raise
        self.release_untried(records, {item["itemIdentifier"] for item in response.get("batchItemFailures", [])})
        return response

"""Incident events from the FIFO queue (one message group per incident), applied to Jira in order.

- A transient failure (Jira down or throttled, a claim in progress) backs off *that message*: its
  visibility becomes the retry delay (Jira's Retry-After, else exponential) and it is reported failed.
  Its incident's later records in the batch are handed back untried and wait behind it (FIFO group
  blocking); every other incident's records in the batch are applied as usual.
- What a retry cannot fix (a Jira refusal, an invalid event, a bug on one incident's data) is parked
  in the DLQ with its reason, and the incident's next event goes on.
Nothing here sleeps: waiting is SQS's job (docs/architecture.md, "Incident delivery").
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jira_bridge import adapters
from jira_bridge.incidents.delivery import InvalidIncidentEvent, parse_envelope, superseded
from jira_bridge.incidents.errors import ClaimInProgress, SyncRefused
from jira_bridge.incidents.events import IncidentChanged
from jira_bridge.links.store import StaleLink
from jira_bridge.observability import logger, metrics, tracer
from jira_bridge.queue_retries import FifoRetries
from jira_bridge.settings import IncidentEventsSettings, load_settings

# A failure holds back only its own message group (incident); other groups in the batch go on.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
_retries: list[FifoRetries] = []  # this invocation's (set in lambda_handler)
_superseded: dict[str, str] = {}  # this batch's field changes made moot by a later one (message id -> event id)
_config: list[str | None] = [None]  # what is wrong with runbooks.yaml/connectors.yaml (set in lambda_handler)


def is_transient(error: Exception) -> bool:
    """Worth retrying: Jira/AWS unavailable or throttled, a lost race, a claim still in progress."""
    if getattr(error, "retryable", False) or isinstance(error, (StaleLink, ClaimInProgress)):
        return True
    return type(error).__module__.split(".")[0] in {"botocore", "urllib3", "requests"}


def park(record: SQSRecord, reason: str, group: str, body: str | None = None, key: str | None = None) -> None:
    settings = load_settings(IncidentEventsSettings)
    adapters.incident_queue(settings).park(
        body if body is not None else record.body, group, reason,
        deduplication=f"parked-{key or record.message_id}")


def back_off(record: SQSRecord, error: Exception) -> None:
    """Retry this record later (its visibility), not sooner than Jira asked; its incident waits."""
    delay = _retries[-1].back_off(record.message_id, record.receipt_handle,
                                  int(record.attributes.approximate_receive_count or 1), error)
    metrics.add_metric(name="IncidentEventsRetried", unit=MetricUnit.Count, value=1)
    logger.warning("transient failure; the incident's events wait", extra={"retry_in_s": delay, "error": str(error)})


def handle_record(record: SQSRecord) -> None:
    group = record.attributes.message_group_id or "invalid"
    if _config[0] is not None:  # nothing can be applied right: parked with the reason, replayed after the fix
        metrics.add_metric(name="IncidentEventsParked", unit=MetricUnit.Count, value=1)
        _park_or_retry(record, _config[0], group)
        return
    try:
        envelope = parse_envelope(record.body)
    except InvalidIncidentEvent as invalid:
        metrics.add_metric(name="IncidentEventsInvalid", unit=MetricUnit.Count, value=1)
        logger.error("invalid incident event moved to the DLQ", extra={"reason": str(invalid)})
        _park_or_retry(record, str(invalid), group)
        return
    event = envelope.detail
    with logger.append_context_keys(incident_id=event.incident.id, event_id=event.event_id):
        newer = _superseded.get(record.message_id)
        if newer is not None and _coalescible(event):  # the same field's newer value, later in this batch, is applied
            metrics.add_metric(name="IncidentEventsCoalesced", unit=MetricUnit.Count, value=1)
            logger.info("field change coalesced into a newer one", extra={"superseded_by": newer})
            return
        apply_event(record, event, group)


def _coalescible(event: IncidentChanged) -> bool:
    """A moot field change is skipped only when applying it would leave no trace of its own (a comment)."""
    return adapters.incident_sync(load_settings(IncidentEventsSettings)).runbooks.only_sets_fields(event)


def _park_or_retry(record: SQSRecord, reason: str, group: str, **kwargs: Any) -> None:
    try:
        park(record, reason, group, **kwargs)
    except Exception as error:  # the DLQ write itself failed: keep the record and try again later
        back_off(record, error)
        raise


def apply_event(record: SQSRecord, event: IncidentChanged, group: str) -> None:
    settings = load_settings(IncidentEventsSettings)
    try:
        result = adapters.incident_sync(settings).handle(event)
    except SyncRefused as refusal:
        metrics.add_metric(name="JiraRefusals", unit=MetricUnit.Count, value=1)
        logger.error("jira refused; event moved to the DLQ for replay", extra={"reason": str(refusal)})
        _park_or_retry(record, str(refusal), group)
        return
    except Exception as error:
        if is_transient(error):
            back_off(record, error)
            raise
        # A retry would fail the same way: park it with the reason; the incident's next event goes on.
        metrics.add_metric(name="IncidentEventsParked", unit=MetricUnit.Count, value=1)
        logger.exception("event cannot be applied; moved to the DLQ for replay")
        _park_or_retry(record, f"{type(error).__name__}: {error}", group)
        return
    for kept, reason in result.refused_deferred:
        # A change that waited for the issue, refused once applied: parked on its own, body and all.
        metrics.add_metric(name="JiraRefusals", unit=MetricUnit.Count, value=1)
        body = envelope_with(record.body, kept)
        _park_or_retry(record, reason, group, body=body, key=f"{record.message_id}-{kept.event_id}")
    metrics.add_metric(name="IncidentEventsApplied", unit=MetricUnit.Count, value=1)
    logger.info("incident event applied", extra={"runbooks": result.runbooks, "actions": result.actions,
                                                  "skipped": result.skipped, "issue_key": result.issue_key})


def envelope_with(body: str, event: IncidentChanged) -> str:
    """The record's EventBridge envelope carrying another event of the same incident."""
    envelope = json.loads(body)
    envelope["detail"] = event.model_dump(mode="json")
    return json.dumps(envelope, separators=(",", ":"))


@logger.inject_lambda_context(clear_state=True, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings(IncidentEventsSettings)  # fail at cold start on a bad environment
    _config[0] = adapters.config_problem(settings, "runbooks.yaml", "connectors.yaml")  # logged once per container
    retries = FifoRetries(adapters.aws_client("sqs"), settings.incident_events_queue_url)
    _retries[:] = [retries]
    records = event.get("Records", [])
    _superseded.clear()
    _superseded.update(superseded((r["messageId"], r["body"]) for r in records))
    return retries.process(event, context, handle_record, processor)

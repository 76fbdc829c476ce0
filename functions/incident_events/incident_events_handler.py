"""Incident events from the FIFO queue (fed by the EventBridge rule), applied to Jira in order.

Transient failures (Jira down, throttled, a claim in progress) fail the record: SQS redelivers it,
in order, and after maxReceiveCount it reaches the DLQ. A Jira refusal is different: a retry cannot
fix it, so it is recorded on the link, sent to the DLQ for replay once fixed, and the batch moves
on, so one broken incident never holds up the next.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from jira_bridge import adapters
from jira_bridge.incidents.envelope import IncidentEventEnvelope
from jira_bridge.incidents.errors import ClaimInProgress, SyncRefused
from jira_bridge.incidents.events import IncidentChanged
from jira_bridge.invocation import invocation_budget
from jira_bridge.links.store import StaleLink
from jira_bridge.observability import logger, metrics, tracer
from jira_bridge.settings import IncidentEventsSettings, load_settings

processor = SqsFifoPartialProcessor()


def dead_letter(record: SQSRecord, reason: str, group: str) -> None:
    """Park a record that no retry can fix, with the reason, for replay once the cause is fixed."""
    settings = load_settings(IncidentEventsSettings)
    adapters.aws_client("sqs").send_message(
        QueueUrl=settings.dead_letter_queue_url,
        MessageBody=record.body,
        MessageGroupId=group,
        MessageDeduplicationId=f"parked-{record.message_id}",
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1024]}},
    )


def is_transient(error: Exception) -> bool:
    """Worth retrying: Jira/AWS unavailable or throttled, a lost race, a claim still in progress."""
    if getattr(error, "retryable", False) or isinstance(error, (StaleLink, ClaimInProgress)):
        return True
    return type(error).__module__.split(".")[0] in {"botocore", "urllib3", "requests"}


def handle_record(record: SQSRecord) -> None:
    try:
        envelope = IncidentEventEnvelope.model_validate_json(record.body)
    except ValidationError as error:
        metrics.add_metric(name="IncidentEventsInvalid", unit=MetricUnit.Count, value=1)
        reason = "not an Incident Changed event: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
        logger.error("invalid incident event moved to the DLQ", extra={"reason": reason})
        dead_letter(record, reason, group="invalid")
        return
    event = envelope.detail
    with logger.append_context_keys(incident_id=event.incident.id, event_id=event.event_id):
        apply_event(record, event)


def apply_event(record: SQSRecord, event: IncidentChanged) -> None:
    settings = load_settings(IncidentEventsSettings)
    try:
        result = adapters.incident_sync(settings).handle(event)
    except SyncRefused as refusal:
        metrics.add_metric(name="JiraRefusals", unit=MetricUnit.Count, value=1)
        logger.error("jira refused; event moved to the DLQ for replay", extra={"reason": str(refusal)})
        dead_letter(record, str(refusal), group=event.incident.id)
        return
    except Exception as error:
        if is_transient(error):
            raise  # Jira or AWS briefly unavailable: SQS redelivers, in order
        # Anything else would fail the same way on every retry and hold up every incident behind it
        # (one message group): park it with the reason instead, for replay once fixed.
        metrics.add_metric(name="IncidentEventsParked", unit=MetricUnit.Count, value=1)
        logger.exception("event cannot be applied; moved to the DLQ for replay")
        dead_letter(record, f"{type(error).__name__}: {error}", group=event.incident.id)
        return
    metrics.add_metric(name="IncidentEventsApplied", unit=MetricUnit.Count, value=1)
    logger.info("incident event applied", extra={"runbooks": result.runbooks, "actions": result.actions,
                                                  "skipped": result.skipped, "issue_key": result.issue_key})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    load_settings(IncidentEventsSettings)  # fail at cold start on a bad environment, before any record
    with invocation_budget(context):  # Jira retries end before the function times out
        response = process_partial_response(event=event, record_handler=handle_record, processor=processor,
                                            context=context)
    return dict(response)


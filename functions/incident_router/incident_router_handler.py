"""Incident Changed events from the bus into the incident events FIFO queue, one group per incident.

EventBridge invokes this asynchronously. A valid event is queued in its incident's message group; an
invalid one is parked in the DLQ with the reason (answering it again would not help). If SQS itself
refuses, the error is raised: Lambda retries the invocation, then records the event in the delivery
DLQ (EventInvokeConfig), from where `jira-bridge dlq replay` sends it again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jira_bridge import adapters
from jira_bridge.incidents.delivery import InvalidIncidentEvent
from jira_bridge.observability import logger, metrics
from jira_bridge.settings import IncidentEventsSettings, load_settings


@logger.inject_lambda_context(clear_state=True, log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    settings = load_settings(IncidentEventsSettings)
    try:
        group = adapters.incident_queue(settings).route(event)
    except InvalidIncidentEvent as invalid:
        metrics.add_metric(name="IncidentEventsInvalid", unit=MetricUnit.Count, value=1)
        logger.error("invalid incident event parked in the DLQ", extra={"reason": str(invalid)})
        return {"outcome": "parked", "reason": str(invalid)}
    metrics.add_metric(name="IncidentEventsRouted", unit=MetricUnit.Count, value=1)
    return {"outcome": "queued", "group": group}

"""POST /incidents: an incident tool that can only send webhooks puts "Incident Changed" on the bus.

The caller is authenticated first, exactly like CI callers (`Authorization: Bearer <api_key>` or
`X-Api-Key`, or `X-Jira-Bridge-Caller` + `X-Hub-Signature-256` HMAC of the raw body), from the stack's
incident callers secret; then the body is validated as the canonical event and published on the
incident bus, where the same rule, router and FIFO queue as every other tool take it. A retry of the
same event is safe: the bridge applies each `event_id` once. 202 published, 400 invalid event, 401
bad credentials, 413 over 256 KB, 502 EventBridge refused (retry).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jira_bridge import adapters
from jira_bridge.errors import ConfigurationError
from jira_bridge.observability import logger, metrics, tracer
from jira_bridge.settings import IncidentWebhookSettings, load_settings
from jira_bridge.webhooks.http import BodyRejected, header, raw_body

app = APIGatewayRestResolver()


def _json(status: int, payload: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type="application/json", body=payload)


@app.post("/incidents")
def receive_incident() -> Response[dict[str, Any]]:
    # Imported on first call: the cold import stays light.
    from jira_bridge.ci.callers import Unauthenticated
    from jira_bridge.incidents.webhook import WEBHOOK_SOURCE, InvalidIncidentBody, parse_incident_body
    from jira_bridge.pagerduty.inbound import put_events_entry

    event = app.current_event.raw_event
    settings = load_settings(IncidentWebhookSettings)
    try:
        body = raw_body(event)
        caller = adapters.incident_callers(settings).directory().authenticate(
            lambda name: header(event, name), body, None)
    except BodyRejected as error:
        return _json(error.status, {"message": str(error)})
    except ConfigurationError as error:
        logger.error("incident caller rejected: callers secret not usable", extra={"reason": str(error)})
        return _json(401, {"message": "credentials cannot be verified"})
    except Unauthenticated as error:
        metrics.add_metric(name="WebhookSignatureRejected", unit=MetricUnit.Count, value=1)
        logger.warning("incident caller rejected", extra={"reason": str(error)})
        return _json(401, {"message": "invalid credentials"})
    logger.append_keys(caller=caller.name)
    try:
        incident_event = parse_incident_body(body)
    except InvalidIncidentBody as error:
        return _json(400, {"message": str(error)})
    logger.append_keys(incident_id=incident_event.incident.id, event_id=incident_event.event_id)
    answer = adapters.aws_client("events").put_events(
        Entries=[put_events_entry(incident_event, bus_name=settings.event_bus_name, source=WEBHOOK_SOURCE)])
    if answer.get("FailedEntryCount"):
        logger.error("incident event not accepted by EventBridge", extra={"entry": answer["Entries"][0]})
        return _json(502, {"message": "not published; retry (the same event_id is applied once)"})
    metrics.add_metric(name="IncidentWebhookEventsPublished", unit=MetricUnit.Count, value=1)
    return _json(202, {"incident_id": incident_event.incident.id, "event_id": incident_event.event_id,
                       "sequence": incident_event.sequence})


# clear_state: the caller and incident keys of one request never stay on the logger for the next
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True,
                              log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

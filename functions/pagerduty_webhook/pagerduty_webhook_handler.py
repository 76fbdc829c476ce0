"""POST /webhooks/pagerduty: PagerDuty V3 webhooks, verified, then published as "Incident Changed".

The body is checked against `X-PagerDuty-Signature` (any active secret; rotation sends several)
before anything parses it. A verified event becomes the canonical incident event on the incident
bus, where the same rule and FIFO queue as every other incident tool take it from there. The bridge's
own changes in PagerDuty (made as `from_email`) are dropped here, so they never come back to Jira.
Each PagerDuty event id is published once: a redelivery is answered 200 with `"duplicate": true`.
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
from jira_bridge.settings import PagerDutyWebhookSettings, load_settings
from jira_bridge.webhooks.http import BodyRejected, header, parse_json, raw_body

app = APIGatewayRestResolver()


def _json(status: int, payload: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type="application/json", body=payload)


@app.post("/webhooks/pagerduty")
def receive_pagerduty_webhook() -> Response[dict[str, Any]]:
    # Imported on first call: the cold import stays light (see bench/cold_import.py).
    from jira_bridge.ci.redelivery import DeliveryInProgress
    from jira_bridge.pagerduty.credentials import load_pagerduty_secret
    from jira_bridge.pagerduty.errors import PagerDutyPayloadInvalid
    from jira_bridge.pagerduty.inbound import event_type_of, put_events_entry, to_canonical
    from jira_bridge.pagerduty.signature import SignatureInvalid, verify_pagerduty_signature

    event = app.current_event.raw_event
    settings = load_settings(PagerDutyWebhookSettings)
    try:
        body = raw_body(event)
        secret = load_pagerduty_secret(settings.pagerduty_secret_name, max_age=settings.secret_cache_seconds)
        verify_pagerduty_signature(body, header(event, "X-PagerDuty-Signature"), secret.webhook_secret_values())
    except BodyRejected as error:
        return _json(error.status, {"message": str(error)})
    except ConfigurationError as error:
        logger.error("pagerduty webhook rejected: secret not usable", extra={"reason": str(error)})
        return _json(401, {"message": "signature cannot be verified"})
    except SignatureInvalid as error:
        metrics.add_metric(name="WebhookSignatureRejected", unit=MetricUnit.Count, value=1)
        logger.warning("pagerduty webhook rejected", extra={"reason": str(error)})
        return _json(401, {"message": "invalid signature"})
    try:
        incident_event = to_canonical(body, secret.user_emails)
    except PagerDutyPayloadInvalid as error:
        return _json(400, {"message": f"not a PagerDuty webhook: {error}"})
    if incident_event is None:
        logger.info("pagerduty event ignored", extra={"event_type": event_type_of(_loads(body))})
        return _json(200, {"ignored": True})
    actor = incident_event.actor.email if incident_event.actor else None
    if actor and actor.lower() == secret.from_email.lower():
        return _json(200, {"ignored": True, "reason": "made by the bridge itself"})
    def publish() -> dict[str, Any]:
        answer = adapters.aws_client("events").put_events(
            Entries=[put_events_entry(incident_event, bus_name=settings.event_bus_name)])
        if answer.get("FailedEntryCount"):
            raise NotPublished(answer["Entries"][0])  # inside the idempotent call: no record is kept
        return {"incident_id": incident_event.incident.id, "change": incident_event.change.kind.value}

    # PagerDuty redelivers an event (same signed body, same event id) until it gets a 2xx: each event
    # id is published once (Powertools idempotency, IdempotencyTable, 24 h).
    once = adapters.pagerduty_once(settings)
    once.register_lambda_context(app.lambda_context)
    try:
        published, fresh = once(f"pagerduty:{incident_event.event_id}", publish)
    except NotPublished as failed:
        logger.error("incident event not accepted by EventBridge", extra={"entry": failed.args[0]})
        return _json(500, {"message": "not published; PagerDuty will retry"})
    except DeliveryInProgress:
        return _json(409, {"message": "the same event is being published right now; PagerDuty will retry"})
    if not fresh:
        metrics.add_metric(name="PagerDutyDuplicateEvents", unit=MetricUnit.Count, value=1)
        return _json(200, {**published, "duplicate": True})
    metrics.add_metric(name="PagerDutyEventsPublished", unit=MetricUnit.Count, value=1)
    return _json(202, published)


class NotPublished(Exception):
    """EventBridge refused the entry (its answer is the argument)."""


def _loads(body: bytes) -> dict[str, Any]:
    try:
        loaded = parse_json(body)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True,
                              log_event=False)  # whatever POWERTOOLS_LOGGER_LOG_EVENT says
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

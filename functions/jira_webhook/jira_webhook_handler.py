"""POST /webhooks/jira: Jira admin webhooks, verified before anything parses them, then queued.

`?connector=NAME` selects whose webhook secret signs the delivery (default: the organisation
connector). A missing or wrong signature is a 401 and nothing else happens. A verified delivery is
put on the changes queue (FIFO per issue, deduplicated on a digest of the signed body: the
unsigned X-Atlassian-Webhook-Identifier is never trusted) and answered 202 at
once: Jira gets its answer in milliseconds even when Jira or the incident side is slow.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from jira_bridge import adapters
from jira_bridge.errors import ConfigurationError
from jira_bridge.observability import logger, metrics, tracer
from jira_bridge.settings import JiraWebhookSettings, load_settings
from jira_bridge.sqs_ids import sqs_id
from jira_bridge.webhooks.hints import hint_message, hinted_issue
from jira_bridge.webhooks.http import BodyRejected, header, misconfigured, raw_body
from jira_bridge.webhooks.jira_payload import JiraWebhookPayload
from jira_bridge.webhooks.signature import SignatureInvalid, verify_hub_signature

app = APIGatewayRestResolver()
DEFAULT_CONNECTOR = "default"


def _json_error(status: int, message: str) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type="application/json", body={"message": message})


def delivery_identity(connector: str, body: bytes) -> str:
    """The delivery's deduplication id: a digest of the connector and the signed body (valid for SQS)."""
    return sqs_id("jira", connector, hashlib.sha256(body).hexdigest())


def _connector_name(event: dict[str, Any]) -> str:
    query = event.get("queryStringParameters") or {}
    return str(query.get("connector") or DEFAULT_CONNECTOR)


def verify_jira_signature(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Fail closed: no route, parser or queue write runs before the HMAC matches."""
    event = resolver.current_event.raw_event
    connector_name = _connector_name(event)
    try:
        body = raw_body(event)
        settings = load_settings(JiraWebhookSettings)
        registry = adapters.connector_registry(settings)
        if connector_name not in registry.routing.connector_names():
            # Unknown names never reach Secrets Manager: no one can make us read secrets at will.
            raise ConfigurationError(f"connector {connector_name!r} is not in connectors.yaml")
        connector = registry.get(connector_name)
    except BodyRejected as error:
        return _json_error(error.status, str(error))
    except ConfigurationError as error:
        logger.error("webhook rejected: connector not usable", extra={"connector": connector_name,
                                                                      "reason": str(error)})
        return _json_error(401, "signature cannot be verified")
    if connector.credentials.webhook_auth == "hint":
        # A Data Center that cannot sign: nothing in the body is trusted (see webhooks/hints.py).
        resolver.append_context(connector=connector_name, body=body, hint=True)  # type: ignore[no-untyped-call]
        return next_middleware(resolver)
    secret = connector.credentials.webhook_secret
    try:
        if secret is None:
            raise SignatureInvalid(f"connector {connector_name!r} has no webhook_secret")
        verify_hub_signature(body, header(event, "X-Hub-Signature"), secret.get_secret_value())
    except SignatureInvalid as error:
        metrics.add_metric(name="WebhookSignatureRejected", unit=MetricUnit.Count, value=1)
        logger.warning("webhook rejected", extra={"connector": connector_name, "reason": str(error)})
        return _json_error(401, "invalid signature")
    resolver.append_context(connector=connector_name, body=body)  # type: ignore[no-untyped-call]
    return next_middleware(resolver)


@app.post("/webhooks/jira", middlewares=[verify_jira_signature])
def receive_jira_webhook() -> Response[dict[str, Any]]:
    body: bytes = app.context["body"]
    connector: str = app.context["connector"]
    if app.context.get("hint"):
        return _queue_hint(connector, body)
    try:
        payload = JiraWebhookPayload.model_validate_json(body)
    except ValidationError as error:
        return _json_error(400, f"not a Jira webhook body: {error.errors()[0]['msg']}")
    # X-Atlassian-Webhook-Identifier is not signed: it is logged (bounded), never trusted. A delivery
    # is what Jira signed: the same body is the same delivery however often, and under whatever id,
    # it arrives (Jira's retries resend the same body).
    delivery_id = delivery_identity(connector, body)
    issue_id = payload.issue.id if payload.issue else "none"
    logger.append_keys(delivery_id=delivery_id, issue_key=payload.issue.key if payload.issue else None)
    settings = load_settings(JiraWebhookSettings)
    adapters.aws_client("sqs").send_message(
        QueueUrl=settings.changes_queue_url,
        MessageBody=json.dumps({"connector": connector, "delivery_id": delivery_id, "body": body.decode("utf-8")}),
        MessageGroupId=sqs_id(connector, issue_id),  # in order per issue, issues in parallel
        MessageDeduplicationId=delivery_id,
    )
    identifier = header(app.current_event.raw_event, "X-Atlassian-Webhook-Identifier")
    logger.info("jira delivery queued", extra={
        "webhook_event": payload.webhook_event, "delivery_id": delivery_id,
        "webhook_identifier": sqs_id(identifier) if identifier else None,
        "issue_key": payload.issue.key if payload.issue else None,
        "retry": bool(header(app.current_event.raw_event, "X-Atlassian-Webhook-Retry"))})
    metrics.add_metric(name="JiraWebhookAccepted", unit=MetricUnit.Count, value=1)
    return Response(status_code=202, content_type="application/json", body={"accepted": True})


def _queue_hint(connector: str, body: bytes) -> Response[dict[str, Any]]:
    issue_id = hinted_issue(body)
    if issue_id is None:
        return _json_error(400, "an unsigned delivery must name an issue (issue.id) to re-read")
    message, group, dedup = hint_message(connector, issue_id, body, adapters.now())
    settings = load_settings(JiraWebhookSettings)
    adapters.aws_client("sqs").send_message(QueueUrl=settings.changes_queue_url, MessageBody=json.dumps(message),
                                            MessageGroupId=group, MessageDeduplicationId=dedup)
    logger.info("jira hint queued: the issue will be re-read", extra={"issue_id": issue_id})
    metrics.add_metric(name="JiraWebhookHint", unit=MetricUnit.Count, value=1)
    return Response(status_code=202, content_type="application/json", body={"accepted": True, "hint": True})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True,
                              log_event=False)  # whatever POWERTOOLS_LOGGER_LOG_EVENT says
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if adapters.config_problem(load_settings(JiraWebhookSettings), "connectors.yaml") is not None:
        return misconfigured()  # Jira retries a 5xx; the cause is logged once per container
    return app.resolve(event, context)

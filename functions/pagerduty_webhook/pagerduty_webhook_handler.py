"""POST /webhooks/pagerduty: PagerDuty V3 webhooks, verified, then published as "Incident Changed";
and PagerDuty's Amazon EventBridge integration (PagerDutyEventBridgeRule on its partner bus), the same.

The body is checked against `X-PagerDuty-Signature` (any active secret; rotation sends several)
before anything parses it. A verified event becomes the canonical incident event on the incident
bus, where the same rule and FIFO queue as every other incident tool take it from there. The bridge's
own changes in PagerDuty (made as `from_email`) are dropped here, so they never come back to Jira.
Each PagerDuty event id is published once: a redelivery is answered 200 with `"duplicate": true`.

Several PagerDuty accounts (pagerduty.yaml): `POST /webhooks/pagerduty/<account>` is verified with
that account's secret only (`/webhooks/pagerduty` is the `default` account); an account the stack
does not know is a 404 before any secret is read. The event carries the account
(`incident_account`) so what Jira asks later goes back to the same account.
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
    return _receive("default")


@app.post("/webhooks/pagerduty/<account>")
def receive_pagerduty_account_webhook(account: str) -> Response[dict[str, Any]]:
    """One PagerDuty account of several (pagerduty.yaml): verified with that account's secret only."""
    from jira_bridge.pagerduty.accounts import is_account_name

    # The name is checked before any secret is read: an unknown account costs a config lookup, no more.
    if not is_account_name(account):
        return _json(404, {"message": "no such PagerDuty account in this stack (see pagerduty.yaml)"})
    try:
        known = adapters.pagerduty_accounts(_settings()).knows(account)
    except ConfigurationError as error:  # a deployed pagerduty.yaml that `jira-bridge lint` would refuse
        logger.error("pagerduty.yaml is not usable", extra={"reason": str(error)})
        return _json(500, {"message": "PagerDuty accounts configuration is invalid; PagerDuty will retry"})
    if not known:
        return _json(404, {"message": "no such PagerDuty account in this stack (see pagerduty.yaml)"})
    return _receive(account)


def _settings() -> PagerDutyWebhookSettings:
    settings: PagerDutyWebhookSettings = load_settings(PagerDutyWebhookSettings)
    return settings


def _receive(account: str) -> Response[dict[str, Any]]:
    # Imported on first call: the cold import stays light (see bench/cold_import.py).
    from jira_bridge.ci.redelivery import DeliveryInProgress
    from jira_bridge.pagerduty.accounts import account_secret_name, with_account
    from jira_bridge.pagerduty.credentials import load_pagerduty_secret
    from jira_bridge.pagerduty.errors import PagerDutyPayloadInvalid
    from jira_bridge.pagerduty.inbound import event_type_of, to_canonical
    from jira_bridge.pagerduty.signature import SignatureInvalid, verify_pagerduty_signature

    event = app.current_event.raw_event
    settings = _settings()
    try:
        body = raw_body(event)
        secret = load_pagerduty_secret(account_secret_name(settings.pagerduty_secret_name, account),
                                       max_age=settings.secret_cache_seconds)
        verify_pagerduty_signature(body, header(event, "X-PagerDuty-Signature"), secret.webhook_secret_values())
    except BodyRejected as error:
        return _json(error.status, {"message": str(error)})
    except ConfigurationError as error:
        logger.error("pagerduty webhook rejected: secret not usable", extra={"reason": str(error),
                                                                              "account": account})
        return _json(401, {"message": "signature cannot be verified"})
    except SignatureInvalid as error:
        metrics.add_metric(name="WebhookSignatureRejected", unit=MetricUnit.Count, value=1)
        logger.warning("pagerduty webhook rejected", extra={"reason": str(error), "account": account})
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
    try:
        published, fresh = publish_once(with_account(incident_event, account), settings, app.lambda_context)
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


def publish_once(incident_event: Any, settings: Any, context: LambdaContext) -> tuple[dict[str, Any], bool]:
    """Put the canonical event on the incident bus, once per PagerDuty event id: (what was published, fresh).

    PagerDuty redelivers an event (same body, same event id) until it gets a 2xx, and EventBridge
    retries a failed invocation: each event id is published once (Powertools idempotency on the
    IdempotencyTable, 24 h). Raises NotPublished (nothing recorded) when EventBridge refuses the entry.
    """
    from jira_bridge.pagerduty.inbound import put_events_entry

    def publish() -> dict[str, Any]:
        answer = adapters.aws_client("events").put_events(
            Entries=[put_events_entry(incident_event, bus_name=settings.event_bus_name)])
        if answer.get("FailedEntryCount"):
            raise NotPublished(answer["Entries"][0])  # inside the idempotent call: no record is kept
        return {"incident_id": incident_event.incident.id, "change": incident_event.change.kind.value}

    once = adapters.pagerduty_once(settings)
    once.register_lambda_context(context)
    account = incident_event.incident_account  # None for the default account: its keys are unchanged
    key = f"pagerduty:{account}:{incident_event.event_id}" if account else f"pagerduty:{incident_event.event_id}"
    published, fresh = once(key, publish)
    return published, fresh


def receive_pagerduty_eventbridge(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One event of PagerDuty's Amazon EventBridge integration (PagerDutyEventBridgeRule, asynchronous).

    No signature: only PagerDuty's partner event source can put events on its partner bus, and only
    the rule there invokes this path. An event that is not PagerDuty's is dropped with a log line (a
    retry would not change it); a failure to publish raises, so Lambda retries the invocation and
    then records it in PagerDutyEventsFailures (`jira-bridge dlq replay --queue pagerduty-events`).
    """
    from jira_bridge.pagerduty.accounts import account_secret_name, service_id_of, with_account
    from jira_bridge.pagerduty.credentials import load_pagerduty_secret
    from jira_bridge.pagerduty.errors import PagerDutyPayloadInvalid
    from jira_bridge.pagerduty.eventbridge import PARTNER_SOURCE_PREFIX
    from jira_bridge.pagerduty.inbound import to_canonical

    if not str(event.get("source", "")).startswith(PARTNER_SOURCE_PREFIX):
        logger.error("event not from PagerDuty's partner source dropped", extra={"source": event.get("source")})
        return {"outcome": "dropped", "reason": "not from aws.partner/pagerduty.com/"}
    settings = _settings()
    try:
        # Mapped without user e-mails first only to learn the service, which picks the account.
        unrouted = to_canonical(event)
    except PagerDutyPayloadInvalid as error:
        logger.error("pagerduty eventbridge event dropped", extra={"reason": str(error), "event_id": event.get("id")})
        return {"outcome": "dropped", "reason": str(error)}
    if unrouted is None:
        return {"outcome": "ignored"}
    account = adapters.pagerduty_accounts(settings).for_eventbridge(str(event.get("source", "")),
                                                                   service_id_of(unrouted))
    secret = load_pagerduty_secret(account_secret_name(settings.pagerduty_secret_name, account),
                                   max_age=settings.secret_cache_seconds)
    incident_event = with_account(to_canonical(event, secret.user_emails) or unrouted, account)
    logger.append_keys(incident_id=incident_event.incident.id, event_id=incident_event.event_id)
    actor = incident_event.actor.email if incident_event.actor else None
    if actor and actor.lower() == secret.from_email.lower():
        return {"outcome": "ignored", "reason": "made by the bridge itself"}
    published, fresh = publish_once(incident_event, settings, context)
    metrics.add_metric(name="PagerDutyEventsPublished" if fresh else "PagerDutyDuplicateEvents",
                       unit=MetricUnit.Count, value=1)
    return {"outcome": "published" if fresh else "duplicate", **published}


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
    if "detail-type" in event and "httpMethod" not in event:  # PagerDutyEventBridgeRule
        return receive_pagerduty_eventbridge(event, context)
    return app.resolve(event, context)

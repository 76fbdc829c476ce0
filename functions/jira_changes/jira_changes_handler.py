"""Verified Jira deliveries from the changes queue, applied to the incident side.

Each delivery is processed once (Powertools idempotency on the delivery's identity, a digest of
its signed body, kept longer than Jira's ~30 minute retry window). A failure fails the record and
only its issue's later records (one message group per issue): it is retried after its backoff
(Retry-After, else exponential; set as its visibility, never slept), in order for that issue, and
after maxReceiveCount it lands in the DLQ for `jira-bridge dlq replay`. Other issues' deliveries in
the batch go on.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from jira_bridge import adapters
from jira_bridge.errors import ConfigurationError
from jira_bridge.observability import logger, metrics, tracer
from jira_bridge.queue_retries import FifoRetries
from jira_bridge.settings import JiraChangesSettings, load_settings

processor = SqsFifoPartialProcessor(skip_group_on_error=True)
_retries: list[FifoRetries] = []  # this invocation's (set in lambda_handler)
_config: list[str | None] = [None]  # what is wrong with runbooks.yaml/connectors.yaml (set in lambda_handler)


def apply_delivery(message: dict[str, Any]) -> dict[str, Any]:
    from jira_bridge.webhooks.intake import process_delivery
    from jira_bridge.webhooks.jira_changes import JiraDelivery
    from jira_bridge.webhooks.jira_payload import JiraWebhookPayload

    settings = load_settings(JiraChangesSettings)
    if "hint_issue" in message:  # an unsigned Data Center delivery: re-read, never trust its body
        connector, issue_id = message["connector"], str(message["hint_issue"])
        if not adapters.hint_gate(settings).admit(connector, issue_id, float(message.get("received_at", 0))):
            return {"disposition": "unchanged", "reasons": ["hint moot: the issue was re-read since"],
                    "incident_id": None}
        replayed = adapters.reconciler(settings).replay_issue(connector, issue_id)
        return {"disposition": "hint", "reasons": [f"issue re-read; {replayed} change(s) replayed"],
                "incident_id": None}
    delivery = JiraDelivery(connector=message["connector"], delivery_id=message.get("delivery_id"),
                            payload=JiraWebhookPayload.model_validate_json(message["body"]))
    result = process_delivery(delivery, adapters.jira_change_sync(settings), adapters.jira_rule_engine(settings))
    return result.as_dict()


def apply_once(settings: JiraChangesSettings) -> tuple[Any, Any]:
    """`apply_delivery`, at most once per Jira delivery id, and its idempotency config."""
    return _apply_once(settings, adapters.idempotency_store(settings))


@cache  # per persistence store: a local runtime that starts a new stack gets a new store, and a new wrapper
def _apply_once(settings: JiraChangesSettings, store: Any) -> tuple[Any, Any]:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(event_key_jmespath="delivery_id", raise_on_no_idempotency_key=False,
                               expires_after_seconds=settings.delivery_dedup_seconds)
    once = idempotent_function(data_keyword_argument="message", config=config,
                               persistence_store=store)(apply_delivery)
    return once, config


def handle_record(record: SQSRecord) -> None:
    message = json.loads(record.body)
    # every line about this delivery carries its id and connector, and only while it is handled
    with logger.append_context_keys(delivery_id=message.get("delivery_id"), connector=message.get("connector")):
        _handle(record, message)


def _handle(record: SQSRecord, message: dict[str, Any]) -> None:
    once, _ = apply_once(load_settings(JiraChangesSettings))
    try:
        if _config[0] is not None:  # kept in the queue (backoff, then the DLQ for replay), never acked
            raise ConfigurationError(_config[0])
        result = once(message=message)
    except Exception as error:
        delay = _retries[-1].back_off(record.message_id, record.receipt_handle,
                                      int(record.attributes.approximate_receive_count or 1), error)
        logger.warning("delivery failed; its issue's deliveries wait", extra={"retry_in_s": delay, "error": str(error)})
        raise
    logger.info("jira delivery applied", extra={"delivery_id": message.get("delivery_id"), **result})
    metrics.add_metric(name=f"JiraChange{str(result['disposition']).title().replace('-', '')}",
                       unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True, log_event=False)  # log_event: whatever the environment says
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings(JiraChangesSettings)
    _, config = apply_once(settings)  # fails at cold start on a bad environment
    config.register_lambda_context(context)  # an in-progress record expires with this invocation
    _config[0] = adapters.config_problem(settings, "runbooks.yaml", "connectors.yaml")  # logged once per container
    retries = FifoRetries(adapters.aws_client("sqs"), settings.changes_queue_url or "")
    _retries[:] = [retries]
    return retries.process(event, context, handle_record, processor)

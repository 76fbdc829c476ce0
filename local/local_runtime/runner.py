"""Invoke the handlers named in template.yaml in-process, the way `sam local invoke` would in a container.

Each function runs with its template environment (plus overrides, like `--env-vars`), its CodeUri and
the layers on the import path, and a Lambda context carrying its timeout. Queues that are a function's
event source are drained into it with real SQS batch events and partial batch responses.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local_runtime.stack import ACCOUNT_ID, FunctionSpec, Stack

_ENV_LOCK = threading.RLock()


@dataclass
class LambdaContext:
    """The attributes Powertools and our handlers read from a Lambda context."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    function: str
    result: Any
    error: BaseException | None
    duration_ms: float


class LocalRunner:
    def __init__(self, stack: Stack, env_overrides: dict[str, dict[str, str]] | None = None) -> None:
        self.stack = stack
        self.specs = stack.functions()
        # `--env-vars` shape: {"LogicalId": {...}, "Parameters": {... for every function}}
        self.env_overrides = env_overrides or {}
        self.invocations: list[Invocation] = []
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        for layer_dir in stack.layer_dirs():
            _prepend_path(str(layer_dir))

    # ----- invoking ------------------------------------------------------------------------------

    def environment_for(self, spec: FunctionSpec) -> dict[str, str]:
        """The template's environment resolved now (queue URLs exist once AWS is provisioned)."""
        env = dict(self.stack.function(spec.logical_id).environment)
        env["CONFIG_DIR"] = str(self.stack.root / "config")
        env.update(self.env_overrides.get("Parameters", {}))
        env.update(self.env_overrides.get(spec.logical_id, {}))
        env["AWS_LAMBDA_FUNCTION_NAME"] = spec.logical_id
        return env

    def handler(self, spec: FunctionSpec) -> Callable[[Any, Any], Any]:
        if spec.logical_id not in self._handlers:
            _prepend_path(str(spec.code_uri))
            module = importlib.import_module(spec.module_name)
            self._handlers[spec.logical_id] = getattr(module, spec.function_name)
        return self._handlers[spec.logical_id]

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Run one invocation; raises what the handler raised, as Lambda would report it."""
        spec = self.stack.function(logical_id)
        context = LambdaContext(
            function_name=spec.logical_id,
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=self.stack.arn(logical_id),
            aws_request_id=str(uuid.uuid4()),
            deadline=time.monotonic() + spec.timeout,
        )
        started = time.perf_counter()
        with function_environment(self.environment_for(spec)):
            handler = self.handler(spec)
            try:
                result = handler(event, context)
            except BaseException as error:
                self.invocations.append(Invocation(logical_id, None, error, _ms_since(started)))
                raise
            finally:
                _drop_disabled_metrics()
        self.invocations.append(Invocation(logical_id, result, None, _ms_since(started)))
        return result

    # ----- SQS event sources ---------------------------------------------------------------------

    def sqs_sources(self, sqs_events: bool = True) -> list[tuple[str, str, int]]:
        """(function, queue URL, batch size) for every SQS event (unless `sqs_events` is False: the SQS
        model's event source mappings deliver those) and every rule the runtime queued."""
        sources = []
        for spec in self.specs.values():
            for event in spec.events:
                if event.type == "SQS" and sqs_events:
                    queue_arn = self.stack.resolve(event.properties["Queue"])
                    logical_id = self.stack.queue_logical_id_for_arn(str(queue_arn))
                    if logical_id and logical_id in self.stack.queue_urls:
                        batch = int(event.properties.get("BatchSize", 10))
                        sources.append((spec.logical_id, self.stack.queue_urls[logical_id], batch))
                elif event.type == "EventBridgeRule":
                    url = self.stack.queue_urls.get(f"{spec.logical_id}-{event.name}")
                    if url:
                        sources.append((spec.logical_id, url, 1))
        return sources

    def drain(self, sqs: Any, max_rounds: int = 50, sqs_events: bool = True) -> int:
        """Deliver queued messages to their functions until the queues are quiet; returns records run."""
        delivered = 0
        for _ in range(max_rounds):
            moved = 0
            for logical_id, url, batch_size in self.sqs_sources(sqs_events):
                moved += self._deliver_batch(sqs, logical_id, url, batch_size)
            delivered += moved
            if moved == 0:
                return delivered
        return delivered

    def _deliver_batch(self, sqs: Any, logical_id: str, url: str, batch_size: int) -> int:
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=0 if batch_size == 1 else 1,
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        is_rule_queue = any(
            url == self.stack.queue_urls.get(f"{logical_id}-{e.name}")
            for e in self.stack.function(logical_id).events
        )
        if is_rule_queue:  # the function expects the EventBridge event itself (async invoke)
            for message in messages:
                try:
                    self.invoke(logical_id, json.loads(message["Body"]))
                finally:  # async invoke: Lambda's own retries/destination are not simulated
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return len(messages)
        event = {"Records": [_sqs_record(message, url, self.stack.region) for message in messages]}
        try:
            response = self.invoke(logical_id, event) or {}
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - a raising handler fails the whole batch, as in Lambda
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages) - len(failed)


def _sqs_record(message: dict[str, Any], url: str, region: str) -> dict[str, Any]:
    queue_name = url.rsplit("/", 1)[-1]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{queue_name}",
        "awsRegion": region,
    }


def api_gateway_event(
    method: str,
    resource: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    query: dict[str, str],
    path_parameters: dict[str, str],
    stage: str = "v1",
) -> dict[str, Any]:
    """An API Gateway REST (v1 proxy) event, as Lambda receives it behind `AWS::Serverless::Api`."""
    try:
        text_body: str | None = body.decode("utf-8") if body else None
        is_base64 = False
    except UnicodeDecodeError:
        text_body, is_base64 = base64.b64encode(body).decode(), True
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "accountId": ACCOUNT_ID,
            "identity": {"sourceIp": "127.0.0.1"},
            "requestTimeEpoch": int(time.time() * 1000),
        },
        "body": text_body,
        "isBase64Encoded": is_base64,
    }


@contextmanager
def function_environment(env: dict[str, str]) -> Iterator[None]:
    """Set a function's environment for one invocation, restoring the process's afterwards."""
    with _ENV_LOCK:
        # Only the function's own variables are put back: a whole-environment snapshot restored here would
        # undo what another thread changed meanwhile (a test's monkeypatch.delenv while the local API's
        # thread ran a function), resurrecting a variable that test had removed.
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _prepend_path(path: str) -> None:
    if path not in sys.path:
        sys.path.insert(0, path)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _drop_disabled_metrics() -> None:
    """With POWERTOOLS_METRICS_DISABLED, Powertools' flush skips clearing its metric set, so one process
    running many invocations (this runner) piles values up until the 100-value auto-publish fires,
    outside any function's environment. Nothing is published when disabled: forget them."""
    observability = sys.modules.get("jira_bridge.observability")
    if observability is not None and os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        observability.metrics.clear_metrics()

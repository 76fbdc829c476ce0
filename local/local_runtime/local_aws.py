"""AWS on loopback: moto's server mode, provisioned from template.yaml.

Every boto3 client in the process (ours and Powertools') reaches it through the SDK-standard
`AWS_ENDPOINT_URL`, so handlers run unmodified. moto cannot invoke Lambda targets, so each rule
whose target is a function gets an SQS queue in its place, which the runner drains into the handler.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from local_runtime.stack import ACCOUNT_ID, Stack

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class LocalAws:
    def __init__(self, stack: Stack, sqs_model: Any = None) -> None:
        self.stack = stack
        self.sqs_model = sqs_model  # a LocalSqs holds the template's queues instead of moto when given
        self._server: Any = None
        self.endpoint_url = ""

    # ----- server --------------------------------------------------------------------------------

    def start(self) -> LocalAws:
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request otherwise; the demo's timeline must stay readable.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        os.environ.update(self.environment())
        # moto's backends are process-wide: a second local stack in one process (the demo's simulated-
        # clock chapter, a test module with its own environment) must start empty, not see the first's.
        import requests

        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=5)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.stack.region,
            "AWS_REGION": self.stack.region,
            **LOCAL_CREDENTIALS,
        }

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=self.stack.region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def reset(self) -> None:
        """Wipe every resource (moto's reset API) and provision the template again."""
        import requests

        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=5)
        os.environ.update(self.environment())  # this stack's endpoint again, if another one ran meanwhile
        if self.sqs_model is not None:
            self.sqs_model.reset()
        self.stack.queue_urls.clear()
        self.provision()

    # ----- provisioning --------------------------------------------------------------------------

    def provision(self) -> None:
        self._create_tables()
        self._create_queues()
        self._create_buses_and_rules()
        self._create_secrets()
        self._create_function_rule_queues()

    def _create_tables(self) -> None:
        dynamodb = self.client("dynamodb")
        for logical_id in self.stack.of_type("AWS::DynamoDB::Table"):
            props = self.stack.resolve(self.stack.properties(logical_id))
            name = self.stack.physical_name(logical_id)
            kwargs: dict[str, Any] = {
                "TableName": name,
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if "GlobalSecondaryIndexes" in props:
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            dynamodb.create_table(**kwargs)
            ttl = props.get("TimeToLiveSpecification")
            if ttl and str(ttl.get("Enabled")).lower() == "true":
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
                )

    def _create_queues(self) -> None:
        create_template_queues(self.queues_client(), self.stack)

    def queues_client(self) -> Any:
        """Where the template's queues live: moto, or the SQS model on a simulated clock (see `sqs_model`)."""
        return self.sqs_model if self.sqs_model is not None else self.client("sqs")

    def _create_buses_and_rules(self) -> None:
        events = self.client("events")
        for logical_id in self.stack.of_type("AWS::Events::EventBus"):
            events.create_event_bus(Name=self.stack.physical_name(logical_id))
        for logical_id in self.stack.of_type("AWS::Events::Rule"):
            props = self.stack.resolve(self.stack.properties(logical_id))
            self._put_rule(
                events,
                name=self.stack.physical_name(logical_id),
                bus=props.get("EventBusName", "default"),
                pattern=props["EventPattern"],
                targets=props.get("Targets", []),
            )

    def _put_rule(self, events: Any, name: str, bus: str, pattern: Any, targets: list[dict[str, Any]]) -> None:
        bus_name = str(bus).rsplit("/", 1)[-1]
        events.put_rule(Name=name, EventBusName=bus_name, EventPattern=json.dumps(pattern), State="ENABLED")
        if targets:
            events.put_targets(Rule=name, EventBusName=bus_name, Targets=targets)

    def _create_secrets(self) -> None:
        manager = self.client("secretsmanager")
        for logical_id in self.stack.of_type("AWS::SecretsManager::Secret"):
            props = self.stack.resolve(self.stack.properties(logical_id))
            manager.create_secret(Name=self.stack.physical_name(logical_id), SecretString=_secret_string(props))

    def _create_function_rule_queues(self) -> None:
        """moto cannot invoke Lambda: an EventBridgeRule/Schedule on a function gets a queue instead."""
        events = self.client("events")
        sqs = self.client("sqs")
        for spec in self.stack.functions().values():
            for event in spec.events:
                if event.type != "EventBridgeRule":
                    continue
                props = self.stack.resolve(event.properties)
                name = f"{spec.logical_id}-{event.name}"
                url = sqs.create_queue(QueueName=f"local-{name}")["QueueUrl"]
                self.stack.queue_urls[name] = url
                arn = f"arn:aws:sqs:{self.stack.region}:{ACCOUNT_ID}:local-{name}"
                self._put_rule(events, name=name, bus=props.get("EventBusName", "default"),
                               pattern=props["Pattern"], targets=[{"Id": "function", "Arn": arn}])

    def put_secret(self, name: str, value: dict[str, Any]) -> None:
        self.client("secretsmanager").put_secret_value(SecretId=name, SecretString=json.dumps(value))


def create_template_queues(sqs: Any, stack: Stack) -> None:
    """Create every AWS::SQS::Queue of the template through `sqs` (a boto3 client or the local model),
    recording each URL in `stack.queue_urls` so `Ref`s and function environments resolve to it."""
    queues = stack.of_type("AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy names its DLQ by ARN.
    ordered = sorted(queues, key=lambda lid: "RedrivePolicy" in stack.properties(lid))
    for logical_id in ordered:
        props = stack.resolve(stack.properties(logical_id))
        attributes = {
            key: (json.dumps(value) if isinstance(value, dict) else str(value).lower()
                  if isinstance(value, bool) else str(value))
            for key, value in props.items()
            if key in {"FifoQueue", "ContentBasedDeduplication", "VisibilityTimeout",
                       "MessageRetentionPeriod", "RedrivePolicy", "DelaySeconds",
                       "ReceiveMessageWaitTimeSeconds", "MaximumMessageSize", "DeduplicationScope",
                       "FifoThroughputLimit"}
        }
        answer = sqs.create_queue(QueueName=stack.physical_name(logical_id), Attributes=attributes)
        stack.queue_urls[logical_id] = answer["QueueUrl"]


def _secret_string(props: dict[str, Any]) -> str:
    if "SecretString" in props:
        return str(props["SecretString"])
    generate = props.get("GenerateSecretString", {})
    template = json.loads(generate.get("SecretStringTemplate", "{}"))
    key = generate.get("GenerateStringKey")
    if key:
        template[key] = secrets.token_urlsafe(int(generate.get("PasswordLength", 32)))
        return json.dumps(template)
    return secrets.token_urlsafe(32)


@contextmanager
def running_local_aws(stack: Stack) -> Iterator[LocalAws]:
    aws = LocalAws(stack).start()
    try:
        aws.provision()
        yield aws
    finally:
        aws.stop()

"""The real adapters, built on first use and cached for the container's life.

Handlers ask these factories; domain code receives what they return, so tests can hand the domain
in-memory fakes instead. boto3 is imported here lazily: a cold start pays for it only on first use.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jira_bridge.connectors.registry import ConnectorRegistry
from jira_bridge.connectors.routing import load_routing
from jira_bridge.connectors.secrets import SecretsManagerConnectors
from jira_bridge.links.store import DynamoLinkStore
from jira_bridge.settings import BaseSettings


@cache
def aws_client(service: str) -> Any:
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]


@cache
def link_store(settings: BaseSettings) -> DynamoLinkStore:
    return DynamoLinkStore(settings.link_table_name, lambda: aws_client("dynamodb"))


@cache
def connector_registry(settings: BaseSettings) -> ConnectorRegistry:
    routing = load_routing(settings.config_dir / "connectors.yaml")
    source = SecretsManagerConnectors(settings.connector_secret_prefix, max_age=settings.secret_cache_seconds)
    return ConnectorRegistry(routing, source)


@cache
def idempotency_store(settings: BaseSettings) -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=aws_client("dynamodb"))


def reset() -> None:
    """Forget every cached adapter (tests and the local runner use this between stacks)."""
    for factory in (aws_client, link_store, connector_registry, idempotency_store):
        factory.cache_clear()

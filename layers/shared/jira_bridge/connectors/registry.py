"""Resolve the connector acting for a project (project-level wins, else the organisation default)."""

from __future__ import annotations

from typing import Protocol

from jira_bridge.connectors.model import Connector
from jira_bridge.connectors.routing import ConnectorRouting


class ConnectorSource(Protocol):
    def get(self, name: str) -> Connector: ...


class ConnectorRegistry:
    def __init__(self, routing: ConnectorRouting, source: ConnectorSource) -> None:
        self.routing = routing
        self._source = source

    def get(self, name: str) -> Connector:
        return self._source.get(name)

    def for_project(self, project_key: str) -> Connector:
        return self._source.get(self.routing.connector_for(project_key))

    def all(self) -> list[Connector]:
        return [self._source.get(name) for name in sorted(self.routing.connector_names())]

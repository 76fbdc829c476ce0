"""Which connector acts for a Jira project: the project-level one wins over the organisation default.

The routing lives in `connectors.yaml` (shipped in ConfigLayer), so that changing who acts for a
project is a reviewed config change, not a code change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jira_bridge.config_files import read_yaml
from jira_bridge.errors import ConfigurationError
from jira_bridge.settings import describe_validation_error

CONNECTOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}$")


class ConnectorRouting(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default_connector: str = Field(default="default")
    projects: dict[str, str] = Field(default_factory=dict)
    # Jira requests per second the bridge allows itself per connector (site), shared by every
    # invocation that runs at once. Jira Cloud publishes no number for API-token burst limits; 10/s
    # stays well inside what Atlassian's rate-limiting guide shows for one tenant and endpoint.
    requests_per_second: dict[str, float] = Field(default_factory=dict)
    default_requests_per_second: float = Field(default=10.0, gt=0, le=1000)

    @field_validator("default_connector")
    @classmethod
    def _valid_default(cls, value: str) -> str:
        if not CONNECTOR_NAME.match(value):
            raise ValueError(f"{value!r} is not a connector name (letters, digits, '-', '_', '.')")
        return value

    @field_validator("projects")
    @classmethod
    def _valid_projects(cls, value: dict[str, str]) -> dict[str, str]:
        for project, connector in value.items():
            if not PROJECT_KEY.match(project):
                raise ValueError(f"{project!r} is not a Jira project key (upper case, e.g. OPS)")
            if not CONNECTOR_NAME.match(connector):
                raise ValueError(f"project {project}: {connector!r} is not a connector name")
        return value

    @field_validator("requests_per_second")
    @classmethod
    def _valid_budgets(cls, value: dict[str, float]) -> dict[str, float]:
        for connector, rate in value.items():
            if not CONNECTOR_NAME.match(connector):
                raise ValueError(f"{connector!r} is not a connector name")
            if not 0 < rate <= 1000:
                raise ValueError(f"connector {connector}: requests_per_second must be > 0 and <= 1000, got {rate}")
        return value

    def requests_per_second_for(self, connector: str) -> float:
        return self.requests_per_second.get(connector, self.default_requests_per_second)

    def connector_for(self, project_key: str) -> str:
        return self.projects.get(project_key.upper(), self.default_connector)

    def connector_names(self) -> set[str]:
        return {self.default_connector, *self.projects.values()}


def load_routing(path: Path) -> ConnectorRouting:
    """Read connectors.yaml; a missing file means "the default connector for every project"."""
    if not path.exists():
        return ConnectorRouting()
    data: Any = read_yaml(path).data or {}  # the layer build's compiled copy when it matches
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: expected a mapping with default_connector and projects")
    try:
        return ConnectorRouting.model_validate(data)
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error, str(path))) from None

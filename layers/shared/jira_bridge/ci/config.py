"""``config/ci.yaml``: what the CI flow needs beyond the connectors (shipped in ConfigLayer).

* ``native``: settings for the sources that cannot send them (CodeBuild, CodePipeline, GitHub):
  the Jira project to report (like ``PROJECT``), and which CodePipeline pipelines / CodeBuild
  projects deploy, to which environment (they are reported as deployments, others as builds).
* ``approval``: when the approval gate answers approved / rejected for an issue, per project with a
  default: a status in a set and/or fields equal to values. Anything else is "waiting".

A missing file means: no project filter, no deployments, and an approval gate with no criteria
(every issue is "waiting" until criteria are configured). Problems are reported with file and line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jira_bridge.config_files import explain, read_yaml
from jira_bridge.errors import ConfigurationError

type FieldValue = str | int | float | bool | None


class _Config(BaseModel):
    # defer_build: the validator is built by the first validation (nested models inside it), not at import
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class NativeDeployment(_Config):
    environment: str = Field(min_length=1, max_length=1000)
    environment_type: str | None = None


class NativeSources(_Config):
    project: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]{0,254}$")
    deployments: dict[str, NativeDeployment] = Field(default_factory=dict)
    """CodePipeline pipeline name or CodeBuild project name -> the environment it deploys to."""


class Criteria(_Config):
    """Every condition given must hold; no condition at all never matches."""

    status: list[str] = Field(default_factory=list)
    fields: dict[str, FieldValue | list[FieldValue]] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.status and not self.fields


class ApprovalRule(_Config):
    approved: Criteria = Field(default_factory=Criteria)
    rejected: Criteria = Field(default_factory=Criteria)


class ApprovalConfig(_Config):
    default: ApprovalRule | None = None
    projects: dict[str, ApprovalRule] = Field(default_factory=dict)

    @field_validator("projects")
    @classmethod
    def _project_keys(cls, value: dict[str, ApprovalRule]) -> dict[str, ApprovalRule]:
        return {key.upper(): rule for key, rule in value.items()}

    def rule_for(self, project: str) -> ApprovalRule | None:
        return self.projects.get(project.upper(), self.default)


class CiConfig(_Config):
    native: NativeSources = Field(default_factory=NativeSources)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)


def load_ci_config(path: Path) -> CiConfig:
    if not path.exists():
        return CiConfig()
    document = read_yaml(path)
    try:
        return CiConfig.model_validate(document.data)
    except ValidationError as error:
        raise ConfigurationError("; ".join(explain(document, error))) from None

"""One state of one build or deployment, whatever reported it: what the domain works on.

Every source (the generic notification, CodeBuild, CodePipeline, GitHub) is parsed at the edge into
a :class:`CiRun`; reporting, key extraction and payloads never see the source's own shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal

from jira_bridge.ci.states import Kind

type Source = Literal["notify", "github", "gitlab", "codebuild", "codepipeline"]

PRODUCTS: dict[str, str] = {
    "notify": "Jira Bridge",
    "github": "GitHub Actions",
    "gitlab": "GitLab CI/CD",
    "codebuild": "AWS CodeBuild",
    "codepipeline": "AWS CodePipeline",
}


@dataclass(frozen=True)
class Pipeline:
    """A sequence of runs: its id must stay the same from run to run."""

    id: str
    name: str
    url: str | None = None


@dataclass(frozen=True)
class Environment:
    """Where a deployment went: the user's name, and optionally their own id and type."""

    name: str
    id: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class KeyTexts:
    """Where issue keys are looked for, in this order: PR title, commit messages, branch, others."""

    pr_title: str | None = None
    commit_messages: tuple[str, ...] = ()
    branch: str | None = None
    other: tuple[str, ...] = ()

    def in_order(self) -> list[str | None]:
        return [self.pr_title, *self.commit_messages, self.branch, *self.other]


@dataclass(frozen=True)
class Site:
    """The Jira site a caller asked for: ``CLOUD_ID`` wins over ``INSTANCE`` when both are given."""

    instance: str | None = None
    cloud_id: str | None = None


@dataclass(frozen=True)
class TestCounts:
    __test__: ClassVar[bool] = False  # not a pytest class, whatever its name

    total: int
    passed: int
    failed: int
    skipped: int | None = None


@dataclass(frozen=True)
class CiRun:
    source: Source
    pipeline: Pipeline
    number: int
    """Build number / deployment sequence number: stable for the run across its state changes."""
    url: str
    state: str
    """The CI's own state word (mapped onto Jira's by :func:`jira_bridge.ci.states.jira_state`)."""
    updated_at: datetime
    """When the run reached ``state`` (timezone-aware): orders the updates of one run."""
    attempt: int = 1
    """Re-runs of the same number (GitHub ``run_attempt``): a later attempt may overwrite a final state."""
    started_at: datetime | None = None
    display_name: str | None = None
    description: str | None = None
    label: str | None = None
    environment: Environment | None = None
    texts: KeyTexts = field(default_factory=KeyTexts)
    issue_keys: tuple[str, ...] = ()
    """Keys the caller named explicitly (checked with the same rules as found keys)."""
    project: str | None = None
    """Only this Jira project's keys are reported (``PROJECT``)."""
    site: Site | None = None
    report_only_state: str | None = None
    """``STATE``: report only when the run is in this (Jira) state."""
    debug: bool = False
    """``LOG_LEVEL=debug``: log Jira's full answer."""
    commit: str | None = None
    repository_url: str | None = None
    branch_url: str | None = None
    """The branch's page (default: derived from ``repository_url`` on hosts whose scheme is known)."""
    pull_request_url: str | None = None
    """The pull request built, if any: the build's ref links it rather than the branch."""
    tests: TestCounts | None = None

    @property
    def kind(self) -> Kind:
        return "deployment" if self.environment is not None else "build"

    @property
    def product(self) -> str:
        return PRODUCTS[self.source]

"""``POST /ci/notify``: the notification any pipeline can send, with the settings CI plugins use.

The upper-case keys are the settings users know from the Jira CI plugins (``PROJECT``, ``INSTANCE``,
``CLOUD_ID``, ``ENVIRONMENT_NAME``, ``ENVIRONMENT_TYPE``, ``STATE``, ``LOG_LEVEL``); the lower-case
keys describe the run itself. A body is one notification, or ``{"notifications": [...]}`` with up
to 100 of them (reported together, in as few Jira requests as possible).

Unknown keys are refused (400 naming the key): a misspelt ``PROJECT`` would otherwise silently
report every project's keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, RootModel, ValidationError

from jira_bridge.ci.model import CiRun, Environment, KeyTexts, Pipeline, Site, TestCounts
from jira_bridge.ci.sources import PayloadInvalid
from jira_bridge.webhooks.http import parse_json

MAX_NOTIFICATIONS = 100
INT64_MAX = 2**63 - 1


class NotificationInvalid(PayloadInvalid):
    """The body is not a CI notification; the message says where (answer 400)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PipelineInfo(_Strict):
    id: str | None = Field(
        default=None, min_length=1, max_length=1000,
        description="Stable id of the pipeline, the same for every run (e.g. `org/repo/.github/workflows/ci.yml`). "
                    "Default: `name`.",
    )
    name: str = Field(min_length=1, max_length=1000, description="Pipeline name shown in Jira.")
    url: HttpUrl | None = Field(default=None, description="The pipeline's page (default: the run's `url`).")


class CommitInfo(BaseModel):
    """A commit; other keys (author, timestamp...) are ignored, so GitHub's `commits` array fits as is."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | None = Field(default=None, max_length=255, description="Commit SHA.")
    message: str | None = Field(default=None, description="Full commit message (searched for issue keys).")


class RunTests(_Strict):
    """Test counts of the run (Jira shows them on the build)."""

    total: int = Field(ge=0)
    passed: int = Field(ge=0)
    failed: int = Field(ge=0)
    skipped: int | None = Field(default=None, ge=0)


class CiNotification(_Strict):
    """One build (no `ENVIRONMENT_NAME`) or deployment (`ENVIRONMENT_NAME` set) in one state."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="CiNotification")

    PROJECT: str | None = Field(
        default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{1,255}$",
        description="Jira project key: only this project's issue keys are reported.",
    )
    INSTANCE: str | None = Field(
        default=None, min_length=1, max_length=255,
        description="Jira site name (`myorg` for myorg.atlassian.net); must be the site of the connector "
                    "acting for the keys' project.",
    )
    CLOUD_ID: str | None = Field(
        default=None, min_length=1, max_length=255, description="Jira cloud id; wins over `INSTANCE`.",
    )
    ENVIRONMENT_NAME: str | None = Field(
        default=None, min_length=1, max_length=1000,
        description="Present: report a deployment to this environment (name kept as given). Absent: a build.",
    )
    ENVIRONMENT_ID: str | None = Field(
        default=None, min_length=1, max_length=1000,
        description="Your own environment id (default: derived from `ENVIRONMENT_NAME`, stable across runs).",
    )
    ENVIRONMENT_TYPE: str | None = Field(
        default=None, max_length=64,
        description="unmapped, development, testing, staging or production (aliases such as `prod` work); "
                    "default: guessed from `ENVIRONMENT_NAME`.",
    )
    STATE: str | None = Field(
        default=None, max_length=64,
        description="Report only when the run is in this state (e.g. `successful`); other states are skipped.",
    )
    LOG_LEVEL: Literal["debug", "info", "warning", "error", "DEBUG", "INFO", "WARNING", "ERROR"] | None = Field(
        default=None, description="`debug` logs Jira's full answer to this notification.",
    )
    ISSUE_KEYS: list[str] = Field(
        default_factory=list, max_length=500,
        description="Issue keys to report besides those found in `pr_title`, `commits` and `branch`.",
    )
    pipeline: PipelineInfo
    build_number: int = Field(
        ge=0, le=INT64_MAX, description="Run number: the build number, or the deployment's sequence number.",
    )
    attempt: int = Field(default=1, ge=1, le=127, description="Re-run attempt of the same `build_number`.")
    url: HttpUrl = Field(description="The run's page.")
    state: str = Field(
        min_length=1, max_length=64,
        description="The run's state in your CI's words (success, failed, running, canceled, SUCCEEDED...).",
    )
    started_at: datetime | None = Field(default=None, description="When the run started (ISO 8601).")
    updated_at: datetime | None = Field(
        default=None, description="When the run reached `state` (ISO 8601); default: when the bridge received it.",
    )
    pr_title: str | None = Field(default=None, max_length=10_000, description="Pull/merge request title.")
    commits: list[CommitInfo | str] = Field(
        default_factory=list, max_length=1000,
        description="Commits built: objects with `id` and `message`, or just messages.",
    )
    commit: str | None = Field(default=None, max_length=255, description="Head commit SHA.")
    branch: str | None = Field(default=None, max_length=1000, description="Branch (or tag) built.")
    repository_url: HttpUrl | None = Field(default=None, description="Repository URL (links the commit in Jira).")
    branch_url: HttpUrl | None = Field(
        default=None, description="The branch's page (default: derived from `repository_url` on github.com, "
                                  "gitlab.com, bitbucket.org and Azure DevOps).",
    )
    pull_request_url: HttpUrl | None = Field(
        default=None, description="The pull/merge request built: Jira's branch link goes there.",
    )
    display_name: str | None = Field(default=None, max_length=10_000, description="Default: `<pipeline> #<number>`.")
    description: str | None = Field(default=None, max_length=10_000, description="Default: PR title or commit subject.")
    label: str | None = Field(default=None, max_length=10_000, description="Default: `branch`.")
    tests: RunTests | None = None


class CiNotificationBatch(_Strict):
    """Several notifications reported together (one Jira request per site and kind)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="CiNotificationBatch")

    notifications: list[CiNotification] = Field(min_length=1, max_length=MAX_NOTIFICATIONS)


class CiNotificationBody(RootModel[CiNotification | CiNotificationBatch]):
    """A ``POST /ci/notify`` body, for its JSON Schema (parsing goes through :func:`parse_body`)."""

    model_config = ConfigDict(
        title="Jira Bridge CI notification (POST /ci/notify)",
        json_schema_extra={"description": "One notification, or {\"notifications\": [...]} with up to 100."},
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a ``POST /ci/notify`` body (README, ``jira-bridge schema ci-notification``)."""
    schema: dict[str, Any] = CiNotificationBody.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/jira-bridge/schemas/ci-notification.schema.json"
    return schema


def parse_body(body: bytes) -> list[CiNotification]:
    """The notifications in a body, or :class:`NotificationInvalid` naming the first problem."""
    try:
        data: Any = parse_json(body)
    except ValueError as error:
        raise NotificationInvalid(f"not a CI notification: body is not JSON: {error}") from None
    model: type[CiNotification] | type[CiNotificationBatch] = (
        CiNotificationBatch if isinstance(data, dict) and "notifications" in data else CiNotification
    )
    try:
        parsed = model.model_validate(data)
    except ValidationError as error:
        raise NotificationInvalid(f"not a CI notification: {describe(error)}") from None
    return list(parsed.notifications) if isinstance(parsed, CiNotificationBatch) else [parsed]


def describe(error: ValidationError, limit: int = 5) -> str:
    problems = []
    for item in error.errors()[:limit]:
        where = ".".join(str(part) for part in item["loc"]) or "(body)"
        problem = "is required" if item["type"] == "missing" else item["msg"]
        if item["type"] == "extra_forbidden":
            problem = "is not a known setting (check the spelling)"
        problems.append(f"{where}: {problem}")
    more = error.error_count() - limit
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def to_run(notification: CiNotification, received_at: datetime) -> CiRun:
    n = notification
    messages = tuple(c if isinstance(c, str) else c.message or "" for c in n.commits)
    head = n.commit or next((c.id for c in n.commits if isinstance(c, CommitInfo) and c.id), None)
    environment = (
        Environment(name=n.ENVIRONMENT_NAME, id=n.ENVIRONMENT_ID, type=n.ENVIRONMENT_TYPE)
        if n.ENVIRONMENT_NAME else None
    )
    site = Site(instance=n.INSTANCE, cloud_id=n.CLOUD_ID) if (n.INSTANCE or n.CLOUD_ID) else None
    tests = TestCounts(n.tests.total, n.tests.passed, n.tests.failed, n.tests.skipped) if n.tests else None
    return CiRun(
        source="notify",
        pipeline=Pipeline(
            id=n.pipeline.id or n.pipeline.name, name=n.pipeline.name,
            url=str(n.pipeline.url) if n.pipeline.url else None,
        ),
        number=n.build_number,
        attempt=n.attempt,
        url=str(n.url),
        state=n.state,
        updated_at=_aware(n.updated_at) or received_at,
        started_at=_aware(n.started_at),
        display_name=n.display_name,
        description=n.description,
        label=n.label,
        environment=environment,
        texts=KeyTexts(pr_title=n.pr_title, commit_messages=tuple(m for m in messages if m), branch=n.branch),
        issue_keys=tuple(n.ISSUE_KEYS),
        project=n.PROJECT.upper() if n.PROJECT else None,
        site=site,
        report_only_state=n.STATE,
        debug=(n.LOG_LEVEL or "").lower() == "debug",
        commit=head,
        repository_url=str(n.repository_url) if n.repository_url else None,
        branch_url=str(n.branch_url) if n.branch_url else None,
        pull_request_url=str(n.pull_request_url) if n.pull_request_url else None,
        tests=tests,
    )

"""EventBridge "CodePipeline Pipeline Execution State Change" (source ``aws.codepipeline``) as a CI run.

The event names the pipeline, the execution (a UUID: CodePipeline has **no numeric run counter**)
and the state (STARTED, SUCCEEDED, FAILED, STOPPING, STOPPED, CANCELED, RESUMED, SUPERSEDED).
Current events add ``start-time`` and ``pipeline-execution-attempt``; V2 pipelines started by a
Git trigger add ``execution-trigger.commit-message`` / ``branch-name`` / ``tag-name`` /
``commit-id`` / ``full-repository-name``, which is where issue keys come from (older events carry
none: such runs are skipped as having no keys, see shared/contracts/ci/README.md).

* Pipeline: ``arn:aws:codepipeline:<region>:<account>:<name>`` (the name is read from
  ``detail.pipeline``, never from the ARN, whose shape varies).
* Number: the execution's ``start-time`` in epoch seconds when the event has it (increasing from run
  to run); otherwise a number derived from the execution id (stable for every state change of the
  execution, but not ordered between executions).
* A pipeline named in ``config/ci.yaml`` ``native.deployments`` reports a deployment.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from jira_bridge.ci.config import NativeSources
from jira_bridge.ci.model import CiRun, Environment, KeyTexts, Pipeline

DETAIL_TYPE = "CodePipeline Pipeline Execution State Change"
SOURCE = "aws.codepipeline"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class _Trigger(_Lenient):
    trigger_type: str | None = Field(default=None, alias="trigger-type")
    trigger_detail: str | None = Field(default=None, alias="trigger-detail")
    commit_id: str | None = Field(default=None, alias="commit-id")
    commit_message: str | None = Field(default=None, alias="commit-message")
    branch_name: str | None = Field(default=None, alias="branch-name")
    tag_name: str | None = Field(default=None, alias="tag-name")
    full_repository_name: str | None = Field(default=None, alias="full-repository-name")
    provider_type: str | None = Field(default=None, alias="provider-type")


class _Detail(_Lenient):
    pipeline: str = Field(min_length=1)
    execution_id: str = Field(alias="execution-id", min_length=1)
    state: str
    start_time: datetime | None = Field(default=None, alias="start-time")
    attempt: float | None = Field(default=None, alias="pipeline-execution-attempt")
    execution_trigger: _Trigger | None = Field(default=None, alias="execution-trigger")


class CodePipelineEvent(_Lenient):
    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str | None = None
    region: str | None = None
    resources: list[str] = Field(default_factory=list)
    time: datetime
    detail: _Detail


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_run(event: CodePipelineEvent, native: NativeSources) -> CiRun:
    detail = event.detail
    name = detail.pipeline
    # EventBridge's own fields, else the pipeline ARN's (arn:aws:codepipeline:<region>:<account>:...)
    arn = event.resources[0].split(":") if event.resources else []
    region = event.region or (arn[3] if len(arn) > 4 else "") or "unknown"
    account = event.account or (arn[4] if len(arn) > 4 else "") or "unknown"
    started = _aware(detail.start_time) if detail.start_time else None
    if started is not None:
        number = int(started.timestamp())
    else:
        number = int(hashlib.sha256(detail.execution_id.encode()).hexdigest()[:13], 16)
    console = f"https://console.aws.amazon.com/codesuite/codepipeline/pipelines/{quote(name, safe='')}"
    trigger = detail.execution_trigger or _Trigger()
    repository = None
    if trigger.full_repository_name and (trigger.provider_type or "").lower() in {"github", "githubenterpriseserver"}:
        repository = f"https://github.com/{trigger.full_repository_name}"
    deployment = native.deployments.get(name)
    branch = trigger.branch_name or trigger.tag_name
    return CiRun(
        source="codepipeline",
        pipeline=Pipeline(id=f"arn:aws:codepipeline:{region}:{account}:{name}", name=name,
                          url=f"{console}/view?region={region}"),
        number=number,
        attempt=int(detail.attempt) if detail.attempt and detail.attempt >= 1 else 1,
        url=f"{console}/executions/{quote(detail.execution_id, safe='')}/timeline?region={region}",
        state=detail.state,
        updated_at=_aware(event.time),
        started_at=started,
        display_name=f"{name} {detail.execution_id[:8]}",
        environment=Environment(name=deployment.environment, type=deployment.environment_type) if deployment else None,
        texts=KeyTexts(
            commit_messages=tuple(m for m in (trigger.commit_message,) if m),
            branch=branch,
        ),
        project=native.project,
        label=branch,
        commit=trigger.commit_id,
        repository_url=repository,
    )

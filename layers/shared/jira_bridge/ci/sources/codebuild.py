"""EventBridge "CodeBuild Build State Change" (source ``aws.codebuild``) as a CI run.

What the event carries (shared/contracts/ci/README.md): the project, the build ARN, the status
(IN_PROGRESS, SUCCEEDED, FAILED, STOPPED), ``additional-information`` with an optional per-project
``build-number`` (sometimes a float, ``55.0``), ``build-start-time`` (``Sep 1, 2017 4:12:29 PM``),
``source-version`` (a commit, a branch or ``pr/<n>``), ``initiator`` and the environment variables.
It carries **no commit message or PR title**: issue keys come from the source version (a branch
such as ``feature/OPS-12-login``) and from plain-text environment variables meant for it
(``JIRA_ISSUE_KEYS``, ``ISSUE_KEYS``, ``ISSUEKEYS``, ``BRANCH``, ``PR_TITLE``, ``COMMIT_MESSAGE``).

* Pipeline: the project (``arn:aws:codebuild:<region>:<account>:project/<name>``): stable across builds.
* Number: ``build-number``; else the build's start time in epoch seconds (the same for every state
  change of one build, and increasing from build to build); else a hash of the build id.
* A project named in ``config/ci.yaml`` ``native.deployments`` reports a deployment to that environment.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from jira_bridge.ci.config import NativeSources
from jira_bridge.ci.model import CiRun, Environment, KeyTexts, Pipeline

DETAIL_TYPE = "CodeBuild Build State Change"
SOURCE = "aws.codebuild"
_START_TIME_FORMAT = "%b %d, %Y %I:%M:%S %p"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class _Variable(_Lenient):
    name: str
    type: str = "PLAINTEXT"
    value: str = ""


class _Environment(_Lenient):
    variables: list[_Variable] = Field(default_factory=list, alias="environment-variables")


class _Information(_Lenient):
    build_number: float | None = Field(default=None, alias="build-number")
    build_start_time: str | None = Field(default=None, alias="build-start-time")
    source_version: str | None = Field(default=None, alias="source-version")
    initiator: str | None = None
    environment: _Environment = Field(default_factory=_Environment)
    source: dict[str, Any] = Field(default_factory=dict)


class _Detail(_Lenient):
    build_status: str = Field(alias="build-status")
    project_name: str = Field(alias="project-name", min_length=1)
    build_id: str = Field(alias="build-id", min_length=1)
    additional_information: _Information = Field(default_factory=_Information, alias="additional-information")


class CodeBuildEvent(_Lenient):
    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str | None = None
    region: str | None = None
    time: datetime
    detail: _Detail


def _start_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, _START_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def to_run(event: CodeBuildEvent, native: NativeSources) -> CiRun:
    detail = event.detail
    info = detail.additional_information
    project = detail.project_name
    build_tail = detail.build_id.rsplit("/", 1)[-1]  # <project>:<uuid>
    started = _start_time(info.build_start_time)
    if info.build_number is not None and info.build_number >= 0:
        number = int(info.build_number)
    elif started is not None:
        number = int(started.timestamp())
    else:
        number = int(hashlib.sha256(detail.build_id.encode()).hexdigest()[:13], 16)
    # The build ARN names the project's region and account (EventBridge's own fields as a fallback).
    arn = detail.build_id.split(":")
    region = arn[3] if len(arn) > 5 and arn[3] else event.region or "unknown"
    account = arn[4] if len(arn) > 5 and arn[4] else event.account or "unknown"
    console = (
        f"https://{region}.console.aws.amazon.com/codesuite/codebuild/{account}/projects/{quote(project, safe='')}"
    )
    variables = {v.name.upper(): v.value for v in info.environment.variables if v.type.upper() == "PLAINTEXT"}
    source_version = info.source_version
    branch = source_version.removeprefix("refs/heads/") if source_version else None
    deployment = native.deployments.get(project)
    location = info.source.get("location")
    repository = location if isinstance(location, str) and location.startswith("https://") else None
    return CiRun(
        source="codebuild",
        pipeline=Pipeline(id=f"arn:aws:codebuild:{region}:{account}:project/{project}", name=project, url=console),
        number=number,
        url=f"{console}/build/{quote(build_tail, safe='')}/?region={region}",
        state=detail.build_status,
        updated_at=event.time if event.time.tzinfo else event.time.replace(tzinfo=UTC),
        started_at=started,
        display_name=f"{project} #{number}" if info.build_number is not None else f"{project} {build_tail[-8:]}",
        environment=Environment(name=deployment.environment, type=deployment.environment_type) if deployment else None,
        texts=KeyTexts(
            pr_title=variables.get("PR_TITLE"),
            commit_messages=tuple(m for m in (variables.get("COMMIT_MESSAGE"),) if m),
            branch=variables.get("BRANCH") or branch,
            other=tuple(v for k in ("JIRA_ISSUE_KEYS", "ISSUE_KEYS", "ISSUEKEYS") if (v := variables.get(k))),
        ),
        project=native.project,
        label=branch,
        commit=None,
        repository_url=repository,
    )

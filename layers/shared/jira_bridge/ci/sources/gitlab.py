"""GitLab's own webhooks: the Pipeline Hook as a build, the Deployment Hook as a deployment.

What the hooks carry (shared/contracts/ci/README.md, samples from go-gitlab's test data):

* Pipeline Hook (``object_kind: pipeline``): ``object_attributes`` {``id``, ``iid`` (the project's
  pipeline number), ``ref``, ``tag``, ``sha``, ``status``, ``created_at``, ``finished_at``};
  ``commit.message``; ``merge_request`` {``title``, ``source_branch``, ``url``} when the pipeline
  runs for a merge request; ``project`` {``web_url``, ``path_with_namespace``}.
* Deployment Hook (``object_kind: deployment``): ``deployment_id``, ``status``, ``status_changed_at``,
  ``environment``, ``ref``, ``commit_title``, ``commit_url``, ``deployable_url``, ``project``.

Timestamps come as ``2016-08-12 15:23:28 UTC`` or ``2021-04-28 21:50:00 +0200`` (and ISO 8601 in
newer versions). Pipeline ids are the project's pipelines page, deployment pipelines its environments
page: both stay the same from run to run. Links use GitLab's own URL scheme on the event's host, so
self-managed GitLab links its branches and merge requests too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from jira_bridge.ci.config import NativeSources
from jira_bridge.ci.model import CiRun, Environment, KeyTexts, Pipeline
from jira_bridge.ci.sources import NotReported, PayloadInvalid
from jira_bridge.ci.sources.generic import describe

PIPELINE_HOOK = "Pipeline Hook"
DEPLOYMENT_HOOK = "Deployment Hook"
HANDLED_EVENTS = frozenset({PIPELINE_HOOK, DEPLOYMENT_HOOK})
_FORMATS = ("%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M:%S %z")


def _gitlab_time(value: Any) -> Any:
    """GitLab's ``2016-08-12 15:23:28 UTC`` / ``... +0200`` as an aware datetime (ISO passes through)."""
    if not isinstance(value, str):
        return value
    for form in _FORMATS:
        try:
            parsed = datetime.strptime(value.strip(), form)
        except ValueError:
            continue
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return value


type GitLabTime = Annotated[datetime, BeforeValidator(_gitlab_time)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Project(_Lenient):
    web_url: str = Field(min_length=1)
    path_with_namespace: str = Field(min_length=1)


class _PipelineAttributes(_Lenient):
    id: int = Field(ge=0)
    iid: int | None = Field(default=None, ge=0)
    ref: str | None = None
    tag: bool = False
    sha: str | None = None
    status: str = Field(min_length=1)
    created_at: GitLabTime | None = None
    finished_at: GitLabTime | None = None


class _Commit(_Lenient):
    id: str | None = None
    message: str | None = None


class _MergeRequest(_Lenient):
    title: str | None = None
    source_branch: str | None = None
    url: str | None = None


class PipelineHook(_Lenient):
    object_kind: Literal["pipeline"]
    object_attributes: _PipelineAttributes
    project: Project
    commit: _Commit | None = None
    merge_request: _MergeRequest | None = None


class DeploymentHook(_Lenient):
    object_kind: Literal["deployment"]
    deployment_id: int = Field(ge=0)
    status: str = Field(min_length=1)
    status_changed_at: GitLabTime | None = None
    environment: str = Field(min_length=1)
    project: Project
    ref: str | None = None
    commit_title: str | None = None
    commit_url: str | None = None
    deployable_url: str | None = None
    environment_external_url: str | None = None


def _tree(web_url: str, ref: str | None) -> str | None:
    return f"{web_url}/-/tree/{quote(ref, safe='/')}" if ref else None


def pipeline_run(hook: PipelineHook, native: NativeSources, received_at: datetime) -> CiRun:
    attributes, project = hook.object_attributes, hook.project
    web_url = project.web_url.rstrip("/")
    request = hook.merge_request
    branch = (request.source_branch if request else None) or attributes.ref
    return CiRun(
        source="gitlab",
        pipeline=Pipeline(id=f"{web_url}/-/pipelines", name=f"{project.path_with_namespace} pipeline",
                          url=f"{web_url}/-/pipelines"),
        number=attributes.iid if attributes.iid is not None else attributes.id,
        url=f"{web_url}/-/pipelines/{attributes.id}",
        state=attributes.status,
        # A finished pipeline says when; other states are as of their delivery.
        updated_at=attributes.finished_at or received_at,
        started_at=attributes.created_at,
        display_name=f"{project.path_with_namespace} #{attributes.iid or attributes.id}",
        texts=KeyTexts(
            pr_title=request.title if request else None,
            commit_messages=tuple(m for m in (hook.commit.message if hook.commit else None,) if m),
            branch=branch,
            other=tuple(r for r in (attributes.ref,) if r and r != branch),
        ),
        project=native.project,
        label=attributes.ref,
        commit=attributes.sha,
        repository_url=web_url,
        branch_url=_tree(web_url, branch),
        pull_request_url=request.url if request else None,
    )


def deployment_run(hook: DeploymentHook, native: NativeSources, received_at: datetime) -> CiRun:
    project = hook.project
    web_url = project.web_url.rstrip("/")
    commit = hook.commit_url.rstrip("/").rsplit("/", 1)[-1] if hook.commit_url else None
    return CiRun(
        source="gitlab",
        pipeline=Pipeline(id=f"{web_url}/-/environments", name=f"{project.path_with_namespace} deployments",
                          url=f"{web_url}/-/environments"),
        number=hook.deployment_id,
        url=hook.deployable_url or hook.environment_external_url or f"{web_url}/-/environments",
        state=hook.status,
        updated_at=hook.status_changed_at or received_at,
        display_name=f"{project.path_with_namespace} deployment #{hook.deployment_id}",
        environment=Environment(name=hook.environment),
        texts=KeyTexts(commit_messages=tuple(m for m in (hook.commit_title,) if m), branch=hook.ref),
        project=native.project,
        label=hook.ref,
        commit=commit,
        repository_url=web_url,
        branch_url=_tree(web_url, hook.ref),
    )


def run_from(event_name: str, body: bytes, native: NativeSources, received_at: datetime) -> CiRun:
    """The run a verified delivery reports (:class:`PayloadInvalid` / :class:`NotReported` otherwise)."""
    if event_name not in HANDLED_EVENTS:
        raise NotReported(f"event {event_name or '(none)'} is not reported to Jira")
    try:
        if event_name == PIPELINE_HOOK:
            return pipeline_run(PipelineHook.model_validate_json(body), native, received_at)
        return deployment_run(DeploymentHook.model_validate_json(body), native, received_at)
    except ValidationError as error:
        raise PayloadInvalid(f"not a GitLab {event_name}: {describe(error)}") from None

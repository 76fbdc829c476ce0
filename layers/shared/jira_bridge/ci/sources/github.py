"""GitHub ``workflow_run`` (a build) and ``deployment_status`` (a deployment) webhooks as CI runs.

Verified with ``X-Hub-Signature-256`` before anything here parses them. Fields used are those in
shared/contracts/ci/README.md:

* ``workflow_run``: pipeline = the workflow (``github.com/<repo>/actions/workflows/<workflow_id>``),
  number = ``run_number``, attempt = ``run_attempt``; state from ``status`` and, once completed,
  ``conclusion``; keys from ``display_title`` (the PR title for PR runs), ``head_commit.message``,
  ``head_branch`` and the head branches of ``pull_requests[]``.
* ``deployment_status``: pipeline = the repository's deployments (or the workflow that created the
  deployment), environment = ``deployment_status.environment``, sequence = ``deployment.id`` (GitHub
  numbers deployments increasingly); keys from ``deployment.ref``, the descriptions and the
  embedded workflow run. The payload has **no commit messages**: keys only in commit messages are
  not found (GitHub's own Jira app calls the GitHub API for them; the bridge holds no GitHub token).
  State ``inactive`` (a newer deployment replaced this one) changes nothing and is not reported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jira_bridge.ci.config import NativeSources
from jira_bridge.ci.model import CiRun, Environment, KeyTexts, Pipeline
from jira_bridge.ci.sources import NotReported, PayloadInvalid
from jira_bridge.ci.sources.generic import describe

HANDLED_EVENTS = frozenset({"workflow_run", "deployment_status"})
NOT_REPORTED_DEPLOYMENT_STATES = frozenset({"inactive"})


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Repository(_Lenient):
    full_name: str = Field(min_length=1)
    html_url: str


class _Commit(_Lenient):
    id: str | None = None
    message: str | None = None


class _Ref(_Lenient):
    ref: str | None = None


class _PullRequest(_Lenient):
    number: int | None = None
    head: _Ref | None = None


class WorkflowRun(_Lenient):
    id: int
    name: str | None = None
    workflow_id: int | None = None
    path: str | None = None
    run_number: int = Field(ge=0)
    run_attempt: int = 1
    status: str | None = None
    conclusion: str | None = None
    html_url: str
    head_branch: str | None = None
    head_sha: str | None = None
    display_title: str | None = None
    head_commit: _Commit | None = None
    pull_requests: list[_PullRequest] = Field(default_factory=list)
    run_started_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class _Workflow(_Lenient):
    name: str | None = None
    path: str | None = None


class WorkflowRunEvent(_Lenient):
    action: str | None = None
    workflow_run: WorkflowRun
    workflow: _Workflow | None = None
    repository: Repository


class Deployment(_Lenient):
    id: int = Field(ge=0)
    sha: str | None = None
    ref: str | None = None
    task: str | None = None
    environment: str | None = None
    description: str | None = None
    created_at: datetime | None = None


class DeploymentStatus(_Lenient):
    state: str
    environment: str | None = None
    target_url: str | None = None
    log_url: str | None = None
    environment_url: str | None = None
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class _EmbeddedRun(_Lenient):
    name: str | None = None
    workflow_id: int | None = None
    display_title: str | None = None
    head_branch: str | None = None
    html_url: str | None = None


class DeploymentStatusEvent(_Lenient):
    action: str | None = None
    deployment_status: DeploymentStatus
    deployment: Deployment
    workflow_run: _EmbeddedRun | None = None
    repository: Repository


def workflow_state(run: WorkflowRun) -> str:
    """``status`` until the run completes, then its ``conclusion`` (mapped by :mod:`jira_bridge.ci.states`)."""
    if (run.status or "").lower() == "completed":
        return run.conclusion or "unknown"
    return run.status or "unknown"


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _tree(repository_url: str, branch: str | None) -> str | None:
    """The branch's page: GitHub's scheme on github.com and GitHub Enterprise alike."""
    return f"{repository_url}/tree/{quote(branch, safe='/')}" if branch else None


def _branch(ref: str | None) -> str | None:
    return ref.removeprefix("refs/heads/") if ref else None


def workflow_run(event: WorkflowRunEvent, native: NativeSources, received_at: datetime) -> CiRun:
    run, repo = event.workflow_run, event.repository
    workflow_key = str(run.workflow_id) if run.workflow_id is not None else (run.path or run.name or "workflow")
    name = run.name or (event.workflow.name if event.workflow else None) or run.path or "workflow"
    branch = _branch(run.head_branch)
    pr_branches = tuple(pr.head.ref for pr in run.pull_requests if pr.head and pr.head.ref)
    return CiRun(
        source="github",
        pipeline=Pipeline(
            id=f"github.com/{repo.full_name}/actions/workflows/{workflow_key}",
            name=f"{repo.full_name} {name}",
            url=f"{repo.html_url}/actions",
        ),
        number=run.run_number,
        attempt=max(run.run_attempt, 1),
        url=run.html_url,
        state=workflow_state(run),
        updated_at=_aware(run.updated_at) or received_at,
        started_at=_aware(run.run_started_at or run.created_at),
        display_name=f"{name} #{run.run_number}",
        texts=KeyTexts(
            pr_title=run.display_title,
            commit_messages=tuple(m for m in ((run.head_commit.message if run.head_commit else None),) if m),
            branch=branch,
            other=pr_branches,
        ),
        project=native.project,
        label=branch,
        commit=run.head_sha,
        repository_url=repo.html_url,
        branch_url=_tree(repo.html_url, branch),
        pull_request_url=next((f"{repo.html_url}/pull/{pr.number}" for pr in run.pull_requests if pr.number), None),
    )


def deployment_status(event: DeploymentStatusEvent, native: NativeSources, received_at: datetime) -> CiRun | None:
    """The deployment run, or ``None`` for a state that is not reported (``inactive``)."""
    status, deployment, repo = event.deployment_status, event.deployment, event.repository
    if status.state.lower() in NOT_REPORTED_DEPLOYMENT_STATES:
        return None
    environment = status.environment or deployment.environment or "unknown"
    embedded = event.workflow_run
    if embedded is not None and embedded.workflow_id is not None:
        pipeline = Pipeline(
            id=f"github.com/{repo.full_name}/actions/workflows/{embedded.workflow_id}",
            name=f"{repo.full_name} {embedded.name or 'workflow'}",
            url=f"{repo.html_url}/actions",
        )
    else:
        pipeline = Pipeline(
            id=f"github.com/{repo.full_name}/deployments", name=f"{repo.full_name} deployments",
            url=f"{repo.html_url}/deployments",
        )
    url = next(
        (u for u in (status.target_url, status.log_url, embedded.html_url if embedded else None) if u),
        f"{repo.html_url}/deployments",
    )
    ref = _branch(deployment.ref)
    others: list[Any] = [deployment.description, status.description]
    if embedded is not None:
        others += [embedded.head_branch]
    return CiRun(
        source="github",
        pipeline=pipeline,
        number=deployment.id,
        url=url,
        state=status.state,
        updated_at=_aware(status.updated_at or status.created_at) or received_at,
        started_at=_aware(deployment.created_at),
        display_name=f"{repo.full_name} {deployment.task or 'deploy'} #{deployment.id}",
        description=deployment.description or None,
        environment=Environment(name=environment),
        texts=KeyTexts(
            pr_title=embedded.display_title if embedded else None,
            branch=ref,
            other=tuple(str(o) for o in others if o),
        ),
        project=native.project,
        label=ref,
        commit=deployment.sha,
        repository_url=repo.html_url,
        branch_url=_tree(repo.html_url, ref),
    )


def run_from(event_name: str, body: bytes, native: NativeSources, received_at: datetime) -> CiRun:
    """The run a verified delivery reports (:class:`PayloadInvalid` / :class:`NotReported` otherwise)."""
    if event_name not in HANDLED_EVENTS:
        raise NotReported(f"event {event_name or '(none)'} is not reported to Jira")
    try:
        if event_name == "workflow_run":
            return workflow_run(WorkflowRunEvent.model_validate_json(body), native, received_at)
        run = deployment_status(DeploymentStatusEvent.model_validate_json(body), native, received_at)
    except ValidationError as error:
        raise PayloadInvalid(f"not a GitHub {event_name} payload: {describe(error)}") from None
    if run is None:
        raise NotReported("deployment state inactive is not reported")
    return run

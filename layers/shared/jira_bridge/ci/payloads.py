"""Builds and deployments as Jira Software's bulk API wants them (``BuildData`` / ``DeploymentData``).

What makes them correct beyond the schema:

* **Identity.** A build is (pipelineId, buildNumber), a deployment (pipeline.id, environment.id,
  deploymentSequenceNumber). Pipeline ids come from the source and stay the same from run to run;
  environment ids come from the environment's name (:mod:`jira_bridge.ci.environments`).
* **Order.** Jira keeps the update with the highest ``updateSequenceNumber``, so the number is built
  from what makes an update newer, most significant first: the attempt (a re-run may replace a final
  state), whether the state is final (an in-progress report never replaces a final one, however late
  it arrives), the time the run reached the state (milliseconds), and the state's rank (for two
  updates in the same millisecond). The same update always gets the same number, so a redelivery
  is a no-op in Jira too. The number stays below 2^53 (see ``update_sequence_number``), so no JSON
  parser that reads numbers as doubles loses precision.
* **Limits.** Text is truncated by characters (``maxLength``), ids are made to fit without
  colliding, issue keys are capped per entity.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from jira_bridge.ci.environments import environment_id, environment_type
from jira_bridge.ci.model import CiRun
from jira_bridge.ci.states import JiraState, is_final
from jira_bridge.ci.text import first_line, stable_id, truncate

MAX_TEXT = 255
MAX_URL = 2000
MAX_BUILD_KEYS = 100
"""``BuildData.issueKeys``: maxItems 100."""
MAX_DEPLOYMENT_KEYS = 500
"""``DeploymentData.associations[].values``: maxItems 500 (500 values across all associations)."""

# The number fits in 53 bits, so it survives any JSON parser that reads numbers as doubles
# (JavaScript, jq): 7 bits of attempt | 1 bit "final" | 42 bits of milliseconds since 2000 | 3 bits of
# state rank. 42 bits of milliseconds last until 2139; 127 attempts is more than GitHub allows (50).
_RANK_BITS = 3
_TIME_BITS = 42
_TIME_SHIFT = _RANK_BITS
_FINAL_SHIFT = _TIME_SHIFT + _TIME_BITS
_ATTEMPT_SHIFT = _FINAL_SHIFT + 1
MAX_ATTEMPT = (1 << (53 - _ATTEMPT_SHIFT)) - 1
"""127: the highest re-run attempt told apart (a later one counts as this one)."""
_MAX_MILLIS = (1 << _TIME_BITS) - 1
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_RANK: dict[str, int] = {
    "unknown": 0, "pending": 1, "in_progress": 2, "cancelled": 3, "failed": 4, "successful": 5, "rolled_back": 6,
}


def update_sequence_number(state: str, updated_at: datetime, attempt: int = 1) -> int:
    """Higher for a newer update of the same build or deployment (see the module docstring)."""
    if updated_at.tzinfo is None:
        updated_at = updated_at.replace(tzinfo=UTC)
    millis = min(max((updated_at - _EPOCH) // timedelta(milliseconds=1), 0), _MAX_MILLIS)
    attempt = min(max(attempt, 1), MAX_ATTEMPT)
    return (
        (attempt << _ATTEMPT_SHIFT)
        | (int(is_final(state)) << _FINAL_SHIFT)
        | (millis << _TIME_SHIFT)
        | _RANK.get(state, 0)
    )


def jira_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fit_url(url: str) -> str:
    """A URL within Jira's 2,000 characters: drop query and fragment first, cut only as a last resort."""
    if len(url) <= MAX_URL:
        return url
    parts = urlsplit(url)
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return bare if len(bare) <= MAX_URL else bare[:MAX_URL]


def pipeline_id(run: CiRun) -> str:
    return stable_id(run.pipeline.id)


def display_name(run: CiRun) -> str:
    return truncate(run.display_name or f"{run.pipeline.name} #{run.number}", MAX_TEXT)


def _summary(run: CiRun) -> str | None:
    """What the run was about, for ``description``: the caller's text, the PR title or the commit subject."""
    messages = run.texts.commit_messages
    return run.description or run.texts.pr_title or first_line(messages[0] if messages else None)


# Where a branch (or tag) lives on the hosts whose URL scheme is known; the repository URL is the
# prefix. Self-hosted GitHub/GitLab/Bitbucket cannot be told apart by their host: pass `branch_url`.
_BRANCH_PATHS: dict[str, str] = {
    "github.com": "/tree/{ref}",
    "gitlab.com": "/-/tree/{ref}",
    "bitbucket.org": "/src/{ref}",
}


def branch_url(repository_url: str | None, branch: str | None) -> str | None:
    """The page of ``branch`` in the repository, on github.com, gitlab.com, bitbucket.org and Azure
    DevOps; ``None`` on a host whose URL scheme is unknown."""
    if not repository_url or not branch:
        return None
    parts = urlsplit(repository_url)
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/").removesuffix(".git")
    ref = branch.removeprefix("refs/heads/")
    if host in _BRANCH_PATHS:
        suffix = _BRANCH_PATHS[host].format(ref=quote(ref, safe="/"))
        return urlunsplit((parts.scheme, parts.netloc, path + suffix, "", ""))
    if host == "dev.azure.com" or host.endswith(".visualstudio.com"):
        return urlunsplit((parts.scheme, parts.netloc, path, urlencode({"version": f"GB{ref}"}), ""))
    return None


def ref_uri(run: CiRun) -> str | None:
    """What the build's ref links: the pull request when there is one, else the branch, else (a
    host whose branch pages are unknown) the repository."""
    return run.pull_request_url or run.branch_url or branch_url(run.repository_url, run.texts.branch) or (
        run.repository_url
    )


def _references(run: CiRun) -> list[dict[str, Any]]:
    reference: dict[str, Any] = {}
    if run.commit and run.repository_url:
        reference["commit"] = {"id": truncate(run.commit, MAX_TEXT), "repositoryUri": fit_url(run.repository_url)}
    uri = ref_uri(run)
    if run.texts.branch and uri:
        reference["ref"] = {"name": truncate(run.texts.branch, MAX_TEXT), "uri": fit_url(uri)}
    return [reference] if reference else []


def build_data(run: CiRun, state: JiraState, issue_keys: list[str]) -> dict[str, Any]:
    """One ``BuildData`` entity."""
    build: dict[str, Any] = {
        "schemaVersion": "1.0",
        "pipelineId": pipeline_id(run),
        "buildNumber": run.number,
        "updateSequenceNumber": update_sequence_number(state, run.updated_at, run.attempt),
        "displayName": display_name(run),
        "url": fit_url(run.url),
        "state": "failed" if state == "rolled_back" else state,
        "lastUpdated": jira_timestamp(run.updated_at),
        "issueKeys": issue_keys[:MAX_BUILD_KEYS],
    }
    summary = _summary(run)
    if summary:
        build["description"] = truncate(summary, MAX_TEXT)
    label = run.label or run.texts.branch
    if label:
        build["label"] = truncate(label, MAX_TEXT)
    references = _references(run)
    if references:
        build["references"] = references
    if run.tests is not None:
        tests: dict[str, int] = {
            "totalNumber": run.tests.total, "numberPassed": run.tests.passed, "numberFailed": run.tests.failed,
        }
        if run.tests.skipped is not None:
            tests["numberSkipped"] = run.tests.skipped
        build["testInfo"] = tests
    return build


def deployment_data(run: CiRun, state: JiraState, issue_keys: list[str]) -> dict[str, Any]:
    """One ``DeploymentData`` entity (``run.environment`` must be set)."""
    environment = run.environment
    if environment is None:
        raise ValueError("a deployment needs an environment")
    pipeline_url = fit_url(run.pipeline.url or run.url)
    description = _summary(run) or f"{run.pipeline.name} #{run.number} to {environment.name}"
    deployment: dict[str, Any] = {
        "schemaVersion": "1.0",
        "deploymentSequenceNumber": run.number,
        "updateSequenceNumber": update_sequence_number(state, run.updated_at, run.attempt),
        "associations": [{"associationType": "issueIdOrKeys", "values": issue_keys[:MAX_DEPLOYMENT_KEYS]}],
        "displayName": display_name(run),
        "url": fit_url(run.url),
        "description": truncate(description, MAX_TEXT),
        "lastUpdated": jira_timestamp(run.updated_at),
        "state": state,
        "pipeline": {
            "id": pipeline_id(run),
            "displayName": truncate(run.pipeline.name, MAX_TEXT),
            "url": pipeline_url,
        },
        "environment": {
            "id": environment_id(environment.name, environment.id),
            "displayName": truncate(environment.name, MAX_TEXT),
            "type": environment_type(environment.name, environment.type),
        },
    }
    label = run.label or run.texts.branch
    if label:
        deployment["label"] = truncate(label, MAX_TEXT)
    if run.started_at is not None and is_final(state):
        seconds = int((run.updated_at - run.started_at).total_seconds())
        if seconds >= 0:
            deployment["duration"] = seconds
    return deployment


def entity_identity(kind: str, entity: dict[str, Any]) -> tuple[Any, ...]:
    """What Jira identifies the entity by: two entities with the same identity are one."""
    if kind == "build":
        return (entity["pipelineId"], entity["buildNumber"])
    return (entity["pipeline"]["id"], entity["environment"]["id"], entity["deploymentSequenceNumber"])

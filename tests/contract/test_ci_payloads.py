"""What CI reporting sends to Jira, validated against Atlassian's Jira Software spec (openapi-core).

The reporter runs for real with the real builds/deployments client (OAuth gateway form and Connect
form), HTTP captured with ``responses``; every bulk request is validated as the team validates the
client's own requests (``test_jira_client_requests``: the Authorization ``JWT \\S+`` trap widened
to Bearer, the gateway path mapped onto the spec's). Generated runs (hypothesis) are checked against
the spec's entity schemas, so truncation, caps and ids hold for any input.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_core import OpenAPI

from jira_bridge.ci.config import NativeSources
from jira_bridge.ci.model import CiRun, Environment, KeyTexts, Pipeline, TestCounts
from jira_bridge.ci.payloads import build_data, deployment_data
from jira_bridge.ci.reporting import CiReporter
from jira_bridge.ci.sites import CiSite, SiteDirectory
from jira_bridge.ci.sources import codebuild, codepipeline, github, gitlab
from jira_bridge.ci.sources.generic import parse_body, to_run
from jira_bridge.jira.client import JiraClient
from jira_bridge.jira.software import JiraSoftwareClient
from jira_sim.contracts import Contracts
from tests.contract.contracts import CONTRACTS
from tests.contract.test_jira_client_requests import (  # the team's spec loading and validation
    CLOUD_ID,
    GATEWAY,
    SITE,
    Captured,
    _as_site_path,
    _client,
    _validate,
    captured,
    software_spec,
)

pytestmark = [pytest.mark.contract, pytest.mark.disable_socket]

__all__ = ["captured", "software_spec"]  # fixtures imported for this module's tests
T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
LONG = "Überprüfung der Zahlungsströme 🚀 " * 20  # 640 characters, multi-byte


def _mock_jira(captured: Captured) -> None:
    mock = captured.mock
    mock.get(f"{SITE}/_edge/tenant_info", json={"cloudId": CLOUD_ID})
    mock.post(f"{GATEWAY}/oauth/token", json={"access_token": "eyJ.token.value", "expires_in": 3600})
    for base in (f"{GATEWAY}/jira/{{}}/0.1/cloud/{CLOUD_ID}", f"{SITE}/rest/{{}}/0.1"):
        mock.post(base.format("builds") + "/bulk", status=202, json={"acceptedBuilds": []})
        mock.post(base.format("deployments") + "/bulk", status=202, json={"acceptedDeployments": []})


def _reporter(software: JiraSoftwareClient, platform: JiraClient) -> CiReporter:
    site = CiSite("default", SITE, platform, software)
    return CiReporter(SiteDirectory(lambda _project: "default", lambda _name: site))


def _notifications() -> list[CiRun]:
    many = " ".join(f"OPS-{n}" for n in range(1, 700))
    body = {"notifications": [
        {"pipeline": {"id": "p" * 400, "name": LONG, "url": "https://ci.example.com/p"}, "build_number": 2**62,
         "url": "https://ci.example.com/run?" + "q=1&" * 505, "state": "UNSTABLE", "pr_title": LONG,
         "commits": [{"id": "9f1c2e4", "message": f"{many}\n\n{LONG}"}], "branch": LONG,
         "repository_url": "https://github.com/acme/shop", "display_name": LONG, "label": LONG,
         "tests": {"total": 10, "passed": 7, "failed": 2, "skipped": 1}},
        {"pipeline": {"name": "shop CD"}, "build_number": 7, "url": "https://ci.example.com/7", "state": "rollback",
         "ENVIRONMENT_NAME": LONG, "ENVIRONMENT_TYPE": "prod", "commits": [many], "started_at": "2026-11-23T02:00:00Z",
         "updated_at": "2026-11-23T03:00:00Z"},
        {"pipeline": {"name": "shop CD"}, "build_number": 8, "url": "https://ci.example.com/8", "state": "queued",
         "ENVIRONMENT_NAME": "staging", "ENVIRONMENT_ID": "e" * 300, "commits": ["OPS-1"]},
        {"pipeline": {"name": "shop CI"}, "build_number": 0, "url": "https://ci.example.com/0", "state": "weird",
         "ISSUE_KEYS": ["ops-5"]},
    ]}
    return [to_run(n, T0) for n in parse_body(json.dumps(body).encode())]


def _bulk(captured: Captured) -> list[Any]:
    return [r for r in captured.requests() if urlsplit(r.url or "").path.endswith("/bulk")]


def test_oauth_reporting_matches_the_software_spec(captured: Captured, software_spec: OpenAPI) -> None:
    _mock_jira(captured)
    platform = _client()
    software = JiraSoftwareClient.with_oauth(SITE, "client-id", "client-secret", like=platform.transport)
    outcome = _reporter(software, platform).report(_notifications())
    requests = _bulk(captured)
    assert [urlsplit(r.url or "").netloc for r in requests] == ["api.atlassian.com"] * 2
    for request in requests:
        assert request.headers["Authorization"] == "Bearer eyJ.token.value"
        _validate(software_spec, _as_site_path(request))
    builds = json.loads(requests[0].body)["builds"]
    assert [len(b["issueKeys"]) for b in builds] == [100, 1]
    assert len(builds[0]["displayName"]) == len(builds[0]["pipelineId"]) == 255
    deployments = json.loads(requests[1].body)["deployments"]
    assert len(deployments[0]["associations"][0]["values"]) == 500
    assert [d["state"] for d in deployments] == ["rolled_back", "pending"]
    assert [b["state"] for b in builds] == ["failed", "unknown"]
    assert outcome.count("reported") == 4


def test_connect_reporting_matches_the_software_spec(captured: Captured, software_spec: OpenAPI) -> None:
    _mock_jira(captured)
    platform = _client()
    software = JiraSoftwareClient.with_connect(SITE, "com.example.jira-bridge",
                                               "connect-shared-secret-0123456789abcdef", like=platform.transport)
    _reporter(software, platform).report(_notifications())
    requests = _bulk(captured)
    assert [urlsplit(r.url or "").path for r in requests] == ["/rest/builds/0.1/bulk", "/rest/deployments/0.1/bulk"]
    for request in requests:
        assert request.headers["Authorization"].startswith("JWT ")
        _validate(software_spec, request)


def _sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CONTRACTS / "ci" / name).read_text())
    return data.get("payload", data)


def test_native_source_payloads_match_the_software_spec(captured: Captured, software_spec: OpenAPI) -> None:
    if not (CONTRACTS / "ci").is_dir():
        pytest.skip("../shared/contracts/ci not found")
    native = NativeSources.model_validate({"deployments": {"myPipeline": {"environment": "Production EU"}}})
    build_event = _sample("aws-codebuild/codebuild-build-state-change.succeeded.aws-lambda-go.json")
    build_event["detail"]["additional-information"]["source-version"] = "feature/OPS-1"
    pipeline_event = _sample("aws-codepipeline/codepipeline-pipeline-execution-state-change.failed.awsdocs.json")
    pipeline_event["detail"]["execution-trigger"] = {"commit-message": "OPS-2 release"}
    workflow = _sample("github/workflow_run.in_progress.push.wrapped.pkg-pr-new.json")
    workflow["workflow_run"]["head_commit"]["message"] = "OPS-3 chaotic branch names"
    deployment = _sample("github/deployment_status.in_progress.gh-pages.octokit.json")
    deployment["deployment"]["ref"] = "OPS-4"
    runs = [
        codebuild.to_run(codebuild.CodeBuildEvent.model_validate(build_event), native),
        codepipeline.to_run(codepipeline.CodePipelineEvent.model_validate(pipeline_event), native),
        github.workflow_run(github.WorkflowRunEvent.model_validate(workflow), native, T0),
    ]
    gh_deployment = github.deployment_status(github.DeploymentStatusEvent.model_validate(deployment), native, T0)
    assert gh_deployment is not None
    runs.append(gh_deployment)
    gitlab_pipeline = _sample("gitlab/pipeline-hook.success.go-gitlab.json")
    gitlab_pipeline["merge_request"]["title"] = "OPS-5 merge request"
    gitlab_deployment = _sample("gitlab/deployment-hook.go-gitlab.json")
    gitlab_deployment["commit_title"] = "OPS-6 deploy"
    runs += [
        gitlab.pipeline_run(gitlab.PipelineHook.model_validate(gitlab_pipeline), native, T0),
        gitlab.deployment_run(gitlab.DeploymentHook.model_validate(gitlab_deployment), native, T0),
    ]
    _mock_jira(captured)
    platform = _client()
    software = JiraSoftwareClient.with_oauth(SITE, "client-id", "client-secret", like=platform.transport)
    outcome = _reporter(software, platform).report(runs)
    assert outcome.count("reported") == 6
    for request in _bulk(captured):
        _validate(software_spec, _as_site_path(request))


# ----- any run -------------------------------------------------------------------------------------

_text = st.text(max_size=400)
_runs = st.builds(
    CiRun,
    source=st.sampled_from(["notify", "github", "gitlab", "codebuild", "codepipeline"]),
    pipeline=st.builds(Pipeline, id=st.text(min_size=1, max_size=400), name=st.text(min_size=1, max_size=400),
                       url=st.none() | st.just("https://ci.example.com/pipeline")),
    number=st.integers(0, 2**63 - 1),
    url=st.just("https://ci.example.com/run/1"),
    state=st.sampled_from(["success", "failed", "running", "queued", "aborted", "rollback", "??", ""]),
    updated_at=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    attempt=st.integers(1, 10_000),
    started_at=st.none() | st.just(T0 - timedelta(minutes=3)),
    display_name=st.none() | _text,
    description=st.none() | _text,
    label=st.none() | _text,
    environment=st.none() | st.builds(Environment, name=st.text(min_size=1, max_size=400),
                                      id=st.none() | st.text(min_size=1, max_size=400), type=st.none() | _text),
    texts=st.builds(KeyTexts, pr_title=st.none() | _text, commit_messages=st.lists(_text, max_size=3).map(tuple),
                    branch=st.none() | _text),
    commit=st.none() | st.text(min_size=1, max_size=300),
    repository_url=st.none() | st.just("https://github.com/acme/shop"),
    tests=st.none() | st.builds(TestCounts, total=st.integers(0, 99), passed=st.integers(0, 99),
                                failed=st.integers(0, 99), skipped=st.none() | st.integers(0, 99)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_runs, st.lists(st.from_regex(r"[A-Z][A-Z0-9_]{0,9}-[1-9][0-9]{0,5}", fullmatch=True), min_size=1,
                       max_size=600))
def test_any_run_makes_a_schema_valid_entity(run: CiRun, keys: list[str]) -> None:
    if not (CONTRACTS / "jira-software-builds-deployments.openapi.json").is_file():
        pytest.skip("the software spec is not in ../shared/contracts")
    contracts = Contracts(Path(CONTRACTS))
    from jira_bridge.ci.states import jira_state

    state = jira_state(run.state, run.kind)
    if run.kind == "build":
        entity, kind = build_data(run, state, keys), "builds"
    else:
        entity, kind = deployment_data(run, state, keys), "deployments"
    errors = [e.message for e in contracts.software_entity_validator(kind).iter_errors(entity)]
    assert not errors, errors

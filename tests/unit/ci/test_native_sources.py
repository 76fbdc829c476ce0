"""CodeBuild, CodePipeline and GitHub events, from the real samples in ../shared/contracts/ci."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from jira_bridge.ci.config import NativeSources
from jira_bridge.ci.payloads import build_data
from jira_bridge.ci.reporting import issue_keys_for
from jira_bridge.ci.sources import codebuild, codepipeline, github, gitlab
from jira_bridge.ci.states import jira_state

pytestmark = pytest.mark.unit

CI = Path(__file__).resolve().parents[3].parent / "shared" / "contracts" / "ci"
NONE = NativeSources()
RECEIVED = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
CODEBUILD = "aws-codebuild/codebuild-build-state-change.succeeded.aws-lambda-go.json"


def sample(name: str) -> dict[str, Any]:
    path = CI / name
    if not path.is_file():
        pytest.skip(f"{path} not found (expected ../shared/contracts next to the repo)")
    data: dict[str, Any] = json.loads(path.read_text())
    return data.get("payload", data)  # the pkg-pr-new fixtures wrap the body in "payload"


# ----- CodeBuild -----------------------------------------------------------------------------------


def test_codebuild_sample() -> None:
    event = codebuild.CodeBuildEvent.model_validate(sample(CODEBUILD))
    run = codebuild.to_run(event, NONE)
    assert run.kind == "build"
    assert run.pipeline.id == "arn:aws:codebuild:us-west-2:123456789012:project/my-sample-project"
    assert run.number == 55  # "build-number": 55.0
    assert jira_state(run.state) == "successful"
    assert run.updated_at == datetime(2017, 9, 1, 16, 14, 28, tzinfo=UTC)
    assert run.started_at == datetime(2017, 9, 1, 16, 12, 29, tzinfo=UTC)
    assert run.url.startswith("https://us-west-2.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/")
    assert issue_keys_for(run) == []  # "my-source-version" names no issue


def test_codebuild_keys_from_branch_and_variables_and_number_from_start_time() -> None:
    data = sample(CODEBUILD)
    info = data["detail"]["additional-information"]
    info["source-version"] = "refs/heads/feature/OPS-12-login"
    del info["build-number"]
    info["environment"]["environment-variables"] += [
        {"name": "JIRA_ISSUE_KEYS", "type": "PLAINTEXT", "value": "OPS-3"},
        {"name": "PR_TITLE", "type": "PARAMETER_STORE", "value": "/ssm/OPS-99"},  # a parameter name, not text
    ]
    data["detail"]["build-status"] = "IN_PROGRESS"
    run = codebuild.to_run(codebuild.CodeBuildEvent.model_validate(data), NativeSources(project="OPS"))
    assert issue_keys_for(run) == ["OPS-12", "OPS-3"]
    assert run.label == "feature/OPS-12-login"
    assert run.number == int(datetime(2017, 9, 1, 16, 12, 29, tzinfo=UTC).timestamp())
    assert jira_state(run.state) == "in_progress"


def test_codebuild_project_configured_as_a_deployment() -> None:
    native = NativeSources.model_validate({"deployments": {"my-sample-project": {"environment": "Staging EU"}}})
    event = codebuild.CodeBuildEvent.model_validate(sample(CODEBUILD))
    run = codebuild.to_run(event, native)
    assert run.kind == "deployment"
    assert run.environment is not None
    assert run.environment.name == "Staging EU"


# ----- CodePipeline ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("codepipeline-pipeline-execution-state-change.started.awsdocs.json", "in_progress"),
        ("codepipeline-pipeline-execution-state-change.succeeded.awsdocs.json", "successful"),
        ("codepipeline-pipeline-execution-state-change.failed.awsdocs.json", "failed"),
        ("codepipeline-pipeline-execution-state-change.started.aws-lambda-go.json", "in_progress"),
    ],
)
def test_codepipeline_samples(name: str, state: str) -> None:
    run = codepipeline.to_run(codepipeline.CodePipelineEvent.model_validate(sample(f"aws-codepipeline/{name}")), NONE)
    assert jira_state(run.state) == state
    assert run.pipeline.name == "myPipeline"
    assert run.pipeline.id.endswith(":myPipeline")
    assert ":pipeline:" not in run.pipeline.id
    assert issue_keys_for(run) == []  # these events carry no commit


def test_codepipeline_execution_keeps_its_number_across_state_changes() -> None:
    started = sample("aws-codepipeline/codepipeline-pipeline-execution-state-change.started.awsdocs.json")
    done = sample("aws-codepipeline/codepipeline-pipeline-execution-state-change.succeeded.awsdocs.json")
    numbers = {codepipeline.to_run(codepipeline.CodePipelineEvent.model_validate(e), NONE).number
               for e in (started, done)}
    assert len(numbers) == 1


def test_codepipeline_git_trigger_fields_and_start_time() -> None:
    data = sample("aws-codepipeline/codepipeline-pipeline-execution-state-change.started.awsdocs.json")
    data["detail"]["start-time"] = "2026-11-23T02:59:00Z"
    data["detail"]["pipeline-execution-attempt"] = 2.0
    data["detail"]["execution-trigger"] = {
        "trigger-type": "Webhook", "commit-id": "abc", "commit-message": "OPS-7 release", "branch-name": "main",
        "full-repository-name": "org/shop", "provider-type": "GitHub"}
    native = NativeSources.model_validate({"deployments": {"myPipeline": {"environment": "production"}}})
    run = codepipeline.to_run(codepipeline.CodePipelineEvent.model_validate(data), native)
    assert issue_keys_for(run) == ["OPS-7"]
    assert run.number == int(datetime(2026, 11, 23, 2, 59, tzinfo=UTC).timestamp())
    assert run.attempt == 2
    assert run.kind == "deployment"
    assert run.repository_url == "https://github.com/org/shop"
    assert run.commit == "abc"


# ----- GitHub ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "state", "number", "attempt"),
    [
        ("workflow_run.requested.octokit.json", "pending", 163, 1),
        ("workflow_run.completed.success.octokit.json", "successful", 163, 1),
        ("workflow_run.completed.success.with-pull-requests.octokit.json", "successful", 163, 1),
        ("workflow_run.in_progress.body.cogni.json", "in_progress", 189, 1),
        ("workflow_run.completed.failure.wrapped.pkg-pr-new.json", "failed", 32, 1),
        ("workflow_run.in_progress.push.wrapped.pkg-pr-new.json", "in_progress", 400, 2),
    ],
)
def test_workflow_run_samples(name: str, state: str, number: int, attempt: int) -> None:
    event = github.WorkflowRunEvent.model_validate(sample(f"github/{name}"))
    run = github.workflow_run(event, NONE, RECEIVED)
    assert (jira_state(run.state), run.number, run.attempt, run.kind) == (state, number, attempt, "build")
    workflow = event.workflow_run.workflow_id
    assert run.pipeline.id == f"github.com/{event.repository.full_name}/actions/workflows/{workflow}"
    assert run.updated_at == event.workflow_run.updated_at


def test_workflow_run_keys_from_pr_title_head_commit_and_branches() -> None:
    data = sample("github/workflow_run.completed.success.with-pull-requests.octokit.json")
    data["workflow_run"]["display_title"] = "[OPS-1] Faster checkout"
    data["workflow_run"]["head_commit"]["message"] = "OPS-2: cache\n\nAlso ops-3"
    data["workflow_run"]["pull_requests"][0]["head"]["ref"] = "feature/OPS-4-x"
    run = github.workflow_run(github.WorkflowRunEvent.model_validate(data), NONE, RECEIVED)
    assert issue_keys_for(run) == ["OPS-1", "OPS-2", "OPS-3", "OPS-4"]
    assert run.branch_url == "https://github.com/octo-org/octo-repo/tree/master"
    assert run.pull_request_url == "https://github.com/octo-org/octo-repo/pull/2"
    (reference,) = build_data(run, "successful", ["OPS-1"])["references"]
    assert reference["ref"] == {"name": "master", "uri": "https://github.com/octo-org/octo-repo/pull/2"}


def test_workflow_run_without_pull_request_links_the_branch() -> None:
    data = sample("github/workflow_run.completed.success.octokit.json")
    data["workflow_run"]["pull_requests"] = []
    data["workflow_run"]["head_branch"] = "feature/OPS-4 #x"
    run = github.workflow_run(github.WorkflowRunEvent.model_validate(data), NONE, RECEIVED)
    (reference,) = build_data(run, "successful", ["OPS-4"])["references"]
    assert reference["ref"]["uri"] == f"{data['repository']['html_url']}/tree/feature/OPS-4%20%23x"


@pytest.mark.parametrize(
    ("name", "environment", "state"),
    [
        ("deployment_status.success.octokit.json", "production", "successful"),
        ("deployment_status.in_progress.gh-pages.octokit.json", "github-pages", "in_progress"),
    ],
)
def test_deployment_status_samples(name: str, environment: str, state: str) -> None:
    event = github.DeploymentStatusEvent.model_validate(sample(f"github/{name}"))
    run = github.deployment_status(event, NONE, RECEIVED)
    assert run is not None
    assert run.environment is not None
    assert (run.environment.name, jira_state(run.state, "deployment"), run.number) == (environment, state, 145988746)
    assert run.url.startswith("https://github.com/")


def test_deployment_status_keys_from_ref_and_inactive_is_not_reported() -> None:
    data = sample("github/deployment_status.success.octokit.json")
    data["deployment"]["ref"] = "release/OPS-5"
    run = github.deployment_status(github.DeploymentStatusEvent.model_validate(data), NONE, RECEIVED)
    assert run is not None
    assert issue_keys_for(run) == ["OPS-5"]
    data["deployment_status"]["state"] = "inactive"
    assert github.deployment_status(github.DeploymentStatusEvent.model_validate(data), NONE, RECEIVED) is None


# ----- GitLab ------------------------------------------------------------------------------------------

GITLAB_PIPELINE = "gitlab/pipeline-hook.success.go-gitlab.json"
GITLAB_DEPLOYMENT = "gitlab/deployment-hook.go-gitlab.json"


def test_gitlab_pipeline_hook_sample_is_a_build_linking_its_merge_request() -> None:
    data = sample(GITLAB_PIPELINE)
    run = gitlab.pipeline_run(gitlab.PipelineHook.model_validate(data), NONE, RECEIVED)
    assert (run.kind, jira_state(run.state), run.number) == ("build", "successful", 123)
    assert run.pipeline.id == "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/pipelines"
    assert run.url == "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/pipelines/31"
    assert run.updated_at == datetime(2016, 8, 12, 15, 26, 29, tzinfo=UTC)  # finished_at "... UTC"
    assert run.started_at == datetime(2016, 8, 12, 15, 23, 28, tzinfo=UTC)
    assert (run.texts.pr_title, run.texts.branch, run.texts.commit_messages) == ("Test", "test", ("test\n",))
    (reference,) = build_data(run, "successful", ["OPS-1"])["references"]
    assert reference["ref"] == {"name": "test",
                                "uri": "http://192.168.64.1:3005/gitlab-org/gitlab-test/merge_requests/1"}
    assert reference["commit"]["id"] == "bcbb5ec396a2c0f828686f14fac9b80b780504f2"


def test_gitlab_pipeline_keys_from_merge_request_commit_and_branches() -> None:
    data = sample(GITLAB_PIPELINE)
    data["merge_request"]["title"] = "OPS-1 Faster checkout"
    data["commit"]["message"] = "ops-2: cache"
    data["merge_request"]["source_branch"] = "feature/OPS-3-x"
    data["object_attributes"]["ref"] = "refs/merge-requests/1/head"
    del data["merge_request"]["url"]
    run = gitlab.pipeline_run(gitlab.PipelineHook.model_validate(data), NONE, RECEIVED)
    assert issue_keys_for(run) == ["OPS-1", "OPS-2", "OPS-3"]
    assert build_data(run, "successful", ["OPS-1"])["references"][0]["ref"]["uri"] == (
        "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/tree/feature/OPS-3-x")


def test_gitlab_running_pipeline_is_as_of_its_delivery() -> None:
    data = sample(GITLAB_PIPELINE)
    data["object_attributes"].update(status="running", finished_at=None)
    run = gitlab.pipeline_run(gitlab.PipelineHook.model_validate(data), NONE, RECEIVED)
    assert (jira_state(run.state), run.updated_at) == ("in_progress", RECEIVED)


def test_gitlab_deployment_hook_sample_is_a_deployment() -> None:
    run = gitlab.deployment_run(gitlab.DeploymentHook.model_validate(sample(GITLAB_DEPLOYMENT)), NONE, RECEIVED)
    assert (run.kind, jira_state(run.state, "deployment"), run.number) == ("deployment", "successful", 15)
    assert run.environment is not None
    assert run.environment.name == "staging"
    assert run.updated_at == datetime(2021, 4, 28, 19, 50, tzinfo=UTC)  # "21:50:00 +0200"
    assert run.commit == "279484c09fbe69ededfced8c1bb6e6d24616b468"
    assert run.url == "http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796"
    assert run.pipeline.id == "http://10.126.0.2:3000/root/test-deployment-webhooks/-/environments"
    assert run.texts.branch == "1.0.0"


def test_gitlab_hooks_of_the_wrong_kind_are_refused() -> None:
    with pytest.raises(ValueError, match="object_kind"):
        gitlab.PipelineHook.model_validate(sample(GITLAB_DEPLOYMENT))

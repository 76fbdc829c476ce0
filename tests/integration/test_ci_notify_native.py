"""The native sources, with the real samples in ../shared/contracts/ci: CodeBuild and CodePipeline state
changes through the EventBridge rules template.yaml puts on the default bus, and signed GitHub webhooks."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jira_bridge import adapters
from jira_bridge.ci.environments import environment_id
from jira_bridge.ci.errors import DeliveryFailed
from jira_bridge.jira.errors import JiraUnavailable
from jira_bridge.settings import load_settings
from local_runtime.environment import (
    LOCAL_GITLAB_WEBHOOK_TOKEN,
    LocalEnvironment,
    local_ci_callers,
    simulator_connector_secret,
)
from tests.integration.ci_support import bulk_requests, github, open_issues

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT.parent / "shared" / "contracts" / "ci"
CODEBUILD = "aws-codebuild/codebuild-build-state-change.succeeded.aws-lambda-go.json"
# Published with the capture (Cogni-DAO/cogni-git-review fixtures/github/workflow_run/AGENTS.md).
COGNI_SECRET = "402786017574bd28f9d8f7a18648939751c47fe09077d56e10f0444f14fbb73b"


def sample(name: str) -> dict[str, Any]:
    path = CI / name
    if not path.is_file():
        pytest.skip(f"{path} not found (expected ../shared/contracts next to the repo)")
    data: dict[str, Any] = json.loads(path.read_text())
    return data.get("payload", data)


@pytest.fixture
def issues(env: LocalEnvironment) -> list[str]:
    keys = open_issues(env, 2)
    env.jira.reset_log()
    return keys


def publish(env: LocalEnvironment, event: dict[str, Any]) -> None:
    """Put the event on the default bus the way the AWS service does, and run the rule's deliveries."""
    env.put_events([{"Source": event["source"], "DetailType": event["detail-type"], "Detail": event["detail"],
                     "Resources": event.get("resources", [])}])
    env.drain()


def invocations(env: LocalEnvironment) -> list[Any]:
    return [i for i in env.runner.invocations if i.function == "CiNotifyFunction"]


# ----- CodeBuild ----------------------------------------------------------------------------------------


def test_codebuild_build_reaches_the_issue_through_the_default_bus(env: LocalEnvironment, issues: list[str]) -> None:
    event = json.loads((ROOT / "events" / "codebuild-build-state-change.eventbridge.json").read_text())
    running = json.loads(json.dumps(event))
    running["detail"]["build-status"] = "IN_PROGRESS"
    running["time"] = "2017-09-01T16:12:30Z"
    publish(env, running)
    publish(env, event)
    assert [i.error for i in invocations(env)] == [None, None]
    pipeline = "arn:aws:codebuild:us-west-2:123456789012:project/my-sample-project"
    build = env.jira.build(pipeline, 55)
    assert build is not None
    assert (build["state"], build["issueKeys"], build["label"]) == ("successful", ["OPS-1"],
                                                                   "feature/OPS-1-faster-checkout")
    assert bulk_requests(env) == 2


def test_codebuild_real_sample_has_no_key_and_calls_no_jira(env: LocalEnvironment, issues: list[str]) -> None:
    publish(env, sample(CODEBUILD))
    (invocation,) = invocations(env)
    assert invocation.result["results"][0]["status"] == "skipped"
    assert env.jira.count() == 0


def test_rule_pattern_lets_only_state_changes_through(env: LocalEnvironment, issues: list[str]) -> None:
    phase = sample(CODEBUILD)
    phase["detail-type"] = "CodeBuild Build Phase Change"
    publish(env, phase)
    assert invocations(env) == []


def test_eventbridge_redelivery_is_reported_once(env: LocalEnvironment, issues: list[str]) -> None:
    event = json.loads((ROOT / "events" / "codebuild-build-state-change.eventbridge.json").read_text())
    first = env.runner.invoke("CiNotifyFunction", event)
    again = env.runner.invoke("CiNotifyFunction", event)
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert bulk_requests(env) == 1


def test_transient_jira_failure_raises_so_lambda_retries(env: LocalEnvironment, issues: list[str]) -> None:
    event = json.loads((ROOT / "events" / "codebuild-build-state-change.eventbridge.json").read_text())
    env.jira.faults.server_error(503, count=None, retry_after=120, path="/jira/builds/*")
    with pytest.raises(JiraUnavailable):
        env.runner.invoke("CiNotifyFunction", event)
    env.jira.faults.clear()
    assert env.runner.invoke("CiNotifyFunction", event)["results"][0]["status"] == "reported"


def test_credentials_error_raises_so_lambda_retries_and_the_failure_destination_gets_it(
    env: LocalEnvironment, issues: list[str]
) -> None:
    """An ``error`` outcome (here Jira refusing the bridge's OAuth client) fails the async invocation
    instead of being cached as the event's outcome: Lambda retries it, then sends it to CiEventsFailures
    (alarmed), and a retry after the connector is fixed reports."""
    event = json.loads((ROOT / "events" / "codebuild-build-state-change.eventbridge.json").read_text())
    good = simulator_connector_secret(env.jira)
    env.aws.put_secret(env.connector_secret_name("default"),
                       {**good, "oauth_client_secret": "not-the-client-secret-0123456789"})
    with pytest.raises(DeliveryFailed, match="1 of 1 runs not reported"):
        env.runner.invoke("CiNotifyFunction", event)
    with pytest.raises(DeliveryFailed):  # Lambda's retry: nothing was recorded
        env.runner.invoke("CiNotifyFunction", event)
    env.aws.put_secret(env.connector_secret_name("default"), good)
    adapters.reset()  # the function's secret cache expires (SECRET_CACHE_SECONDS)
    answer = env.runner.invoke("CiNotifyFunction", event)
    assert (answer["duplicate"], answer["results"][0]["status"]) == (False, "reported")


# ----- CodePipeline ------------------------------------------------------------------------------------


@pytest.fixture
def pipeline_deploys(env: LocalEnvironment, tmp_path: Path) -> Iterator[None]:
    """config/ci.yaml naming myPipeline as the production deployment pipeline."""
    for name in ("connectors.yaml",):
        (tmp_path / name).write_text((ROOT / "config" / name).read_text())
    (tmp_path / "ci.yaml").write_text("native:\n  deployments:\n    myPipeline: {environment: Production}\n")
    env.runner.env_overrides["CiNotifyFunction"] = {"CONFIG_DIR": str(tmp_path)}
    load_settings.cache_clear()
    adapters.reset()
    yield
    del env.runner.env_overrides["CiNotifyFunction"]
    load_settings.cache_clear()
    adapters.reset()


@pytest.mark.parametrize("name", [
    "codepipeline-pipeline-execution-state-change.started.awsdocs.json",
    "codepipeline-pipeline-execution-state-change.succeeded.awsdocs.json",
    "codepipeline-pipeline-execution-state-change.failed.awsdocs.json",
    "codepipeline-pipeline-execution-state-change.started.aws-lambda-go.json",
])
def test_codepipeline_real_samples_carry_no_commit_and_call_no_jira(
    env: LocalEnvironment, issues: list[str], name: str
) -> None:
    publish(env, sample(f"aws-codepipeline/{name}"))
    (invocation,) = invocations(env)
    assert invocation.error is None
    assert invocation.result["results"][0]["status"] == "skipped"
    assert env.jira.count() == 0


def test_codepipeline_execution_deploys_to_the_configured_environment(
    env: LocalEnvironment, issues: list[str], pipeline_deploys: None
) -> None:
    trigger = {"trigger-type": "Webhook", "commit-id": "9f1c2e4", "commit-message": "OPS-2: release the basket cache",
               "branch-name": "main", "full-repository-name": "acme/shop", "provider-type": "GitHub"}
    for name in ("started", "succeeded"):
        event = sample(f"aws-codepipeline/codepipeline-pipeline-execution-state-change.{name}.awsdocs.json")
        event["detail"]["execution-trigger"] = trigger
        event["detail"]["start-time"] = "2020-01-24T22:03:07Z"
        publish(env, event)
    (deployment,) = env.jira.development_info("OPS-2")["deployments"]
    assert deployment["state"] == "successful"
    assert deployment["environment"] == {"id": environment_id("Production"), "displayName": "Production",
                                         "type": "production"}
    assert deployment["pipeline"]["id"] == "arn:aws:codepipeline:us-east-1:123456789012:myPipeline"
    assert bulk_requests(env, "deployments") == 2


# ----- GitHub -----------------------------------------------------------------------------------------------


def test_real_signed_github_delivery_is_verified(env: LocalEnvironment, issues: list[str]) -> None:
    """The captured delivery, byte for byte, with GitHub's own signature (no issue key in it)."""
    capture = sample("github/workflow_run.in_progress.capture.cogni.json")
    body = base64.b64decode(capture["body_raw_base64"])
    env.aws.put_secret(env.ci_callers_secret_name(), {**local_ci_callers(),
                                                                 "github_webhook_secret": COGNI_SECRET})
    import requests

    headers = {k: v for k, v in capture["headers"].items() if k.startswith(("x-", "content-type", "user-agent"))}
    response = requests.post(env.api.url("/webhooks/github"), data=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    assert response.json()["results"][0]["status"] == "skipped"
    assert env.jira.count() == 0
    forged = github(env, "workflow_run", body, secret="not-the-secret")
    assert forged.status_code == 401
    unsigned = requests.post(env.api.url("/webhooks/github"), data=body, timeout=30,
                             headers={"X-GitHub-Event": "workflow_run"})
    assert unsigned.status_code == 401


def test_workflow_run_build_reaches_the_issue_once(env: LocalEnvironment, issues: list[str]) -> None:
    event = json.loads((ROOT / "events" / "github-workflow-run.signed.apigw.json").read_text())
    answer = env.runner.invoke("CiNotifyFunction", event)
    assert answer["statusCode"] == 202, answer
    assert env.runner.invoke("CiNotifyFunction", event)["statusCode"] == 202  # redelivered: same X-GitHub-Delivery
    build = env.jira.build("github.com/octo-org/octo-repo/actions/workflows/2823525", 163)
    assert build is not None
    assert (build["state"], build["issueKeys"]) == ("successful", ["OPS-1"])
    head_sha = json.loads(event["body"])["workflow_run"]["head_sha"]
    assert build["references"][0]["commit"] == {"id": head_sha, "repositoryUri": "https://github.com/octo-org/octo-repo"}
    assert bulk_requests(env) == 1


def test_workflow_run_samples_in_their_states(env: LocalEnvironment, issues: list[str]) -> None:
    states = []
    for number, name in enumerate(["workflow_run.requested.octokit.json",
                                   "workflow_run.in_progress.push.wrapped.pkg-pr-new.json",
                                   "workflow_run.completed.failure.wrapped.pkg-pr-new.json"]):
        data = sample(f"github/{name}")
        data["workflow_run"]["display_title"] = f"OPS-1 {data['workflow_run']['display_title']}"
        response = github(env, "workflow_run", json.dumps(data).encode(), delivery=f"d-{number}")
        assert response.status_code == 202, response.text
        states.append(response.json()["results"][0]["state"])
    assert states == ["pending", "in_progress", "failed"]


def test_deployment_status_reaches_the_issue(env: LocalEnvironment, issues: list[str]) -> None:
    data = sample("github/deployment_status.success.octokit.json")
    data["deployment"]["ref"] = "release/OPS-2"
    response = github(env, "deployment_status", json.dumps(data).encode())
    assert response.status_code == 202, response.text
    (deployment,) = env.jira.development_info("OPS-2")["deployments"]
    assert deployment["environment"]["displayName"] == "production"
    assert deployment["environment"]["type"] == "production"
    assert deployment["deploymentSequenceNumber"] == 145988746
    data["deployment_status"]["state"] = "inactive"
    inactive = github(env, "deployment_status", json.dumps(data).encode(), delivery="d-2")
    assert inactive.status_code == 202
    assert "inactive" in inactive.json()["message"]
    assert bulk_requests(env, "deployments") == 1


def test_other_github_events_and_per_repository_secrets(env: LocalEnvironment, issues: list[str]) -> None:
    secrets = local_ci_callers()  # put before the first call: the function caches secrets for 5 minutes
    secrets["callers"]["acme/shop"] = {"hmac_secret": "acme-shop-webhook-secret-0123"}
    env.aws.put_secret(env.ci_callers_secret_name(), secrets)
    assert github(env, "ping", b'{"zen": "Design for failure."}').json() == {"message": "pong"}
    assert github(env, "push", b"{}").status_code == 202
    assert github(env, "workflow_run", b'{"action": "completed"}').status_code == 400
    body = b'{"zen": "Keep it logically awesome."}'
    signed = github(env, "ping", body, secret="acme-shop-webhook-secret-0123", query="?caller=acme/shop")
    assert signed.status_code == 200
    assert github(env, "ping", body, query="?caller=acme/shop").status_code == 401
    assert env.jira.count() == 0


# ----- GitLab -----------------------------------------------------------------------------------------------


def gitlab_hook(env: LocalEnvironment, event: str, body: dict[str, Any], token: str | None = LOCAL_GITLAB_WEBHOOK_TOKEN,
                delivery: str = "e1c3-1") -> Any:
    import requests

    headers = {"Content-Type": "application/json", "X-Gitlab-Event": event, "Idempotency-Key": delivery}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    return requests.post(env.api.url("/webhooks/gitlab"), data=json.dumps(body), headers=headers, timeout=30)


def test_gitlab_samples_report_a_build_and_a_deployment(env: LocalEnvironment, issues: list[str]) -> None:
    pipeline = sample("gitlab/pipeline-hook.success.go-gitlab.json")
    pipeline["merge_request"]["title"] = "OPS-1 Faster checkout"
    built = gitlab_hook(env, "Pipeline Hook", pipeline)
    assert built.status_code == 202, built.text
    assert built.json()["results"][0]["status"] == "reported"
    (build,) = env.jira.development_info("OPS-1")["builds"]
    assert (build["buildNumber"], build["state"]) == (123, "successful")
    assert build["references"][0]["ref"]["uri"] == "http://192.168.64.1:3005/gitlab-org/gitlab-test/merge_requests/1"

    deployment = sample("gitlab/deployment-hook.go-gitlab.json")
    deployment["commit_title"] = "OPS-2: add new file"
    deployed = gitlab_hook(env, "Deployment Hook", deployment, delivery="e1c3-2")
    assert deployed.status_code == 202, deployed.text
    (stored,) = env.jira.development_info("OPS-2")["deployments"]
    assert (stored["deploymentSequenceNumber"], stored["state"]) == (15, "successful")
    assert stored["environment"]["type"] == "staging"
    assert bulk_requests(env, "builds") == 1
    assert bulk_requests(env, "deployments") == 1

    again = gitlab_hook(env, "Deployment Hook", deployment, delivery="e1c3-2")
    assert again.json()["duplicate"] is True
    assert bulk_requests(env, "deployments") == 1


def test_gitlab_token_is_checked_before_anything_else(env: LocalEnvironment, issues: list[str]) -> None:
    pipeline = sample("gitlab/pipeline-hook.success.go-gitlab.json")
    pipeline["merge_request"]["title"] = "OPS-1 Faster checkout"
    assert gitlab_hook(env, "Pipeline Hook", pipeline, token="not-the-token").status_code == 401
    assert gitlab_hook(env, "Pipeline Hook", pipeline, token=None).status_code == 401
    assert env.jira.count() == 0
    other = gitlab_hook(env, "Push Hook", {"object_kind": "push"})
    assert (other.status_code, other.json()["message"]) == (202, "event Push Hook is not reported to Jira")
    broken = gitlab_hook(env, "Pipeline Hook", {"object_kind": "pipeline"})
    assert broken.status_code == 400
    assert "not a GitLab Pipeline Hook" in broken.json()["message"]

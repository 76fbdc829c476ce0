"""POST /ci/notify end to end: the handler in-process behind the local API, moto, and the Jira simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jira_bridge import adapters
from jira_bridge.ci.environments import environment_id
from jira_bridge.observability import logger
from local_runtime.environment import LocalEnvironment, simulator_connector_secret
from tests.integration.ci_support import (
    PIPELINE,
    bulk_requests,
    notification,
    notify,
    notify_signed,
    open_issues,
    sign,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLOUD_ID = "5d3e2a9c-7f41-4b8e-9c1a-2f6b0d4e8a17"


@pytest.fixture
def issues(env: LocalEnvironment) -> list[str]:
    keys = open_issues(env, 2)
    env.jira.reset_log()
    return keys


def results(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    assert "results" in body, body
    return list(body["results"])


# ----- reaching the issue -----------------------------------------------------------------------------


def test_build_and_deployment_reach_the_issue(env: LocalEnvironment, issues: list[str]) -> None:
    build = notify(env, notification(7, pr_title="[OPS-1] Faster checkout", started_at="2026-11-23T02:55:00Z"))
    assert build.status_code == 202, build.text
    assert results(build)[0]["status"] == "reported"
    stored = env.jira.build(PIPELINE["id"], 7)
    assert stored is not None
    assert (stored["state"], stored["issueKeys"], stored["displayName"]) == ("successful", ["OPS-1"], "shop CI #7")
    assert stored["description"] == "[OPS-1] Faster checkout"

    deploy = notify(env, notification(7, ENVIRONMENT_NAME="Production EU", state="SUCCEEDED"))
    assert deploy.status_code == 202, deploy.text
    panel = env.jira.development_info("OPS-1")
    (deployment,) = panel["deployments"]
    assert deployment["environment"] == {"id": environment_id("Production EU"), "displayName": "Production EU",
                                         "type": "production"}
    assert deployment["state"] == "successful"
    assert deployment["pipeline"]["id"] == PIPELINE["id"]
    assert [b["buildNumber"] for b in panel["builds"]] == [7]


def test_a_later_in_progress_report_never_overwrites_the_final_one(env: LocalEnvironment, issues: list[str]) -> None:
    assert notify(env, notification(3, state="success", updated_at="2026-11-23T03:05:00Z")).status_code == 202
    # delivered late, and even stamped later (a skewed clock): still not applied over the final state
    assert notify(env, notification(3, state="running", updated_at="2026-11-23T03:09:00Z")).status_code == 202
    stored = env.jira.build(PIPELINE["id"], 3)
    assert stored is not None
    assert stored["state"] == "successful"
    # a re-run attempt of the same number does replace it
    assert notify(env, notification(3, state="running", attempt=2)).status_code == 202
    stored = env.jira.build(PIPELINE["id"], 3)
    assert stored is not None
    assert stored["state"] == "in_progress"


def test_pipeline_and_environment_ids_are_stable_across_runs(env: LocalEnvironment, issues: list[str]) -> None:
    for number in (1, 2):
        notify(env, notification(number, ENVIRONMENT_NAME="staging"))
    deployments = env.jira.development_info("OPS-1")["deployments"]
    assert {(d["pipeline"]["id"], d["environment"]["id"]) for d in deployments} == {
        (PIPELINE["id"], environment_id("staging"))}
    assert sorted(d["deploymentSequenceNumber"] for d in deployments) == [1, 2]


# ----- auth modes, token and cloud id caching -----------------------------------------------------------


def test_oauth_token_and_cloud_id_are_fetched_once_then_one_request_per_notification(
    env: LocalEnvironment, issues: list[str]
) -> None:
    for number in range(1, 4):
        assert notify(env, notification(number)).status_code == 202
    assert env.jira.count("POST", "/oauth/token") == 1
    assert env.jira.count("GET", "/_edge/tenant_info") == 1
    assert env.jira.count("POST", f"/jira/builds/0.1/cloud/{CLOUD_ID}/bulk") == 3
    assert env.jira.count() == 5
    assert all(r.headers.get("Authorization", "").startswith("Bearer") for r in env.jira.requests
               if r.path.endswith("/bulk"))

    env.jira.expire_oauth_tokens()  # Jira answers 401: the token is refreshed once and the call repeated
    env.jira.reset_log()
    assert notify(env, notification(4)).status_code == 202
    assert [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in env.jira.requests] == [
        ("POST", "bulk", 401), ("POST", "token", 200), ("POST", "bulk", 202)]


def test_configured_cloud_id_skips_the_tenant_lookup(env: LocalEnvironment, issues: list[str]) -> None:
    env.aws.put_secret(env.connector_secret_name("default"), {**simulator_connector_secret(env.jira),
                                                                "cloud_id": CLOUD_ID})
    assert notify(env, notification(1)).status_code == 202
    assert env.jira.count("GET", "/_edge/tenant_info") == 0
    assert env.jira.count() == 2  # token + bulk


def test_a_new_container_reads_the_cloud_id_another_looked_up(env: LocalEnvironment, issues: list[str]) -> None:
    """The secret has no cloud_id: the deployment's first container asks tenant_info and shares the answer
    (a meta# item in the link table); a later cold container pays only its own OAuth token."""
    assert notify(env, notification(1)).status_code == 202
    assert env.jira.count("GET", "/_edge/tenant_info") == 1
    env.cold_start()
    env.jira.reset_log()
    assert notify(env, notification(2)).status_code == 202
    assert [(r.method, r.path) for r in env.jira.requests] == [
        ("POST", "/oauth/token"), ("POST", f"/jira/builds/0.1/cloud/{CLOUD_ID}/bulk")]


def test_connect_app_posts_to_the_site_with_a_jwt(env: LocalEnvironment, issues: list[str]) -> None:
    secret = simulator_connector_secret(env.jira)
    for key in ("oauth_client_id", "oauth_client_secret"):
        del secret[key]
    app = env.jira.site.connect_apps[0]
    secret.update(connect_app_key=app.client_key, connect_shared_secret=app.shared_secret)
    env.aws.put_secret(env.connector_secret_name("default"), secret)
    for number in (1, 2):
        assert notify(env, notification(number, ENVIRONMENT_NAME="production")).status_code == 202
    assert [(r.method, r.path, r.status) for r in env.jira.requests] == [
        ("POST", "/rest/deployments/0.1/bulk", 202)] * 2
    assert all(r.headers["Authorization"].startswith("JWT") for r in env.jira.requests)
    assert len(env.jira.development_info("OPS-1")["deployments"]) == 2


# ----- Jira's answer ---------------------------------------------------------------------------------------


def test_202_with_rejected_and_unknown_keys(env: LocalEnvironment, issues: list[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store = env.jira.software
    original = store._entity_errors

    def rejecting(kind: Any, entity: dict[str, Any]) -> list[str]:
        if entity.get("buildNumber") == 13:
            return ["displayName: must not mention the number 13"]
        return original(kind, entity)

    monkeypatch.setattr(store, "_entity_errors", rejecting)
    batch = {"notifications": [
        notification(11, commits=["OPS-1 and OPS-404"]),  # one known key, one unknown
        notification(12, commits=["OPS-405 only"], branch="main"),  # only unknown keys
        notification(13),  # rejected by Jira
    ]}
    response = notify(env, batch)
    assert response.status_code == 422, "a rejection is a failure the pipeline should see"
    known, unknown, rejected = results(response)
    assert (known["status"], known["unknownIssueKeys"]) == ("reported", ["OPS-404"])
    assert (unknown["status"], unknown["unknownIssueKeys"]) == ("unknown_keys", ["OPS-405"])
    assert rejected["status"] == "rejected"
    assert rejected["messages"] == ["displayName: must not mention the number 13"]
    assert bulk_requests(env) == 1, "three notifications, one request"

    only_unknown = notify(env, notification(14, commits=["OPS-406"], branch="main"))
    assert only_unknown.status_code == 202, "unknown keys alone are not a failure"


def test_several_notifications_one_request_per_kind(env: LocalEnvironment, issues: list[str]) -> None:
    batch = {"notifications": [notification(n) for n in range(1, 6)]
             + [notification(n, ENVIRONMENT_NAME=name) for n, name in ((5, "staging"), (5, "production"))]}
    response = notify(env, batch)
    assert response.status_code == 202
    assert response.json()["requests"] == 2
    assert (bulk_requests(env, "builds"), bulk_requests(env, "deployments")) == (1, 1)
    assert len(env.jira.development_info("OPS-1")["builds"]) == 5


def test_a_batch_over_jiras_size_limit_is_split_and_reported(env: LocalEnvironment, issues: list[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Each build is about 800 bytes as JSON: 40 of them are over a 12 kB limit, 10 fit.
    monkeypatch.setattr(env.jira.software, "max_request_bytes", 12_000)
    batch = {"notifications": [notification(n, pr_title="OPS-1 " + "x" * 240) for n in range(1, 41)]}
    response = notify(env, batch)
    assert response.status_code == 202, response.text
    assert [r["status"] for r in results(response)] == ["reported"] * 40
    assert len(env.jira.development_info("OPS-1")["builds"]) == 40
    answers = [r.status for r in env.jira.requests if r.path.endswith("/bulk")]
    assert answers.count(413) >= 1
    assert answers.count(202) >= 4
    assert response.json()["requests"] == len(answers)


def test_a_single_build_over_the_size_limit_is_named(env: LocalEnvironment, issues: list[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(env.jira.software, "max_request_bytes", 2_000)
    huge = notification(2, ISSUE_KEYS=[issues[0], *(f"{'LONG' * 8}-{n}" for n in range(1, 100))])
    response = notify(env, {"notifications": [notification(1), huge, notification(3)]})
    assert response.status_code == 422, response.text
    assert [r["status"] for r in results(response)] == ["reported", "rejected", "reported"]
    reason = results(response)[1]["reason"]
    assert "the build alone is over Jira's request size limit" in reason
    assert "Data is too large. Submit fewer builds in each payload." in reason
    assert env.jira.build(PIPELINE["id"], 2) is None


def test_an_unrecognised_state_is_reported_as_unknown_with_a_warning(
    env: LocalEnvironment, issues: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    level = logger.log_level
    logger.setLevel("WARNING")  # the local stack runs quiet (ERROR)
    try:
        response = notify(env, notification(1, state="sucess", ENVIRONMENT_NAME="stàging"))
    finally:
        logger.setLevel(level)
    assert response.status_code == 202, response.text
    (result,) = results(response)
    assert (result["status"], result["state"]) == ("reported", "unknown")
    assert "'sucess' is not a CI state the bridge knows" in result["warnings"][0]
    (deployment,) = env.jira.development_info("OPS-1")["deployments"]
    assert deployment["environment"]["type"] == "staging"
    warned = [r for r in caplog.records if r.getMessage() == "ci run words not recognised"]
    assert [r.levelname for r in warned] == ["WARNING"]
    assert "'sucess'" in warned[0].warnings[0]


def test_no_issue_key_succeeds_without_calling_jira(env: LocalEnvironment, issues: list[str]) -> None:
    response = notify(env, notification(1, commits=["chore: bump dependencies"], branch="main"))
    assert response.status_code == 202
    assert results(response)[0]["status"] == "skipped"
    assert env.jira.count() == 0


def test_project_and_state_settings(env: LocalEnvironment, issues: list[str]) -> None:
    pay = open_issues(env, 1, project="PAY")[0]
    env.jira.reset_log()
    response = notify(env, notification(1, PROJECT="PAY", commits=[f"OPS-1 {pay}"]))
    assert results(response)[0]["issueKeys"] == [pay]
    skipped = notify(env, notification(2, STATE="successful", state="running"))
    assert results(skipped)[0]["status"] == "skipped"
    assert bulk_requests(env) == 1


def test_instance_and_cloud_id_must_name_the_connectors_site(env: LocalEnvironment, issues: list[str]) -> None:
    assert notify(env, notification(1, INSTANCE="127.0.0.1")).status_code == 202
    assert notify(env, notification(2, CLOUD_ID=CLOUD_ID, INSTANCE="elsewhere")).status_code == 202
    wrong = notify(env, notification(3, INSTANCE="otherorg"))
    assert wrong.status_code == 422
    assert "INSTANCE 'otherorg' is not the site" in results(wrong)[0]["reason"]
    assert bulk_requests(env) == 2


def test_jira_unavailable_answers_503_and_the_retry_is_reported(env: LocalEnvironment, issues: list[str]) -> None:
    body = notification(1)
    rule = env.jira.faults.server_error(503, count=None, retry_after=120, path="/jira/builds/*")
    response = notify(env, body)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    env.jira.faults.clear()
    assert rule.hits >= 1
    retried = notify(env, body)
    assert retried.status_code == 202
    assert retried.json()["duplicate"] is False, "a failed delivery leaves no record: the retry reports"
    assert env.jira.build(PIPELINE["id"], 1) is not None


def test_credentials_error_answers_502_and_is_not_recorded(env: LocalEnvironment, issues: list[str]) -> None:
    """A 502 (the bridge's own credentials) is not stored as the delivery's outcome: once the connector
    is fixed, the same body (a `curl --retry`, a re-run step) is reported instead of answered 502 again."""
    secret = simulator_connector_secret(env.jira)
    without_software = {k: v for k, v in secret.items() if k not in ("oauth_client_id", "oauth_client_secret")}
    env.aws.put_secret(env.connector_secret_name("default"), without_software)
    body = json.dumps(notification(1)).encode()
    failed = notify(env, body)
    assert failed.status_code == 502, failed.text
    assert failed.json()["duplicate"] is False
    (result,) = results(failed)
    assert result["status"] == "error"
    assert "no builds/deployments credentials" in result["reason"]
    table = env.stack.physical_name("IdempotencyTable")
    assert env.aws.client("dynamodb").scan(TableName=table)["Count"] == 0, "nothing cached"
    assert notify(env, body).status_code == 502, "still failing: still not cached"

    env.aws.put_secret(env.connector_secret_name("default"), secret)
    adapters.reset()  # the function's secret cache expires (SECRET_CACHE_SECONDS)
    retried = notify(env, body)
    assert retried.status_code == 202, retried.text
    assert retried.json()["duplicate"] is False
    assert results(retried)[0]["status"] == "reported"
    assert env.jira.build(PIPELINE["id"], 1) is not None
    assert notify(env, body).json()["duplicate"] is True, "a success is recorded as before"


# ----- redelivery and authentication ------------------------------------------------------------------


def test_redelivered_notification_is_reported_once(env: LocalEnvironment, issues: list[str]) -> None:
    body = json.dumps(notification(1)).encode()
    first, second = notify(env, body), notify(env, body)
    assert (first.status_code, second.status_code) == (202, 202)
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert second.json()["results"] == first.json()["results"]
    assert bulk_requests(env) == 1


FORGED = [
    {},
    {"Authorization": "Bearer not-a-known-api-key"},
    {"X-Api-Key": "not-a-known-api-key"},
    {"X-Jira-Bridge-Caller": "local-hmac", "X-Hub-Signature-256": sign(b"{}", "local-ci-hmac-secret-0123456789")},
    {"X-Jira-Bridge-Caller": "local-hmac"},
    {"X-Jira-Bridge-Caller": "nobody", "X-Hub-Signature-256": "sha256=" + "0" * 64},
]


def test_forged_or_missing_credentials_get_401_and_nothing_happens(env: LocalEnvironment, issues: list[str]) -> None:
    for headers in FORGED:
        response = notify(env, notification(1), api_key=None, headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == {"message": "invalid credentials"}
    assert env.jira.count() == 0
    assert env.aws.client("dynamodb").scan(TableName=env.stack.physical_name("IdempotencyTable"))["Count"] == 0


def test_hmac_caller(env: LocalEnvironment, issues: list[str]) -> None:
    assert notify_signed(env, notification(1)).status_code == 202
    assert notify_signed(env, notification(2), secret="not-the-secret-0123456789").status_code == 401


def test_caller_limited_to_projects(env: LocalEnvironment, issues: list[str]) -> None:
    pay = open_issues(env, 1, project="PAY")[0]
    key = "pay-team-api-key-0123456789"
    env.aws.put_secret(env.ci_callers_secret_name(),
                       {"callers": {"pay-team": {"api_key": key, "projects": ["PAY"]}}})
    response = notify(env, notification(1, commits=[f"OPS-1 {pay}"]), api_key=key)
    assert results(response)[0]["issueKeys"] == [pay]


def test_body_limits_and_bad_bodies(env: LocalEnvironment, issues: list[str]) -> None:
    assert notify(env, b"x" * (256 * 1024 + 1)).status_code == 413
    bad = notify(env, {"PROJEKT": "OPS"})
    assert bad.status_code == 400
    assert "PROJEKT: is not a known setting" in bad.json()["message"]
    assert env.jira.count() == 0


def test_sample_event_file(env: LocalEnvironment, issues: list[str]) -> None:
    """events/ci-notify.signed.apigw.json, as `sam local invoke -e` / `jira-bridge local invoke -e` send it."""
    event = json.loads((ROOT / "events" / "ci-notify.signed.apigw.json").read_text())
    answer = env.runner.invoke("CiNotifyFunction", event)
    assert answer["statusCode"] == 202, answer
    body = json.loads(answer["body"])
    assert body["results"][0]["issueKeys"] == ["OPS-1", "OPS-2"]
    tampered = {**event, "body": event["body"].replace("128", "129")}
    assert env.runner.invoke("CiNotifyFunction", tampered)["statusCode"] == 401

"""GET /ci/approval/{issueKey} and `jira-bridge approval`: configured criteria and Jira's gating status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jira_bridge.ci.environments import environment_id
from jira_bridge_cli.main import main
from jira_sim.seed import ALICE_EMAIL
from local_runtime.environment import LOCAL_CI_API_KEY, LocalEnvironment
from tests.integration.ci_support import PIPELINE, approval, notification, notify, open_issues

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def issues(env: LocalEnvironment) -> list[str]:
    return open_issues(env, 3)


def test_criteria_approved_rejected_waiting(env: LocalEnvironment, issues: list[str]) -> None:
    waiting, approved, rejected = issues
    alice = env.jira.as_user(ALICE_EMAIL)
    alice.move_to(approved, "Done")  # resolution Done (config/ci.yaml: OPS needs status Done + resolution Done)
    alice.move_to(rejected, "In Review")
    alice.transition(rejected, "Done", fields={"resolution": {"name": "Won't Do"}})
    answers = {key: approval(env, key).json() for key in issues}
    assert answers[waiting] == {"issueKey": waiting, "decision": "waiting", "source": "criteria", "status": "To Do",
                                "reason": "status 'To Do' meets neither the approved nor the rejected criteria"}
    assert answers[approved]["decision"] == "approved"
    assert answers[approved]["reason"] == "status is Done, resolution is Done"
    assert answers[rejected]["decision"] == "rejected"
    assert "resolution is" in answers[rejected]["reason"]


def test_jira_gating_status(env: LocalEnvironment, issues: list[str]) -> None:
    assert notify(env, notification(21, ENVIRONMENT_NAME="production")).status_code == 202
    params = {"pipeline": PIPELINE["id"], "environment": "production", "deployment": "21"}
    decisions = {}
    for gating in ("allowed", "prevented", "awaiting", "invalid"):
        env.jira.software.set_gating_status(PIPELINE["id"], environment_id("production"), 21, gating)  # type: ignore[arg-type]
        answer = approval(env, "OPS-1", params).json()
        assert (answer["source"], answer["gatingStatus"]) == ("gating-status", gating)
        decisions[gating] = answer["decision"]
    assert decisions == {"allowed": "approved", "prevented": "rejected", "awaiting": "waiting", "invalid": "rejected"}
    env.jira.software.set_gating_status(PIPELINE["id"], environment_id("production"), 21, "prevented")
    assert approval(env, "OPS-1", params).json()["details"][0]["issueKey"] == "OPS-1"
    unknown = approval(env, "OPS-1", {**params, "deployment": "99"})
    assert unknown.status_code == 404


def test_bad_requests(env: LocalEnvironment, issues: list[str]) -> None:
    assert approval(env, "OPS-01").status_code == 400
    assert approval(env, "OPS-999").status_code == 404
    missing = approval(env, "OPS-1", {"pipeline": "p"})
    assert missing.status_code == 400
    assert "missing deployment, environment" in missing.json()["message"]
    for deployment in ("²", "¹²³", "9" * 5000, "-1"):  # str.isdigit() says yes to the first three
        bad = approval(env, "OPS-1", {"pipeline": "p", "environment": "production", "deployment": deployment})
        assert bad.status_code == 400, (deployment[:10], bad.text)
    assert approval(env, "OPS-1", api_key="not-a-known-api-key-000").status_code == 401


def test_caller_limited_to_projects_gets_403_outside_them(env: LocalEnvironment, issues: list[str]) -> None:
    pay = open_issues(env, 1, project="PAY")[0]
    key = "ops-team-api-key-0123456789"
    env.aws.put_secret(env.ci_callers_secret_name(),
                       {"callers": {"ops-team": {"api_key": key, "projects": ["OPS"]}}})
    env.jira.reset_log()
    refused = approval(env, pay, api_key=key)
    assert refused.status_code == 403, refused.text
    assert refused.json() == {"message": f"this caller may ask about issues of projects OPS only, not {pay}"}
    assert env.jira.count() == 0, "Jira is not asked"
    assert approval(env, "OPS-1", api_key=key).json()["decision"] == "waiting"


def test_hmac_callers_sign_method_path_query_and_a_fresh_timestamp(env: LocalEnvironment, issues: list[str]) -> None:
    import time

    import requests

    from jira_bridge.ci.callers import sign_request
    from local_runtime.environment import LOCAL_CI_HMAC_CALLER, LOCAL_CI_HMAC_SECRET
    from tests.integration.ci_support import approval_signed, sign

    def get(path: str, query: str, headers: dict[str, str]) -> int:
        url = env.api.url(path) + (f"?{query}" if query else "")
        return requests.get(url, headers=headers, timeout=30).status_code

    def signed(path: str, query: str = "", now: float | None = None) -> dict[str, str]:
        return sign_request(LOCAL_CI_HMAC_CALLER, LOCAL_CI_HMAC_SECRET, "GET", path, query, now)

    assert approval_signed(env, "OPS-1").status_code == 200
    assert get("/ci/approval/OPS-1", "", signed("/ci/approval/OPS-2")) == 401, "another issue's signature"
    gated = "pipeline=p&environment=production&deployment=21"
    assert get("/ci/approval/OPS-1", gated.replace("21", "22"), signed("/ci/approval/OPS-1", gated)) == 401, \
        "the query is signed: a captured signature does not work for another deployment"
    assert get("/ci/approval/OPS-1", "", signed("/ci/approval/OPS-1", now=time.time() - 301)) == 401, "stale"
    assert get("/ci/approval/OPS-1", "", signed("/ci/approval/OPS-1", now=time.time() + 301)) == 401, "future"
    # The old scheme (HMAC of the path alone, no timestamp) is refused.
    path_only = {"X-Jira-Bridge-Caller": LOCAL_CI_HMAC_CALLER,
                 "X-Hub-Signature-256": sign(b"/ci/approval/OPS-1", LOCAL_CI_HMAC_SECRET)}
    assert get("/ci/approval/OPS-1", "", path_only) == 401


def test_sample_event_file(env: LocalEnvironment, issues: list[str]) -> None:
    event = json.loads((ROOT / "events" / "ci-approval.apigw.json").read_text())
    answer = env.runner.invoke("CiNotifyFunction", event)
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"])["decision"] == "waiting"


def test_cli_approval_asks_the_bridge_or_jira(env: LocalEnvironment, issues: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    base = env.api.url("")
    assert main(["approval", "OPS-1", "--url", base, "--api-key", LOCAL_CI_API_KEY]) == 3
    assert capsys.readouterr().out.startswith("OPS-1: waiting (")
    env.jira.as_user(ALICE_EMAIL).move_to("OPS-1", "Done")
    assert main(["approval", "OPS-1", "--url", base, "--api-key", LOCAL_CI_API_KEY, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "approved"
    prefix = env.connector_secret_name("")
    assert main(["approval", "OPS-1", "--secret-prefix", prefix, "--config-dir", str(ROOT / "config")]) == 0
    assert "approved (status is Done" in capsys.readouterr().out
    assert main(["approval", "OPS-999", "--url", base, "--api-key", LOCAL_CI_API_KEY]) == 2
    assert "404" in capsys.readouterr().err


# ----- the request's own criteria (POST) -------------------------------------------------------------


def approval_with(env: LocalEnvironment, key: str, criteria: object, api_key: str = LOCAL_CI_API_KEY) -> Any:
    import requests

    return requests.post(env.api.url(f"/ci/approval/{key}"), data=json.dumps(criteria),
                         headers={"X-Api-Key": api_key, "Content-Type": "application/json"}, timeout=30)


def test_request_criteria_with_jql_and_with_conditions(env: LocalEnvironment, issues: list[str]) -> None:
    todo, done, review = issues
    alice = env.jira.as_user(ALICE_EMAIL)
    alice.move_to(done, "Done")
    alice.move_to(review, "In Review")
    by_jql = {"approved": {"jql": "status = Done"}, "rejected": {"jql": "status = 'In Review'"}}
    answers = {key: approval_with(env, key, by_jql).json() for key in issues}
    assert {k: a["decision"] for k, a in answers.items()} == {todo: "waiting", done: "approved", review: "rejected"}
    assert answers[done]["source"] == "request"
    assert answers[done]["reason"] == "JQL matches: status = Done"

    either = {"approved": {"match": "any", "conditions": [{"field": "status", "equals": "Done"},
                                                          {"field": "status", "equals": "In Review"}]}}
    assert approval_with(env, review, either).json()["decision"] == "approved"
    both = {"approved": {"match": "all", "conditions": [{"field": "status", "equals": "Done"},
                                                        {"field": "Resolution", "equals": "Done"}]}}
    assert approval_with(env, done, both).json()["decision"] == "approved"
    assert approval_with(env, review, both).json()["decision"] == "waiting"
    rejected_first = {"approved": {"jql": "project = OPS"}, "rejected": {"conditions": [
        {"field": "status", "equals": ["In Review", "Blocked"]}]}}
    assert approval_with(env, review, rejected_first).json()["decision"] == "rejected"


def test_request_criteria_errors_say_what_is_wrong(env: LocalEnvironment, issues: list[str]) -> None:
    bad_jql = approval_with(env, "OPS-1", {"approved": {"jql": "status = "}})
    assert bad_jql.status_code == 400
    assert "Jira refused the JQL 'status = '" in bad_jql.json()["message"]
    neither = approval_with(env, "OPS-1", {})
    assert (neither.status_code, neither.json()["message"]) == (
        400, "not approval criteria: (body): Value error, give approved and/or rejected criteria")
    both_kinds = approval_with(env, "OPS-1", {"approved": {"jql": "x = 1", "conditions": [
        {"field": "status", "equals": "Done"}]}})
    assert both_kinds.status_code == 400
    assert "give either jql or conditions" in both_kinds.json()["message"]
    assert approval_with(env, "OPS-999", {"approved": {"jql": "status = Done"}}).status_code == 404
    assert approval_with(env, "OPS-1", {"approved": {"jql": "status = Done"}}, api_key="wrong-key-0123456789"
                         ).status_code == 401

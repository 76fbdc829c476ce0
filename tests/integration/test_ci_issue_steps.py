"""POST /ci/issues through the local stack: pipeline steps create, update, move and comment on issues,
once per idempotency key, with errors that say what to fix."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from jira_sim.seed import ALICE_EMAIL, INCIDENT_ID
from local_runtime.environment import (
    LOCAL_CI_API_KEY,
    LOCAL_CI_HMAC_CALLER,
    LOCAL_CI_HMAC_SECRET,
    LocalEnvironment,
    local_ci_callers,
)
from tests.integration.ci_support import open_issues, sign
from tests.integration.conftest import BOTH_SITES, api

pytestmark = pytest.mark.integration


def step(env: LocalEnvironment, body: Any, *, api_key: str | None = LOCAL_CI_API_KEY,
         headers: dict[str, str] | None = None) -> requests.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **({"X-Api-Key": api_key} if api_key else {}), **(headers or {})}
    return requests.post(env.api.url("/ci/issues"), data=raw, headers=sent, timeout=30)


def status_of(env: LocalEnvironment, key: str) -> str:
    issue = env.jira.as_user(ALICE_EMAIL).call("GET", f"{api(env)}/issue/{key}", params={"fields": "status"})
    return str(issue["fields"]["status"]["name"])


CREATE = {
    "idempotencyKey": "pipeline-881-create-ticket",
    "project": "OPS",
    "issueType": "Task",
    "fields": {"summary": "Deploy shop 2.4.1 to production", "description": "Release notes:\n\n- faster basket",
               "priority": "High", "labels": ["release"], "assignee": ALICE_EMAIL},
}


@BOTH_SITES
def test_two_identical_posts_create_one_issue(env: LocalEnvironment) -> None:
    first = step(env, CREATE)
    assert first.status_code == 201, first.text
    created = first.json()
    key = created["issueKey"]
    assert created["created"] is True
    assert created["duplicate"] is False
    assert created["url"].endswith(f"/browse/{key}")
    again = step(env, CREATE)
    assert again.status_code == 201
    assert again.json() == {**created, "duplicate": True}
    issues = [i for i in env.jira.issues() if i.fields.get("summary") == CREATE["fields"]["summary"]]
    assert [i.key for i in issues] == [key], "one issue for two identical steps"
    stored = issues[0]
    assert stored.fields["priority"] == "2"  # High, by name
    assert stored.fields["assignee"] == env.jira.user(ALICE_EMAIL).account_id  # an e-mail, as in runbooks
    assert "release" in stored.fields["labels"]
    description = stored.fields["description"]  # Markdown became ADF (Cloud), wiki markup (Data Center)
    if env.jira.flavour == "datacenter":
        assert "* faster basket" in description
    else:
        assert description["type"] == "doc"
        assert "bulletList" in json.dumps(description)


def test_a_step_retried_after_a_failure_past_the_create_finds_its_issue(env: LocalEnvironment) -> None:
    """Jira created the issue, then failed the transition (503): nothing was stored, so the retried
    step runs again; the marker the create wrote is found and no second issue is made."""
    body = {**CREATE, "transition": {"to": "In Progress"}}
    env.jira.faults.server_error(503, count=None, retry_after=120, method="POST",
                                 path="/rest/api/3/issue/*/transitions")
    failed = step(env, body)
    assert failed.status_code == 503, failed.text
    assert failed.headers["Retry-After"] == "30"
    env.jira.faults.clear()
    retried = step(env, body)
    assert retried.status_code == 201, retried.text
    key = retried.json()["issueKey"]
    assert retried.json()["actions"] == [f"found {key}, created by an earlier attempt of this step",
                                         f"moved {key}: To Do -> In Progress"]
    assert [i.key for i in env.jira.issues() if i.fields.get("summary") == CREATE["fields"]["summary"]] == [key]


@BOTH_SITES
def test_update_moves_by_status_name_through_the_workflow_and_comments(env: LocalEnvironment) -> None:
    key = open_issues(env, 1)[0]
    env.jira.as_user(ALICE_EMAIL).edit(key, {"labels": ["customer-facing", "beta"]})
    answer = step(env, {"idempotencyKey": "p-9-close", "issueKey": key.lower(),
                        "fields": {"incident id": "INC-7", "labels": {"add": ["shipped"], "remove": ["beta"]}},
                        "transition": {"to": "done", "fields": {"resolution": "Done"}},
                        "comment": "Deployed by **pipeline 9**"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "Done"
    assert body["created"] is False
    assert body["actions"][1] == f"moved {key}: To Do -> In Progress -> In Review -> Done"
    assert status_of(env, key) == "Done"
    stored = env.jira.issue(key)
    assert stored.fields[INCIDENT_ID] == "INC-7"  # a field named as on the screen
    assert sorted(stored.fields["labels"]) == ["customer-facing", "shipped"], "labels added and removed, never replaced"
    assert stored.fields["resolution"] == "10000"
    assert "pipeline 9" in json.dumps(stored.comments[-1].body)


def test_errors_say_what_is_wrong(env: LocalEnvironment) -> None:
    key = open_issues(env, 1)[0]
    cases = {
        "no key": ({"project": "OPS", "fields": {"summary": "x"}}, 400, "idempotencyKey: is required"),
        "both": ({**CREATE, "issueKey": key}, 400, "give issueKey (to update an issue) or project"),
        "no summary": ({"idempotencyKey": "k1", "project": "OPS", "fields": {}}, 400,
                       "a create needs fields.summary"),
        "typo": ({**CREATE, "idempotencyKey": "k2", "transiton": {"to": "Done"}}, 400,
                 "transiton: is not a known setting"),
        "not json": (b"{", 400, "body is not JSON"),
        "unknown field": ({"idempotencyKey": "k3", "issueKey": key,
                           "fields": {"Incident Id": "x", "Sevrity": "SEV2"}}, 422,
                          "'Sevrity' is not a field of this Jira"),
        "no such issue": ({"idempotencyKey": "k4", "issueKey": "OPS-999", "comment": "hi"}, 404,
                          "Jira has no issue OPS-999"),
        "required on the way": ({"idempotencyKey": "k5", "issueKey": key, "transition": {"to": "Done"}}, 422,
                                "transition 'Done' to Done requires resolution: give them under transition.fields"),
        "Jira refuses": ({"idempotencyKey": "k6", "project": "OPS", "issueType": "Incident",
                          "fields": {"summary": "no severity"}}, 422, "Jira refused it:"),
    }
    for name, (body, status, message) in cases.items():
        answer = step(env, body)
        assert answer.status_code == status, (name, answer.text)
        assert message in answer.json()["message"], (name, answer.json())
    assert status_of(env, key) == "To Do", "nothing was moved by a refused step"
    fixed = step(env, {"idempotencyKey": "k5", "issueKey": key, "transition": {"to": "Done", "fields": {
        "resolution": "Done"}}})
    assert fixed.status_code == 200, "a refusal that changed nothing is not stored: the fixed step may reuse the key"
    reused = step(env, {"idempotencyKey": "k5", "issueKey": key, "comment": "something else"})
    assert reused.status_code == 422
    assert "was used for another request" in reused.json()["message"]


def test_a_refusal_after_the_create_is_reported_with_what_was_done(env: LocalEnvironment) -> None:
    body = {**CREATE, "idempotencyKey": "p-3", "transition": {"to": "Done"}}  # Done needs a resolution
    answer = step(env, body)
    assert answer.status_code == 422, answer.text
    partial = answer.json()
    assert partial["actions"][0] == f"created {partial['issueKey']}"
    assert f"send the rest as an update of {partial['issueKey']}" in partial["message"]
    again = step(env, body)  # the retried step is answered from the record: still one issue
    assert (again.status_code, again.json()["issueKey"], again.json()["duplicate"]) == (422, partial["issueKey"], True)


def test_callers_and_projects(env: LocalEnvironment) -> None:
    ops_only = "ops-only-api-key-0123456789"
    callers = local_ci_callers()
    callers["callers"]["ops"] = {"api_key": ops_only, "projects": ["OPS"]}
    env.aws.put_secret(env.ci_callers_secret_name(), callers)
    raw = json.dumps({**CREATE, "idempotencyKey": "signed-1"}).encode()
    signed = step(env, raw, api_key=None, headers={"X-Jira-Bridge-Caller": LOCAL_CI_HMAC_CALLER,
                                                   "X-Hub-Signature-256": sign(raw, LOCAL_CI_HMAC_SECRET)})
    assert signed.status_code == 201, signed.text
    assert step(env, CREATE, api_key="not-a-known-api-key-000").status_code == 401
    env.jira.reset_log()
    refused = step(env, {**CREATE, "project": "PAY"}, api_key=ops_only)
    assert refused.status_code == 403
    assert refused.json()["message"] == "this caller may create and update issues of projects OPS only, not PAY"
    assert env.jira.count() == 0, "Jira is not asked"
    # Keys are per caller: another caller's step with the same key is its own step.
    mine = step(env, CREATE, api_key=ops_only)
    assert mine.status_code == 201
    assert mine.json()["duplicate"] is False


def test_sample_event_file(env: LocalEnvironment) -> None:
    """events/ci-issues.signed.apigw.json, as `jira-bridge local invoke -e` (or `sam local invoke -e`) sends it,
    twice: one issue, moved and commented once."""
    from pathlib import Path

    event = json.loads((Path(__file__).resolve().parents[2] / "events" / "ci-issues.signed.apigw.json").read_text())
    first = env.runner.invoke("CiNotifyFunction", event)
    again = env.runner.invoke("CiNotifyFunction", event)
    assert first["statusCode"] == 201, first
    body = json.loads(first["body"])
    assert body["status"] == "In Progress"
    assert json.loads(again["body"]) == {**body, "duplicate": True}
    releases = [i for i in env.jira.issues() if i.fields.get("summary") == "Release shop 2.4.1"]
    assert len(releases) == 1
    assert len(releases[0].comments) == 1

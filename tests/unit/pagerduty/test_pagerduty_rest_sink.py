"""PagerDutyRestSink: request shapes and headers, cached lookups, PagerDuty's refusals, retries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jira_bridge.pagerduty.credentials import parse_pagerduty_secret
from jira_bridge.pagerduty.errors import (
    PagerDutyLookupFailed,
    PagerDutyRateLimited,
    PagerDutyRefused,
    PagerDutyUnavailable,
)
from jira_bridge.pagerduty.rest_sink import PagerDutyRestSink
from tests import http_fake as matchers
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import FakeTime
from tests.unit.pagerduty.pd_fakes import API_TOKEN, FROM_EMAIL, REST

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]

INCIDENT = f"{REST}/incidents/Q3B15VLMF3ASBD"
PRIORITIES: dict[str, Any] = {
    "priorities": [
        {"id": "PP1", "type": "priority", "summary": "P1", "name": "P1", "description": "most severe"},
        {"id": "PP2", "type": "priority", "summary": "P2", "name": "P2", "description": ""},
        {"id": "PP3", "type": "priority", "summary": "P3", "name": "P3", "description": ""},
    ],
    "limit": 100, "offset": 0, "more": False, "total": None,
}
USERS: dict[str, Any] = {
    "users": [
        {"id": "PSIMILAR", "type": "user", "name": "Ada Other", "email": "ada.other@example.com"},
        {"id": "PADA001", "type": "user", "name": "Ada Oncall", "email": "Ada@Example.com"},
    ],
    "limit": 100, "offset": 0, "more": False,
}


def _headers(call: Any) -> dict[str, str]:
    return dict(call.request.headers)


def _body(call: Any) -> Any:
    return json.loads(call.request.body)


def _calls(mocked: FakeHttp, method: str, path: str) -> list[Any]:
    return [c for c in mocked.calls if c.request.method == method and c.request.path_url.split("?")[0] == path]


def test_one_put_carries_status_priority_and_assignee_with_every_header(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink
) -> None:
    mocked.get(f"{REST}/priorities", json=PRIORITIES)
    mocked.get(f"{REST}/users", json=USERS)
    mocked.put(INCIDENT, json={"incident": {"id": "Q3B15VLMF3ASBD"}})

    outcome = rest_sink.update_incident("Q3B15VLMF3ASBD", status="acknowledged", priority_name="p2",
                                        assignee_email="ada@example.com")

    assert outcome.applied == ["status", "priority", "assignee"]
    assert (outcome.unchanged, outcome.skipped, outcome.note_id) == ([], {}, None)
    (put,) = _calls(mocked, "PUT", "/incidents/Q3B15VLMF3ASBD")
    assert _body(put) == {"incident": {
        "type": "incident_reference",
        "status": "acknowledged",
        "priority": {"id": "PP2", "type": "priority_reference"},
        "assignments": [{"assignee": {"id": "PADA001", "type": "user_reference"}}],
    }}
    for call in mocked.calls:  # lookups too: the same four headers on every REST request
        headers = _headers(call)
        assert headers["Authorization"] == f"Token token={API_TOKEN}"
        assert headers["Accept"] == "application/vnd.pagerduty+json;version=2"
        assert headers["Content-Type"] == "application/json"
        assert headers["From"] == FROM_EMAIL
    (users,) = _calls(mocked, "GET", "/users")
    assert "query=ada%40example.com" in users.request.url


def test_a_note_is_posted_and_its_id_returned(mocked: FakeHttp, rest_sink: PagerDutyRestSink) -> None:
    mocked.post(f"{INCIDENT}/notes", json={"note": {"id": "PNOTE01", "content": "Rolled back"}},
                match=[matchers.json_params_matcher({"note": {"content": "Rolled back"}})])

    outcome = rest_sink.update_incident("Q3B15VLMF3ASBD", note="Rolled back")

    assert (outcome.applied, outcome.note_id) == (["note"], "PNOTE01")
    assert [c.request.method for c in mocked.calls] == ["POST"]  # nothing else to set: no PUT
    assert _headers(mocked.calls[0])["From"] == FROM_EMAIL


def test_priorities_and_users_are_looked_up_once_per_container(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink
) -> None:
    mocked.get(f"{REST}/priorities", json=PRIORITIES)
    mocked.get(f"{REST}/users", json=USERS)
    mocked.put(INCIDENT, json={"incident": {}})

    for _ in range(3):
        rest_sink.update_incident("Q3B15VLMF3ASBD", priority_name="P1", assignee_email="ADA@example.com")

    assert len(_calls(mocked, "GET", "/priorities")) == 1
    assert len(_calls(mocked, "GET", "/users")) == 1
    assert len(_calls(mocked, "PUT", "/incidents/Q3B15VLMF3ASBD")) == 3
    assert rest_sink.transport.counter.snapshot()[("PUT", "/incidents/{id}")] == 3


def test_caches_expire(mocked: FakeHttp, rest_sink: PagerDutyRestSink, fake_time: FakeTime) -> None:
    mocked.get(f"{REST}/priorities", json=PRIORITIES)
    assert rest_sink.priority_id("P1") == "PP1"
    fake_time.advance(901)
    assert rest_sink.priority_id("P1") == "PP1"
    assert len(_calls(mocked, "GET", "/priorities")) == 2


def test_users_from_the_secret_need_no_lookup(mocked: FakeHttp, rest_sink: PagerDutyRestSink) -> None:
    mocked.put(INCIDENT, json={"incident": {}})
    rest_sink.update_incident("Q3B15VLMF3ASBD", assignee_email="known.person@example.com")
    assert [c.request.method for c in mocked.calls] == ["PUT"]
    assert _body(mocked.calls[0])["incident"]["assignments"][0]["assignee"]["id"] == "PKNOWN1"


def test_an_unknown_assignee_is_left_alone_and_the_rest_applies(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink
) -> None:
    mocked.get(f"{REST}/users", json={"users": [USERS["users"][0]], "more": False})
    mocked.put(INCIDENT, json={"incident": {}})

    outcome = rest_sink.update_incident("Q3B15VLMF3ASBD", status="resolved", assignee_email="ada@example.com")

    assert outcome.applied == ["status"]
    assert "assignee" in outcome.skipped
    assert "ada@example.com" not in outcome.skipped["assignee"]
    (put,) = _calls(mocked, "PUT", "/incidents/Q3B15VLMF3ASBD")
    assert "assignments" not in _body(put)["incident"]
    # a second request for the same unknown user is answered from the cache
    rest_sink.update_incident("Q3B15VLMF3ASBD", assignee_email="ada@example.com")
    assert len(_calls(mocked, "GET", "/users")) == 1


def test_an_unknown_priority_fails_before_anything_is_written(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink, fake_time: FakeTime
) -> None:
    mocked.get(f"{REST}/priorities", json=PRIORITIES)
    rest_sink.priority_id("P1")  # warm the cache

    with pytest.raises(PagerDutyLookupFailed, match=r"no priority named 'SEV1'; it has P1, P2, P3"):
        rest_sink.update_incident("Q3B15VLMF3ASBD", status="resolved", priority_name="SEV1", note="x")

    assert not _calls(mocked, "PUT", "/incidents/Q3B15VLMF3ASBD")
    assert not _calls(mocked, "POST", "/incidents/Q3B15VLMF3ASBD/notes")
    assert len(_calls(mocked, "GET", "/priorities")) == 2  # looked once more before refusing


def test_priorities_are_read_across_pages(mocked: FakeHttp, rest_sink: PagerDutyRestSink) -> None:
    first = {**PRIORITIES, "priorities": PRIORITIES["priorities"][:2], "more": True}
    second = {**PRIORITIES, "priorities": PRIORITIES["priorities"][2:], "offset": 100, "more": False}
    mocked.get(f"{REST}/priorities", json=first, match=[matchers.query_param_matcher({"limit": "100", "offset": "0"})])
    mocked.get(f"{REST}/priorities", json=second,
               match=[matchers.query_param_matcher({"limit": "100", "offset": "100"})])
    assert rest_sink.priority_id("p3") == "PP3"


@pytest.mark.parametrize(("status", "code"), [("resolved", 1001), ("acknowledged", 1002)])
def test_a_status_the_incident_already_has_is_a_no_op_and_the_rest_still_applies(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink, status: str, code: int
) -> None:
    mocked.get(f"{REST}/priorities", json=PRIORITIES)
    refusal = {"error": {"code": code, "message": "Invalid Input Provided",
                         "errors": [f"Incident Already {status.title()}"]}}
    mocked.put(INCIDENT, status=400, json=refusal,
               match=[matchers.json_params_matcher({"incident": {"type": "incident_reference", "status": status,
                                                                 "priority": {"id": "PP1",
                                                                              "type": "priority_reference"}}})])
    mocked.put(INCIDENT, json={"incident": {}},
               match=[matchers.json_params_matcher({"incident": {"type": "incident_reference",
                                                                 "priority": {"id": "PP1",
                                                                              "type": "priority_reference"}}})])

    outcome = rest_sink.update_incident("Q3B15VLMF3ASBD", status=status, priority_name="P1")

    assert (outcome.applied, outcome.unchanged) == (["priority"], ["status"])


def test_already_resolved_alone_sends_nothing_more(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink
) -> None:
    mocked.put(INCIDENT, status=400, json={"error": {"code": 1001, "message": "Incident Already Resolved"}})
    outcome = rest_sink.update_incident("Q3B15VLMF3ASBD", status="resolved")
    assert (outcome.applied, outcome.unchanged) == ([], ["status"])
    assert len(mocked.calls) == 1


def test_refusals_carry_pagerdutys_own_message_and_code(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink
) -> None:
    mocked.put(INCIDENT, status=400, json={"error": {"code": 1008, "message": "Requester User Not Found",
                                                     "errors": ["From header must be a valid user"]}})
    with pytest.raises(PagerDutyRefused) as caught:
        rest_sink.update_incident("Q3B15VLMF3ASBD", status="resolved")
    error = caught.value
    assert (error.status, error.code, error.retryable) == (400, 1008, False)
    assert str(error) == ("PagerDuty refused PUT /incidents/Q3B15VLMF3ASBD (400): Requester User Not Found "
                          "[code 1008]; From header must be a valid user")
    assert API_TOKEN not in str(error)


def test_an_account_without_priorities_is_refused_with_pagerdutys_reason(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink
) -> None:
    mocked.get(f"{REST}/priorities", status=402,
               json={"error": {"code": 2012, "message": "Account does not have the abilities to perform the action"}})
    with pytest.raises(PagerDutyRefused, match=r"GET /priorities \(402\): Account does not have the abilities"):
        rest_sink.update_incident("Q3B15VLMF3ASBD", priority_name="P1")


def test_429_is_retried_after_the_wait_pagerduty_asks_for(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink, fake_time: FakeTime
) -> None:
    limited = {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    mocked.put(INCIDENT, status=429, json=limited, headers={"Retry-After": "3"})
    mocked.put(INCIDENT, status=429, json=limited)  # no Retry-After: exponential backoff
    mocked.put(INCIDENT, json={"incident": {}})

    outcome = rest_sink.update_incident("Q3B15VLMF3ASBD", status="acknowledged")

    assert outcome.applied == ["status"]
    assert len(mocked.calls) == 3
    assert fake_time.sleeps == [3.25, 0.5]  # 3 s + jitter (rand 0.5 x 0.5 s), then 0.5 x min(8, 0.5 * 2)


def test_a_rate_limit_that_outlasts_the_retries_is_typed_and_retryable(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink
) -> None:
    mocked.put(INCIDENT, status=429, json={"error": {"message": "Rate Limit Exceeded", "code": 2020}},
               headers={"Retry-After": "60"})
    with pytest.raises(PagerDutyRateLimited) as caught:
        rest_sink.update_incident("Q3B15VLMF3ASBD", status="acknowledged")
    assert (caught.value.retry_after, caught.value.retryable, caught.value.attempts) == (60.0, True, 1)


def test_put_is_retried_after_a_5xx_but_a_note_is_not(
    mocked: FakeHttp, rest_sink: PagerDutyRestSink
) -> None:
    mocked.put(INCIDENT, status=502)
    mocked.put(INCIDENT, json={"incident": {}})
    mocked.post(f"{INCIDENT}/notes", status=502)

    with pytest.raises(PagerDutyUnavailable) as caught:
        rest_sink.update_incident("Q3B15VLMF3ASBD", status="resolved", note="Fixed by rollback")

    assert len(_calls(mocked, "PUT", "/incidents/Q3B15VLMF3ASBD")) == 2
    assert len(_calls(mocked, "POST", "/incidents/Q3B15VLMF3ASBD/notes")) == 1
    error = caught.value
    assert (error.outcome_unknown, error.retryable, error.status) == (True, True, 502)
    assert "may have been applied" in str(error)


def test_bad_arguments_are_refused_locally(rest_sink: PagerDutyRestSink) -> None:
    with pytest.raises(ValueError, match="status must be one of"):
        rest_sink.update_incident("Q3B15VLMF3ASBD", status="closed")
    with pytest.raises(ValueError, match="needs some text"):
        rest_sink.update_incident("Q3B15VLMF3ASBD", note="  ")


def test_from_secret_uses_its_urls_token_from_and_users(mocked: FakeHttp) -> None:
    secret = parse_pagerduty_secret("jira-bridge/test/pagerduty", {
        "api_token": "secret-token", "from_email": "bridge@example.com",
        "user_emails": {"PU1": "u1@example.com"}, "rest_api_url": "http://pd.fake:8080/",
    })
    mocked.put("http://pd.fake:8080/incidents/P1", json={"incident": {}})

    PagerDutyRestSink.from_secret(secret).update_incident("P1", assignee_email="U1@example.com")

    (call,) = mocked.calls
    assert _headers(call)["Authorization"] == "Token token=secret-token"
    assert _headers(call)["From"] == "bridge@example.com"
    assert _body(call)["incident"]["assignments"][0]["assignee"]["id"] == "PU1"

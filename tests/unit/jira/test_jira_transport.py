"""JiraTransport: timeouts, retry/backoff, Retry-After, deadline, idempotency rules, counts, logging."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ProtocolError, ProxyError, ReadTimeoutError

from jira_bridge.jira.errors import JiraError, JiraRateLimited, JiraUnavailable
from jira_bridge.jira.transport import (
    DEFAULT_TIMEOUT,
    JiraTransport,
    RetryPolicy,
    lambda_remaining_time,
    normalize_params,
    parse_retry_after,
)
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import API_TOKEN, SITE, FakeTime, TransportFactory

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]  # HTTP is faked under urllib3 (tests/http_fake.py)

ISSUE = f"{SITE}/rest/api/3/issue"
MYSELF = f"{SITE}/rest/api/3/myself"


def _refused() -> NewConnectionError:
    """What urllib3 raises (retries=False) for "connection refused": the request never left."""
    return NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]


def _dropped() -> ProtocolError:
    """A connection reset after the request was written: it may have been processed."""
    return ProtocolError("Connection aborted.", ConnectionResetError(104))


def _read_timeout() -> ReadTimeoutError:
    return ReadTimeoutError(None, "/rest/api/3/issue", "read timed out")  # type: ignore[arg-type]


# --- timeouts -----------------------------------------------------------------------------


def test_every_call_has_the_default_timeout(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.get(MYSELF, json={"accountId": "1"})
    make_transport().get("/rest/api/3/myself")
    assert DEFAULT_TIMEOUT == (3.05, 10.0)
    assert mocked.calls[0].request.req_kwargs["timeout"] == (3.05, 10.0)  # type: ignore[attr-defined]


def test_timeouts_are_clipped_to_the_time_budget(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    mocked.get(MYSELF, json={})
    make_transport(remaining_time=fake_time.deadline_in(5.0)).get("/rest/api/3/myself")
    assert mocked.calls[0].request.req_kwargs["timeout"] == (3.05, 4.0)  # type: ignore[attr-defined]


def test_nothing_is_sent_when_the_budget_is_used_up(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    with pytest.raises(JiraUnavailable, match="time budget") as caught:
        make_transport(remaining_time=fake_time.deadline_in(0.5)).get("/rest/api/3/myself")
    assert caught.value.retryable is True
    assert caught.value.outcome_unknown is False
    assert len(mocked.calls) == 0


# --- Retry-After, backoff, jitter -------------------------------------------------------------


def test_429_honours_retry_after_then_succeeds(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    mocked.get(MYSELF, status=429, headers={"Retry-After": "2", "RateLimit-Reason": "jira-burst-based"})
    mocked.get(MYSELF, status=429, headers={"Retry-After": "7"})
    mocked.get(MYSELF, json={"accountId": "1"})
    response = make_transport(rand=lambda: 0.0).get("/rest/api/3/myself")
    assert response.status == 200
    assert response.attempts == 3
    assert fake_time.sleeps == [2.0, 7.0]


def test_retry_after_gets_a_little_jitter_on_top(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    mocked.get(MYSELF, status=503, headers={"Retry-After": "3"})
    mocked.get(MYSELF, json={})
    make_transport(rand=lambda: 0.999).get("/rest/api/3/myself")
    policy = RetryPolicy()
    assert 3.0 <= fake_time.sleeps[0] <= 3.0 + policy.retry_after_jitter


def test_retry_after_beyond_the_cap_fails_fast_with_the_wait(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    mocked.get(
        MYSELF, status=429, headers={"Retry-After": "120", "RateLimit-Reason": "jira-quota-tenant-based"}
    )
    with pytest.raises(JiraRateLimited) as caught:
        make_transport().get("/rest/api/3/myself")
    error = caught.value
    assert error.retry_after == 120.0
    assert error.reason == "jira-quota-tenant-based"
    assert error.retryable is True
    assert fake_time.sleeps == []
    assert len(mocked.calls) == 1
    assert "retry after 120s" in str(error)


def test_429_without_retry_after_uses_exponential_backoff_until_attempts_run_out(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    for _ in range(4):
        mocked.get(MYSELF, status=429)
    with pytest.raises(JiraRateLimited) as caught:
        make_transport(rand=lambda: 1.0).get("/rest/api/3/myself")
    assert caught.value.attempts == 4
    assert caught.value.retry_after is None
    # rand=1.0 shows the ceiling of each full-jitter draw: base * 2**(n-1)
    assert fake_time.sleeps == [0.5, 1.0, 2.0]


def test_backoff_ceiling_is_capped() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0)
    assert [policy.backoff(n, 1.0) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


@given(retry_number=st.integers(min_value=1, max_value=30), rand=st.floats(min_value=0.0, max_value=1.0))
def test_full_jitter_stays_within_bounds(retry_number: int, rand: float) -> None:
    policy = RetryPolicy()
    delay = policy.backoff(retry_number, rand)
    assert 0.0 <= delay <= min(policy.backoff_max, policy.backoff_base * 2 ** (retry_number - 1))


def test_jittered_waits_with_a_real_generator_stay_in_bounds(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    policy = RetryPolicy(max_attempts=6)
    for _ in range(5):
        mocked.get(MYSELF, status=502)
    mocked.get(MYSELF, json={})
    make_transport(rand=random.Random(7).random, policy=policy).get("/rest/api/3/myself")
    assert len(fake_time.sleeps) == 5
    for n, wait in enumerate(fake_time.sleeps, start=1):
        assert 0.0 <= wait <= min(policy.backoff_max, policy.backoff_base * 2 ** (n - 1))
    assert len(set(fake_time.sleeps)) == 5  # jittered, not a fixed schedule


def test_retry_after_parsing() -> None:
    now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Mon, 02 Mar 2026 12:00:30 GMT", now=now) == 30.0


# --- deadline -------------------------------------------------------------------------------


def test_no_retry_when_the_wait_would_pass_the_deadline(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    mocked.get(MYSELF, status=503, headers={"Retry-After": "5"})
    transport = make_transport(rand=lambda: 0.0, remaining_time=fake_time.deadline_in(6.0))
    with pytest.raises(JiraUnavailable) as caught:
        transport.get("/rest/api/3/myself")
    assert caught.value.status == 503
    assert fake_time.sleeps == []
    assert len(mocked.calls) == 1


def test_retries_stop_when_the_budget_runs_low(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    for _ in range(4):
        mocked.get(MYSELF, status=429, headers={"Retry-After": "5"})
    transport = make_transport(rand=lambda: 0.0, remaining_time=fake_time.deadline_in(12.0))
    with pytest.raises(JiraRateLimited) as caught:
        transport.get("/rest/api/3/myself")
    # 12 s budget: wait 5 (7 left), then 5 more would leave 2 < reserve 1 + min attempt 2
    assert fake_time.sleeps == [5.0]
    assert caught.value.attempts == 2
    assert caught.value.retry_after == 5.0


def test_time_budget_context_and_lambda_context(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 2500

    mocked.get(MYSELF, json={})
    transport = make_transport()
    with transport.time_budget(lambda_remaining_time(Context())):
        transport.get("/rest/api/3/myself")
    transport.get("/rest/api/3/myself")
    assert mocked.calls[0].request.req_kwargs["timeout"] == (1.5, 1.5)  # type: ignore[attr-defined]
    assert mocked.calls[1].request.req_kwargs["timeout"] == DEFAULT_TIMEOUT  # type: ignore[attr-defined]


def test_derived_transports_follow_the_parent_budget(
    make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    parent = make_transport()
    child = parent.derive("https://api.atlassian.com", None)
    assert child.remaining_time is None
    budget = fake_time.deadline_in(9.0)
    with parent.time_budget(budget):
        assert child.remaining_time is budget
    assert child.counter is parent.counter


# --- idempotency rules ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_post_is_retried_when_jira_did_not_process_it(
    mocked: FakeHttp, make_transport: TransportFactory, status: int
) -> None:
    mocked.post(ISSUE, status=status)
    mocked.post(ISSUE, status=201, json={"id": "10001", "key": "OPS-1"})
    response = make_transport().post("/rest/api/3/issue", json={"fields": {}})
    assert response.status == 201
    assert len(mocked.calls) == 2


@pytest.mark.parametrize(
    "failure",
    [ConnectTimeoutError("connect timed out"), _refused()],
    ids=["connect-timeout", "connection-refused"],
)
def test_post_is_retried_when_it_never_left(
    mocked: FakeHttp, make_transport: TransportFactory, failure: Exception
) -> None:
    mocked.post(ISSUE, body=failure)
    mocked.post(ISSUE, status=201, json={"id": "10001", "key": "OPS-1"})
    assert make_transport().post("/rest/api/3/issue", json={}).status == 201
    assert len(mocked.calls) == 2


@pytest.mark.parametrize(
    "failure",
    [_read_timeout(), _dropped()],
    ids=["read-timeout", "connection-dropped"],
)
def test_post_is_not_retried_when_it_may_have_been_applied(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime, failure: Exception
) -> None:
    mocked.post(ISSUE, body=failure)
    with pytest.raises(JiraUnavailable) as caught:
        make_transport().post("/rest/api/3/issue", json={})
    assert len(mocked.calls) == 1
    assert fake_time.sleeps == []
    assert caught.value.outcome_unknown is True
    assert caught.value.retryable is True
    assert "may have been applied" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_post_is_not_retried_after_a_5xx_that_may_have_been_applied(
    mocked: FakeHttp, make_transport: TransportFactory, status: int
) -> None:
    mocked.post(ISSUE, status=status, json={"errorMessages": ["Internal server error"]})
    with pytest.raises(JiraUnavailable) as caught:
        make_transport().post("/rest/api/3/issue", json={})
    assert len(mocked.calls) == 1
    assert caught.value.status == status
    assert caught.value.outcome_unknown is True
    assert "Internal server error" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_post_marked_idempotent_is_retried_after_5xx(
    mocked: FakeHttp, make_transport: TransportFactory, status: int
) -> None:
    url = f"{SITE}/rest/api/3/search/jql"
    mocked.post(url, status=status)
    mocked.post(url, json={"issues": []})
    assert make_transport().post("/rest/api/3/search/jql", json={"jql": "x"}, idempotent=True).status == 200
    assert len(mocked.calls) == 2


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "failure",
    [502, 504, 500, _read_timeout(), _dropped()],
    ids=["502", "504", "500", "read-timeout", "dropped"],
)
def test_idempotent_methods_are_retried(
    mocked: FakeHttp, make_transport: TransportFactory, method: str, failure: int | Exception
) -> None:
    url = f"{SITE}/rest/api/3/issue/OPS-1"
    if isinstance(failure, int):
        mocked.add(method, url, status=failure)
    else:
        mocked.add(method, url, body=failure)
    mocked.add(method, url, status=204)
    assert make_transport().request(method, "/rest/api/3/issue/OPS-1").status == 204
    assert len(mocked.calls) == 2


def test_unavailable_after_all_attempts(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    for _ in range(4):
        mocked.get(MYSELF, status=503)
    with pytest.raises(JiraUnavailable) as caught:
        make_transport().get("/rest/api/3/myself")
    assert caught.value.attempts == 4
    assert caught.value.outcome_unknown is False
    assert len(fake_time.sleeps) == 3


def test_4xx_is_never_retried(mocked: FakeHttp, make_transport: TransportFactory) -> None:
    mocked.post(ISSUE, status=400, json={"errorMessages": [], "errors": {"summary": "required"}})
    with pytest.raises(JiraError):
        make_transport().post("/rest/api/3/issue", json={})
    assert len(mocked.calls) == 1


def test_redirect_is_reported_not_followed(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.post(ISSUE, status=301, headers={"Location": "https://other.example.com/rest/api/3/issue"})
    with pytest.raises(JiraError, match="redirect") as caught:
        make_transport().post("/rest/api/3/issue", json={})
    assert caught.value.retryable is False
    assert "other.example.com" in str(caught.value)


# --- counting, params, logging ----------------------------------------------------------------


def test_requests_are_counted_per_method_and_template(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.get(f"{SITE}/rest/api/3/issue/OPS-1", status=503)
    mocked.get(f"{SITE}/rest/api/3/issue/OPS-1", json={})
    mocked.get(f"{SITE}/rest/api/3/issue/OPS-2", json={})
    transport = make_transport()
    template = "/rest/api/3/issue/{issueIdOrKey}"
    transport.get("/rest/api/3/issue/OPS-1", template=template)
    transport.get("/rest/api/3/issue/OPS-2", template=template)
    assert transport.counter.snapshot() == {("GET", template): 3}
    assert transport.counter.total() == 3
    transport.counter.reset()
    assert transport.counter.total() == 0


def test_params_go_out_as_jira_expects() -> None:
    assert normalize_params({"notifyUsers": False, "maxResults": 50, "fields": ["a", "b"], "x": None}) == [
        ("notifyUsers", "false"),
        ("maxResults", "50"),
        ("fields", "a"),
        ("fields", "b"),
    ]


def test_debug_log_has_method_path_status_elapsed_and_no_secrets(
    mocked: FakeHttp,
    make_transport: TransportFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mocked.get(f"{SITE}/rest/api/3/user/search", status=503)
    mocked.get(f"{SITE}/rest/api/3/user/search", json=[])
    with caplog.at_level(logging.DEBUG, logger="jira_bridge.jira"):
        make_transport().get("/rest/api/3/user/search", params={"query": "someone@example.com"})
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("jira_bridge.jira")]
    assert messages[0].startswith("jira GET /rest/api/3/user/search -> 503 in ")
    assert messages[1].startswith("jira GET /rest/api/3/user/search -> 200 in ")
    text = "\n".join(messages)
    for secret in (API_TOKEN, "Basic ", "Authorization", "someone@example.com"):
        assert secret not in text


def test_errors_never_show_credentials_or_the_query(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.get(f"{SITE}/rest/api/3/user/search", body=_dropped())
    mocked.get(f"{SITE}/rest/api/3/user/search", status=401, json={"errorMessages": ["Unauthorized"]})
    transport = make_transport()
    with pytest.raises(JiraError) as caught:
        transport.get("/rest/api/3/user/search", params={"query": "someone@example.com"})
    text = str(caught.value) + repr(caught.value) + repr(transport.auth)
    assert API_TOKEN not in text
    assert "someone@example.com" not in text


def test_base_url_is_validated() -> None:
    with pytest.raises(ValueError, match="http"):
        JiraTransport("example.atlassian.net")


# --- the site's request budget and queue-backed callers ---------------------------------------


def test_a_queue_backed_caller_gets_a_long_retry_after_raised_not_slept(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    from jira_bridge.invocation import invocation_budget

    mocked.get(MYSELF, status=503, headers={"Retry-After": "120"})
    with invocation_budget(None, max_wait=2.0), pytest.raises(JiraUnavailable) as caught:
        make_transport().get("/rest/api/3/myself")
    assert caught.value.retry_after == 120
    assert fake_time.sleeps == []
    assert len(mocked.calls) == 1


def test_the_site_budget_paces_requests_and_hands_long_waits_to_the_queue(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    from jira_bridge.invocation import invocation_budget
    from jira_bridge.jira.request_budget import BUDGET_REASON, RequestBudget

    mocked.get(MYSELF, json={})
    transport = make_transport()
    transport.budget = RequestBudget(0.1, share=2, clock=fake_time.clock, sleep=fake_time.sleep)  # 1 per 20 s
    transport.get("/rest/api/3/myself")
    transport.get("/rest/api/3/myself")  # paced: outside a queue consumer it waits in-process
    assert fake_time.sleeps == [pytest.approx(20.0)]
    with invocation_budget(None, max_wait=0.5), pytest.raises(JiraRateLimited) as caught:
        transport.get("/rest/api/3/myself")  # a queue consumer: 20 s is longer than pacing may wait
    assert caught.value.reason == BUDGET_REASON
    assert caught.value.retry_after == pytest.approx(20.0)
    assert len(mocked.calls) == 2  # nothing sent beyond the budget


def test_a_429_from_jira_slows_the_site_budget_when_the_bridge_used_all_of_it(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    from jira_bridge.jira.request_budget import RequestBudget

    for budget, slowed_to in ((1, 0.5), (10, 10)):  # using its whole rate; with tokens to spare
        mocked.get(MYSELF, status=429, headers={"Retry-After": "1", "RateLimit-Reason": "jira-burst-based"})
        mocked.get(MYSELF, json={})
        transport = make_transport()
        transport.budget = RequestBudget(budget, clock=fake_time.clock, sleep=fake_time.sleep)
        for _ in range(8):  # the last 10 s: 8 requests, 80% of a budget of 1/s, 8% of 10/s
            transport.budget.acquire()
        transport.get("/rest/api/3/myself")
        assert transport.budget.rate == slowed_to


def test_a_429_without_retry_after_waits_until_jiras_reset_time(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    from jira_bridge.jira.transport import parse_rate_limit_reset

    now = datetime(2026, 3, 26, 15, 58, 30, tzinfo=UTC)
    assert parse_rate_limit_reset("2026-03-26T16:00Z", now=now) == 90
    assert parse_rate_limit_reset("1711468800", now=now) is None  # not epoch seconds: Jira sends ISO
    mocked.get(MYSELF, status=429, headers={"X-RateLimit-Reset": "2000-01-01T00:00Z"})
    mocked.get(MYSELF, json={})
    make_transport().get("/rest/api/3/myself")  # a reset in the past: retry at once
    assert len(mocked.calls) == 2


def test_near_limit_slows_the_site_budget_before_any_429(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    from jira_bridge.jira.request_budget import RequestBudget

    mocked.get(MYSELF, json={}, headers={"X-RateLimit-NearLimit": "true"})
    transport = make_transport()
    transport.budget = RequestBudget(8, clock=fake_time.clock, sleep=fake_time.sleep)
    transport.get("/rest/api/3/myself")
    assert transport.budget.rate == 6


# ----- the environment, read once per session -------------------------------------------------------------


def test_proxy_and_ca_bundle_from_the_environment_are_read_once_per_transport(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib3

    from jira_bridge.jira.transport import JiraTransport

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    http = JiraTransport("https://acme.atlassian.net")._http
    assert isinstance(http, urllib3.ProxyManager)
    assert http.proxy is not None
    assert http.proxy.url == "http://proxy.internal:3128"
    assert http.connection_pool_kw["ca_certs"] == "/etc/ssl/corporate.pem"
    assert http.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"

    monkeypatch.setenv("NO_PROXY", "acme.atlassian.net")  # a site the proxy must not see goes direct
    assert not isinstance(JiraTransport("https://acme.atlassian.net")._http, urllib3.ProxyManager)


def test_without_a_bundle_named_the_site_is_verified_with_botocores_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.httpsession import where

    from jira_bridge.jira.transport import JiraTransport

    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    http = JiraTransport("https://acme.atlassian.net")._http
    assert http.connection_pool_kw["ca_certs"] == where()
    assert http.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"


def test_what_goes_on_the_wire_is_what_requests_would_send_minus_cookies(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    """The query, body and headers are the ones `requests.Session.request(params=, json=)` sent before the
    transport moved to urllib3, and a cookie Jira sets is never sent back (Data Center would then apply its
    XSRF check to the next POST)."""
    mocked.get(MYSELF, json={"accountId": "1"}, headers={"Set-Cookie": "JSESSIONID=abc; Path=/"})
    mocked.post(ISSUE, json={"id": "1", "key": "OPS-1"}, status=201)
    transport = make_transport()
    transport.get("/rest/api/3/myself", params={"expand": ["groups", "applicationRoles"], "x": "a b&c", "y": True})
    transport.post("/rest/api/3/issue", json={"fields": {"summary": "Disk full é", "n": 1.5}})

    sent_get, sent_post = mocked.calls[0].request, mocked.calls[1].request
    assert sent_get.url == f"{MYSELF}?expand=groups&expand=applicationRoles&x=a+b%26c&y=true"
    assert sent_get.body is None
    assert sent_post.body == b'{"fields": {"summary": "Disk full \\u00e9", "n": 1.5}}'
    assert sent_post.headers["Content-Type"] == "application/json"
    assert sent_post.headers["Accept"] == "application/json"
    assert "gzip" in sent_post.headers["Accept-Encoding"]
    assert "Cookie" not in sent_post.headers


def test_a_data_center_context_path_is_kept_in_every_request(mocked: FakeHttp) -> None:
    from jira_bridge.jira.transport import JiraTransport

    mocked.get("https://jira.example.com/jira/rest/api/2/myself", json={"name": "svc"})
    transport = JiraTransport("https://jira.example.com/jira/")
    assert transport.get("/rest/api/2/myself", params={"expand": "groups"}).body == {"name": "svc"}
    assert mocked.calls[0].request.url == "https://jira.example.com/jira/rest/api/2/myself?expand=groups"


def _no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def test_a_proxy_login_in_the_proxy_url_is_sent_to_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib3

    from jira_bridge.jira.transport import pool_manager

    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://bridge%40corp:p%3Ass@proxy.internal:3128")
    http = pool_manager("https://acme.atlassian.net")
    assert isinstance(http, urllib3.ProxyManager)
    assert http.proxy_headers == urllib3.make_headers(proxy_basic_auth="bridge@corp:p:ss")


@pytest.mark.parametrize(("no_proxy", "site", "direct"), [
    ("10.0.0.0/8", "https://10.1.2.3", True),
    ("10.0.0.0/8", "https://192.168.1.1", False),
    ("jira.corp.example:8443", "https://jira.corp.example:8443/jira", True),
    ("jira.corp.example:8443", "https://jira.corp.example/jira", False),
    (".corp.example", "https://jira.corp.example", True),
])
def test_no_proxy_cidr_ranges_and_host_port_entries_go_direct(
        monkeypatch: pytest.MonkeyPatch, no_proxy: str, site: str, direct: bool) -> None:
    import urllib3

    from jira_bridge.jira.transport import pool_manager

    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert isinstance(pool_manager(site), urllib3.ProxyManager) is not direct


def test_a_ca_bundle_directory_is_used_as_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from jira_bridge.jira.transport import pool_manager

    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))
    settings = pool_manager("https://jira.corp.example").connection_pool_kw
    assert settings["ca_cert_dir"] == str(tmp_path)
    assert "ca_certs" not in settings


def test_a_proxy_that_cannot_be_reached_means_the_post_never_left(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    mocked.post(ISSUE, body=ProxyError("Unable to connect to proxy", OSError("refused")))
    mocked.post(ISSUE, json={"id": "1", "key": "OPS-1"}, status=201)
    assert make_transport().post("/rest/api/3/issue", json={"fields": {}}).body == {"id": "1", "key": "OPS-1"}
    assert len(mocked.calls) == 2  # retried: Jira saw nothing


def test_a_credential_that_is_no_header_value_is_named_without_echoing_it(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    from jira_bridge.jira.errors import JiraAuthError

    mocked.get(MYSELF, body=ValueError(f"Invalid header value b'Basic {API_TOKEN}\\n'"))
    with pytest.raises(JiraAuthError) as refused:
        make_transport().get("/rest/api/3/myself")
    assert "connector secret" in str(refused.value)
    assert API_TOKEN not in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__

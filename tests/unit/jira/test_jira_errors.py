"""Typed errors: the right class per status, Jira's own messages, ``retryable``."""

from __future__ import annotations

import pytest

from jira_bridge.jira.errors import (
    JiraAuthError,
    JiraConflict,
    JiraError,
    JiraNotFound,
    JiraPayloadTooLarge,
    JiraPermissionError,
    JiraRateLimited,
    JiraRequestRefused,
    JiraUnavailable,
    parse_error_body,
    refusal_from_response,
)
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import SITE, TransportFactory

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]  # HTTP is faked under urllib3 (tests/http_fake.py)

FIELD_NOT_ON_SCREEN = (
    "Field 'customfield_10050' cannot be set. It is not on the appropriate screen, or unknown."
)


def test_refusal_shows_why_jira_refused(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.post(
        f"{SITE}/rest/api/3/issue",
        status=400,
        json={"errorMessages": [], "errors": {"customfield_10050": FIELD_NOT_ON_SCREEN}},
    )
    with pytest.raises(JiraRequestRefused) as caught:
        make_transport().post("/rest/api/3/issue", json={"fields": {}})
    error = caught.value
    assert (
        str(error) == f"Jira refused POST /rest/api/3/issue (400): customfield_10050: {FIELD_NOT_ON_SCREEN}"
    )
    assert error.status == 400
    assert error.method == "POST"
    assert error.path == "/rest/api/3/issue"
    assert error.errors == {"customfield_10050": FIELD_NOT_ON_SCREEN}
    assert error.error_messages == []
    assert error.retryable is False


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, JiraRequestRefused, False),
        (401, JiraAuthError, False),
        (403, JiraPermissionError, False),
        (404, JiraNotFound, False),
        (409, JiraConflict, True),
        (413, JiraPayloadTooLarge, False),
        (422, JiraRequestRefused, False),
    ],
)
def test_each_4xx_has_its_class(status: int, cls: type[JiraRequestRefused], retryable: bool) -> None:
    error = refusal_from_response(
        method="PUT", path="/rest/api/3/issue/{issueIdOrKey}", status=status, body={"errorMessages": ["No."]}
    )
    assert type(error) is cls
    assert isinstance(error, JiraRequestRefused)
    assert isinstance(error, JiraError)
    assert error.retryable is retryable
    assert str(error) == f"Jira refused PUT /rest/api/3/issue/{{issueIdOrKey}} ({status}): No."


def test_messages_and_field_errors_together() -> None:
    error = refusal_from_response(
        method="POST",
        path="/x",
        status=400,
        body={
            "errorMessages": ["Issue type is required"],
            "errors": {"summary": "You must specify a summary."},
        },
    )
    assert error.details == "summary: You must specify a summary.; Issue type is required"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([{"message": "Invalid JWT", "errorTraceId": "abc"}], ["Invalid JWT"]),
        ({"error": "access_denied", "error_description": "Unauthorized"}, ["access_denied: Unauthorized"]),
        ({"message": "Client must be authenticated"}, ["Client must be authenticated"]),
        ("<html><body>Oops</body></html>", ["(non-JSON answer of 30 characters)"]),
        ("plain text", ["plain text"]),
        (None, []),
    ],
)
def test_error_body_shapes(body: object, expected: list[str]) -> None:
    messages, errors = parse_error_body(body)
    assert messages == expected
    assert errors == {}


def test_refusal_without_details_says_so() -> None:
    error = refusal_from_response(method="GET", path="/x", status=404, body=None)
    assert str(error) == "Jira refused GET /x (404): (Jira gave no details)"


def test_server_errors_are_retryable_and_keep_jira_messages(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    for _ in range(4):
        mocked.get(
            f"{SITE}/rest/api/3/myself", status=503, json={"errorMessages": ["Jira is in maintenance"]}
        )
    with pytest.raises(JiraUnavailable) as caught:
        make_transport().get("/rest/api/3/myself")
    assert caught.value.retryable is True
    assert "Jira is in maintenance" in str(caught.value)
    assert "(503) after 4 attempt(s)" in str(caught.value)


def test_rate_limited_is_retryable() -> None:
    error = JiraRateLimited(
        method="PUT", path="/p", retry_after=4.0, reason="jira-per-issue-on-write", attempts=2
    )
    assert error.retryable is True
    assert error.status == 429
    assert str(error) == (
        "Jira rate limited PUT /p (jira-per-issue-on-write) after 2 attempt(s); Jira asks to retry after 4s"
    )

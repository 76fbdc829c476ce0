"""DataCenterClient: REST v2 paths, wiki-markup bodies, users by name, offset search, DC auth traps."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from jira_bridge.jira import adf
from jira_bridge.jira.auth import BasicLogin, BearerToken
from jira_bridge.jira.datacenter import DataCenterClient
from jira_bridge.jira.errors import JiraAuthError, JiraRateLimited
from jira_bridge.jira.transport import RetryPolicy
from jira_bridge.jira.wiki import escape, to_wiki
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import TransportFactory

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]

DC = "https://jira.corp.example"
API = f"{DC}/rest/api/2"
PAT = "NjQ4ODk0MzA2NTQ4OqJ2s1Vx0uYy"


@pytest.fixture
def dc(make_transport: TransportFactory) -> DataCenterClient:
    return DataCenterClient(make_transport(DC, BearerToken(PAT, label="svc-bridge")))


def _body(mocked: FakeHttp, index: int = -1) -> Any:
    return json.loads(mocked.calls[index].request.body or b"null")


def _query(mocked: FakeHttp, index: int = -1) -> dict[str, list[str]]:
    return parse_qs(urlsplit(mocked.calls[index].request.url or "").query, keep_blank_values=True)


# --- wiki markup -------------------------------------------------------------------------------


def test_plain_text_becomes_paragraphs_with_line_breaks() -> None:
    text = "Checkout is down\nsince 09:12\n\nSee the runbook"
    assert to_wiki(text) == text


def test_the_adf_document_the_cloud_dialect_sends_renders_as_wiki() -> None:
    document = adf.doc(
        adf.heading(2, "Impact"),
        adf.paragraph(adf.text("SEV1", [adf.strong()]), " on ", adf.text("payments", [adf.code()])),
        adf.bullet_list("api", "web"),
        adf.code_block("Traceback {x}", "python"),
        adf.paragraph("Incident: https://pd.example/incidents/P1"),
    )
    assert to_wiki(document) == (
        "h2. Impact\n\n*SEV1* on {{payments}}\n\n* api\n* web\n\n{code:python}\nTraceback {x}\n{code}\n\n"
        "Incident: [https://pd.example/incidents/P1]"
    )


def test_text_that_looks_like_markup_is_escaped() -> None:
    assert escape("a {panel} [link|x] *not bold* api-gateway") == (
        "a \\{panel\\} \\[link\\|x\\] \\*not bold\\* api-gateway"
    )
    assert to_wiki("* not a list\n# not numbered") == "\\* not a list\n\\# not numbered"


# --- requests -----------------------------------------------------------------------------------


def test_create_sends_v2_wiki_and_user_names(mocked: FakeHttp, dc: DataCenterClient) -> None:
    mocked.post(f"{API}/issue", json={"id": "10002", "key": "OPS-1", "self": f"{API}/issue/10002"}, status=201)
    created = dc.create_issue(
        {
            "summary": "Checkout down",
            "description": adf.doc(adf.paragraph(adf.text("down", [adf.strong()]))),
            "assignee": {"accountId": "alice"},
            "customfield_10046": [{"accountId": "bob"}],
        },
        properties={"jira-bridge.incident": {"incidentId": "P1"}},
    )
    assert created.key == "OPS-1"
    sent = _body(mocked)
    assert sent["fields"]["description"] == "*down*"
    assert sent["fields"]["assignee"] == {"name": "alice"}
    assert sent["fields"]["customfield_10046"] == [{"name": "bob"}]
    assert "accountId" not in json.dumps(sent)
    assert mocked.calls[-1].request.headers["Authorization"] == f"Bearer {PAT}"


def test_transition_comment_is_wiki(mocked: FakeHttp, dc: DataCenterClient) -> None:
    mocked.post(f"{API}/issue/OPS-1/transitions", status=204)
    dc.transition_issue("OPS-1", "31", fields={"resolution": {"name": "Done"}}, comment="Resolved in *PD*")
    assert _body(mocked)["update"]["comment"] == [{"add": {"body": "Resolved in \\*PD\\*"}}]


def test_users_are_found_by_username_search_with_an_exact_email(
    mocked: FakeHttp, dc: DataCenterClient
) -> None:
    mocked.get(
        f"{API}/user/search",
        json=[
            {"name": "alice2", "key": "JIRAUSER10101", "emailAddress": "alice@example.com.au", "active": True},
            {"name": "alice", "key": "JIRAUSER10100", "emailAddress": "Alice@Example.com", "active": True,
             "displayName": "Alice"},
        ],
    )
    user = dc.find_user_by_email("alice@example.com")
    assert user is not None
    assert user.account_id == "alice"
    assert _query(mocked)["username"] == ["alice@example.com"]


def test_search_pages_by_offset_and_survives_the_silent_cap(
    mocked: FakeHttp, dc: DataCenterClient
) -> None:
    # Asked for 5,000, the server clamps to 1,000 without an error: the next page starts at 1,000.
    mocked.post(f"{API}/search", json={"startAt": 0, "maxResults": 1000, "total": 1500,
                                       "issues": [{"id": str(i), "key": f"OPS-{i}"} for i in range(1000)]})
    mocked.post(f"{API}/search", json={"startAt": 1000, "maxResults": 1000, "total": 1500,
                                       "issues": [{"id": str(i), "key": f"OPS-{i}"} for i in range(1000, 1500)]})
    keys = [issue["key"] for issue in dc.iter_search_jql("project = OPS", ["summary"], page_size=5000)]
    assert len(keys) == 1500
    assert len(set(keys)) == 1500
    assert [_body(mocked, i)["startAt"] for i in (0, 1)] == [0, 1000]
    assert _body(mocked, 0)["maxResults"] == 1000


def test_search_reads_properties_from_the_issue(mocked: FakeHttp, dc: DataCenterClient) -> None:
    mocked.post(f"{API}/search", json={"startAt": 0, "maxResults": 10, "total": 1,
                                       "issues": [{"id": "10002", "key": "OPS-1"}]})
    mocked.get(f"{API}/issue/10002", json={"id": "10002", "key": "OPS-1",
                                           "properties": {"jira-bridge.incident": {"incidentId": "P1"}}})
    page = dc.search_jql("labels = x", ["summary"], properties=["jira-bridge.incident"])
    assert page.issues[0]["properties"]["jira-bridge.incident"] == {"incidentId": "P1"}
    assert "properties" not in _body(mocked, 0)


def test_remote_link_upsert(mocked: FakeHttp, dc: DataCenterClient) -> None:
    mocked.post(f"{API}/issue/OPS-1/remotelink", json={"id": 10000, "self": f"{API}/issue/OPS-1/remotelink/10000"})
    link_id = dc.upsert_remote_link("OPS-1", {"globalId": "ci=a&env=prod", "object": {"url": "u", "title": "t"}})
    assert link_id == "10000"


# --- auth traps and rate limits ------------------------------------------------------------------


def test_an_anonymous_200_is_an_auth_failure(mocked: FakeHttp, dc: DataCenterClient) -> None:
    mocked.get(f"{API}/myself", json={}, headers={"X-AUSERNAME": "anonymous"})
    with pytest.raises(JiraAuthError, match="anonymous"):
        dc.myself()


def test_a_denied_login_answered_200_is_an_auth_failure(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    client = DataCenterClient(make_transport(DC, BasicLogin("svc-bridge", "wrong")))
    mocked.post(f"{API}/search", json={"startAt": 0, "total": 0, "issues": []},
                headers={"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"})
    with pytest.raises(JiraAuthError, match="AUTHENTICATED_FAILED"):
        client.search_jql("project = OPS")


def test_captcha_lockout_says_how_to_get_out(mocked: FakeHttp, make_transport: TransportFactory) -> None:
    client = DataCenterClient(make_transport(DC, BasicLogin("svc-bridge", "right")))
    mocked.get(f"{API}/myself", status=403, body="<html>login</html>", content_type="text/html",
               headers={"X-Seraph-LoginReason": "AUTHENTICATION_DENIED",
                        "X-Authentication-Denied-Reason": f"CAPTCHA_CHALLENGE; login-url={DC}/login.jsp"})
    with pytest.raises(JiraAuthError, match="CAPTCHA") as raised:
        client.myself()
    assert "personal access token" in str(raised.value)


def test_dc_rate_limit_headers_set_the_wait(mocked: FakeHttp, make_transport: TransportFactory) -> None:
    client = DataCenterClient(make_transport(DC, BearerToken(PAT), policy=RetryPolicy(max_attempts=1)))
    mocked.get(f"{API}/myself", status=429, json={},
               headers={"X-RateLimit-Limit": "70", "X-RateLimit-Remaining": "0", "X-RateLimit-FillRate": "5",
                        "X-RateLimit-Interval-Seconds": "1"})
    with pytest.raises(JiraRateLimited) as raised:
        client.myself()
    assert raised.value.retry_after == pytest.approx(0.2)
    assert "Data Center rate limiting: 70 requests" in str(raised.value)


def test_tokens_never_show_in_reprs() -> None:
    assert PAT not in repr(BearerToken(PAT))
    assert "hunter2" not in repr(BasicLogin("u", "hunter2"))

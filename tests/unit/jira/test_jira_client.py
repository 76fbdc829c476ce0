"""JiraClient: each REST v3 operation's request and parsed result, ADF conversion, retry classes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from urllib3.exceptions import ReadTimeoutError

from jira_bridge.jira.adf import from_text
from jira_bridge.jira.client import JiraClient
from jira_bridge.jira.errors import JiraNotFound, JiraRequestRefused, JiraUnavailable
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import EMAIL, SITE

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]  # HTTP is faked under urllib3 (tests/http_fake.py)

API = f"{SITE}/rest/api/3"


def _body(mocked: FakeHttp, index: int = -1) -> Any:
    return json.loads(mocked.calls[index].request.body or b"null")


def _query(mocked: FakeHttp, index: int = -1) -> dict[str, list[str]]:
    return parse_qs(urlsplit(mocked.calls[index].request.url or "").query, keep_blank_values=True)


def test_myself(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.get(
        f"{API}/myself",
        json={"accountId": "557058:f5", "displayName": "Jira Bridge", "emailAddress": EMAIL, "active": True},
    )
    me = client.myself()
    assert (me.account_id, me.display_name, me.email_address, me.active) == (
        "557058:f5",
        "Jira Bridge",
        EMAIL,
        True,
    )
    assert client.describe_identity() == EMAIL


def test_my_permissions_in_a_project(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.get(
        f"{API}/mypermissions",
        json={
            "permissions": {
                "CREATE_ISSUES": {"key": "CREATE_ISSUES", "name": "Create Issues", "havePermission": True},
                "TRANSITION_ISSUES": {
                    "key": "TRANSITION_ISSUES",
                    "name": "Transition Issues",
                    "havePermission": False,
                },
            }
        },
    )
    granted = client.my_permissions(["CREATE_ISSUES", "TRANSITION_ISSUES"], project_key="OPS")
    assert _query(mocked) == {"permissions": ["CREATE_ISSUES,TRANSITION_ISSUES"], "projectKey": ["OPS"]}
    assert granted["CREATE_ISSUES"].have is True
    assert granted["TRANSITION_ISSUES"].have is False
    assert granted["TRANSITION_ISSUES"].name == "Transition Issues"
    with pytest.raises(ValueError, match="at least one"):
        client.my_permissions([])


def test_get_project(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.get(
        f"{API}/project/OPS",
        json={
            "id": "10000",
            "key": "OPS",
            "name": "Operations",
            "projectTypeKey": "software",
            "issueTypes": [{"id": "10001", "name": "Incident", "subtask": False}],
        },
    )
    project = client.get_project("OPS")
    assert (project.id, project.key, project.name) == ("10000", "OPS", "Operations")
    assert project.issue_types[0].name == "Incident"
    assert client.transport.counter.snapshot() == {("GET", "/rest/api/3/project/{projectIdOrKey}"): 1}


def test_get_issue_with_fields_and_properties(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.get(f"{API}/issue/OPS-7", json={"id": "10007", "key": "OPS-7", "fields": {"summary": "x"}})
    issue = client.get_issue("OPS-7", fields=["summary", "status"], properties=["jira-bridge.link"])
    assert issue["fields"]["summary"] == "x"
    assert _query(mocked) == {"fields": ["summary,status"], "properties": ["jira-bridge.link"]}


def test_create_issue_sends_description_as_adf_and_properties(
    mocked: FakeHttp, client: JiraClient
) -> None:
    mocked.post(
        f"{API}/issue",
        status=201,
        json={"id": "10042", "key": "OPS-42", "self": f"{API}/issue/10042"},
    )
    created = client.create_issue(
        {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Incident"},
            "summary": "Checkout down",
            "description": "Checkout is down.\n\nSee https://status.example.com",
            "customfield_10060": "Timeline:\n10:02 alert",
        },
        properties={"jira-bridge.link": {"incidentId": "INC-42"}},
        adf_fields=["customfield_10060"],
    )
    assert (created.id, created.key) == ("10042", "OPS-42")
    body = _body(mocked)
    assert body["fields"]["description"] == from_text("Checkout is down.\n\nSee https://status.example.com")
    assert body["fields"]["customfield_10060"]["type"] == "doc"
    assert body["fields"]["summary"] == "Checkout down"
    assert body["properties"] == [{"key": "jira-bridge.link", "value": {"incidentId": "INC-42"}}]


def test_create_issue_refusal_carries_jira_messages(
    mocked: FakeHttp, client: JiraClient
) -> None:
    mocked.post(
        f"{API}/issue",
        status=400,
        json={"errorMessages": [], "errors": {"priority": "Priority name 'P0' is not valid"}},
    )
    with pytest.raises(JiraRequestRefused) as caught:
        client.create_issue({"summary": "x", "priority": {"name": "P0"}})
    assert caught.value.errors == {"priority": "Priority name 'P0' is not valid"}
    assert "priority: Priority name 'P0' is not valid" in str(caught.value)


def test_create_issue_is_not_repeated_after_a_read_timeout(
    mocked: FakeHttp, client: JiraClient
) -> None:
    mocked.post(f"{API}/issue", body=ReadTimeoutError(None, "/rest/api/3/issue", "read timed out"))  # type: ignore[arg-type]
    with pytest.raises(JiraUnavailable) as caught:
        client.create_issue({"summary": "x"})
    assert caught.value.outcome_unknown is True
    assert len(mocked.calls) == 1


def test_edit_issue_is_retried_as_a_put(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.put(f"{API}/issue/OPS-1", status=502)
    mocked.put(f"{API}/issue/OPS-1", status=204)
    client.edit_issue("OPS-1", fields={"summary": "New", "description": "line 1\nline 2"}, notify_users=False)
    assert len(mocked.calls) == 2
    body = _body(mocked)
    assert body["fields"]["description"]["content"][0]["content"][1] == {"type": "hardBreak"}
    assert _query(mocked) == {"notifyUsers": ["false"]}


def test_edit_issue_adding_a_comment_is_not_repeated(
    mocked: FakeHttp, client: JiraClient
) -> None:
    mocked.put(f"{API}/issue/OPS-1", status=502)
    with pytest.raises(JiraUnavailable):
        client.edit_issue("OPS-1", update={"comment": [{"add": {"body": "Resolved by rollback"}}]})
    assert len(mocked.calls) == 1
    assert _body(mocked)["update"]["comment"][0]["add"]["body"]["type"] == "doc"


def test_edit_issue_needs_something_to_change(client: JiraClient) -> None:
    with pytest.raises(ValueError, match="needs"):
        client.edit_issue("OPS-1")


def test_transitions(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.get(
        f"{API}/issue/OPS-1/transitions",
        json={
            "transitions": [
                {
                    "id": "31",
                    "name": "Resolve",
                    "hasScreen": True,
                    "isAvailable": True,
                    "to": {"id": "10002", "name": "Done", "statusCategory": {"key": "done"}},
                    "fields": {
                        "resolution": {"required": True, "hasDefaultValue": False},
                        "assignee": {"required": False},
                        "fixVersions": {"required": True, "hasDefaultValue": True},
                    },
                }
            ]
        },
    )
    (resolve,) = client.get_transitions("OPS-1")
    assert _query(mocked) == {"expand": ["transitions.fields"]}
    assert (resolve.id, resolve.to_status_name, resolve.to_status_category) == ("31", "Done", "done")
    assert resolve.required_fields == ("resolution",)


def test_transition_with_fields_and_comment(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.post(f"{API}/issue/OPS-1/transitions", status=204)
    client.transition_issue(
        "OPS-1", "31", fields={"resolution": {"name": "Done"}}, comment="Resolved in INC-42"
    )
    assert _body(mocked) == {
        "transition": {"id": "31"},
        "fields": {"resolution": {"name": "Done"}},
        "update": {"comment": [{"add": {"body": from_text("Resolved in INC-42")}}]},
    }


def test_add_and_read_comments(mocked: FakeHttp, client: JiraClient) -> None:
    body = from_text("Mitigated.\nMonitoring.")
    mocked.post(
        f"{API}/issue/OPS-1/comment",
        status=201,
        json={
            "id": "10100",
            "body": body,
            "author": {"accountId": "557058:f5"},
            "created": "2026-03-02T10:00:00.000+0000",
        },
    )
    comment = client.add_comment(
        "OPS-1", "Mitigated.\nMonitoring.", properties={"jira-bridge.origin": "incident"}
    )
    assert comment.id == "10100"
    assert comment.text == "Mitigated.\nMonitoring."
    assert _body(mocked) == {"body": body, "properties": [{"key": "jira-bridge.origin", "value": "incident"}]}

    mocked.get(
        f"{API}/issue/OPS-1/comment",
        json={
            "comments": [
                {
                    "id": "10100",
                    "body": body,
                    "properties": [{"key": "jira-bridge.origin", "value": "incident"}],
                }
            ],
            "startAt": 0,
            "maxResults": 100,
            "total": 1,
        },
    )
    page = client.get_comments("OPS-1", order_by="-created")
    assert page.total == 1
    assert page.comments[0].properties == {"jira-bridge.origin": "incident"}
    assert _query(mocked) == {"startAt": ["0"], "maxResults": ["100"], "orderBy": ["-created"]}


def test_issue_properties(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.put(f"{API}/issue/10042/properties/jira-bridge.link", status=200)
    mocked.get(
        f"{API}/issue/10042/properties/jira-bridge.link",
        json={"key": "jira-bridge.link", "value": {"incidentId": "INC-42", "seq": 3}},
    )
    mocked.get(f"{API}/issue/10042/properties/absent", status=404, json={"errorMessages": ["not found"]})
    client.set_issue_property("10042", "jira-bridge.link", {"incidentId": "INC-42", "seq": 3})
    assert _body(mocked) == {"incidentId": "INC-42", "seq": 3}
    assert client.get_issue_property("10042", "jira-bridge.link") == {"incidentId": "INC-42", "seq": 3}
    assert client.get_issue_property("10042", "absent", default=None) is None
    with pytest.raises(JiraNotFound):
        client.get_issue_property("10042", "absent")
    with pytest.raises(ValueError, match="non-empty"):
        client.set_issue_property("10042", "k", None)


def test_search_jql_follows_next_page_token(mocked: FakeHttp, client: JiraClient) -> None:
    url = f"{API}/search/jql"
    mocked.post(url, status=502)
    mocked.post(url, json={"issues": [{"id": "1"}, {"id": "2"}], "nextPageToken": "tok-2", "isLast": False})
    mocked.post(url, json={"issues": [{"id": "3"}], "isLast": True})
    issues = list(client.iter_search_jql("project = OPS", fields=["summary"], page_size=2))
    assert [i["id"] for i in issues] == ["1", "2", "3"]
    assert len(mocked.calls) == 3  # the 502 was retried: search is a read
    assert _body(mocked, 1) == {"jql": "project = OPS", "maxResults": 2, "fields": ["summary"]}
    assert _body(mocked, 2)["nextPageToken"] == "tok-2"


def test_search_with_reconcile(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.post(f"{API}/search/jql", json={"issues": []})
    page = client.search_jql(
        "issue.property[jira-bridge.link].incidentId = 'INC-42'", reconcile_issues=[10042]
    )
    assert page.is_last is True
    assert page.next_page_token is None
    assert _body(mocked)["reconcileIssues"] == [10042]


def test_find_user_by_email_needs_an_exact_match(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.get(
        f"{API}/user/search",
        json=[
            {
                "accountId": "a1",
                "displayName": "Ann Other",
                "emailAddress": "ann.other@example.com",
                "active": True,
            },
            {"accountId": "a2", "displayName": "Ann", "emailAddress": "Ann@Example.com", "active": True},
        ],
    )
    user = client.find_user_by_email("ann@example.com")
    assert user is not None
    assert user.account_id == "a2"
    assert _query(mocked) == {"query": ["ann@example.com"], "maxResults": ["100"]}
    mocked.get(f"{API}/user/search", json=[{"accountId": "a1", "emailAddress": "ann.other@example.com"}])
    assert client.find_user_by_email("ann@example.com") is None
    assert client.find_user_by_email("  ") is None


def test_get_user(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.get(f"{API}/user", json={"accountId": "a2", "displayName": "Ann", "active": False})
    user = client.get_user("a2")
    assert (user.account_id, user.active, user.email_address) == ("a2", False, None)
    assert _query(mocked) == {"accountId": ["a2"]}


def test_priorities_are_paged(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.get(
        f"{API}/priority/search",
        json={"values": [{"id": "1", "name": "Highest", "isDefault": False}], "isLast": False},
    )
    mocked.get(
        f"{API}/priority/search",
        json={"values": [{"id": "3", "name": "Medium", "isDefault": True}], "isLast": True},
    )
    assert [(p.name, p.is_default) for p in client.priorities()] == [("Highest", False), ("Medium", True)]
    assert _query(mocked) == {"startAt": ["1"], "maxResults": ["100"]}


def test_fields(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.get(
        f"{API}/field",
        json=[
            {
                "id": "summary",
                "key": "summary",
                "name": "Summary",
                "custom": False,
                "schema": {"type": "string"},
            },
            {
                "id": "customfield_10060",
                "key": "customfield_10060",
                "name": "Timeline",
                "custom": True,
                "schema": {
                    "type": "string",
                    "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
                },
            },
        ],
    )
    summary, timeline = client.fields()
    assert not summary.is_textarea
    assert timeline.is_textarea
    assert timeline.custom


def test_path_segments_are_encoded(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.put(f"{API}/issue/OPS-1/properties/a%2Fb", status=200)
    client.set_issue_property("OPS-1", "a/b", True)
    assert mocked.calls[0].request.url == f"{API}/issue/OPS-1/properties/a%2Fb"


def test_with_basic_auth(mocked: FakeHttp) -> None:
    mocked.get(f"{API}/myself", json={"accountId": "1"})
    client = JiraClient.with_basic_auth(SITE + "/", EMAIL, "token-value")
    client.myself()
    assert mocked.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert client.describe_identity() == EMAIL
    assert client.transport.base_url == SITE

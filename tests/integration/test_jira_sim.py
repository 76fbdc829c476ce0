"""Behaviour of the Jira simulator over real HTTP on 127.0.0.1 (the rules the bridge depends on)."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
import requests

from jira_sim import JiraSimulator, SimulatorCallError, text_doc
from jira_sim.receiver import WebhookReceiver
from jira_sim.seed import CLOUD_ID, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET

pytestmark = pytest.mark.integration

INTEGRATION = "jira-bridge@example.com"
ALICE = "alice@example.com"
BOB = "bob@example.com"
CAROL = "carol@example.com"
SEVERITY = "customfield_10041"
ROOT_CAUSE = "customfield_10047"


class Api:
    """requests with the simulator's base URL and one user's Basic credentials."""

    def __init__(self, sim: JiraSimulator, email: str | None = INTEGRATION) -> None:
        self.base = sim.base_url
        self.http = requests.Session()
        if email:
            self.http.auth = sim.credentials(email)

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.base + path, timeout=10, **kwargs)


@pytest.fixture
def api(jira_sim: JiraSimulator) -> Api:
    return Api(jira_sim)


def incident(summary: str = "Database latency", **fields: Any) -> dict[str, Any]:
    return {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Incident"},
            "summary": summary,
            "description": text_doc("Checkout is slow."),
            SEVERITY: {"value": "SEV2"},
            **fields,
        }
    }


def create(api: Api, body: dict[str, Any] | None = None) -> str:
    response = api("POST", "/rest/api/3/issue", json=body or incident())
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


def search(api: Api, jql: str, **params: Any) -> requests.Response:
    return api("GET", "/rest/api/3/search/jql", params={"jql": jql, "fields": "summary", **params})


def keys(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [issue["key"] for issue in response.json()["issues"]]


# -- auth and users --------------------------------------------------------------------------------


def test_basic_auth_identifies_the_user(jira_sim: JiraSimulator, api: Api) -> None:
    me = api("GET", "/rest/api/3/myself").json()
    assert me["emailAddress"] == INTEGRATION
    assert me["accountId"] == jira_sim.user(INTEGRATION).account_id


@pytest.mark.parametrize("auth", [None, (INTEGRATION, "wrong-token"), ("nobody@example.com", "x")])
def test_bad_or_missing_credentials_get_401_in_jira_shape(
    jira_sim: JiraSimulator, auth: tuple[str, str] | None
) -> None:
    response = requests.get(jira_sim.base_url + "/rest/api/3/myself", auth=auth, timeout=5)
    assert response.status_code == 401
    assert response.json() == {"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}}


def test_hidden_email_is_absent_and_not_searchable(jira_sim: JiraSimulator, api: Api) -> None:
    bob = jira_sim.user(BOB)
    shown = api("GET", "/rest/api/3/user", params={"accountId": bob.account_id}).json()
    assert "emailAddress" not in shown
    assert api("GET", "/rest/api/3/user/search", params={"query": BOB}).json() == []
    found = api("GET", "/rest/api/3/user/search", params={"query": "ALICE@example.com"}).json()
    assert [u["accountId"] for u in found] == [jira_sim.user(ALICE).account_id]


def test_permissions_are_per_user(jira_sim: JiraSimulator) -> None:
    params = {"permissions": "CREATE_ISSUES,TRANSITION_ISSUES", "projectKey": "OPS"}
    carol = Api(jira_sim, CAROL)("GET", "/rest/api/3/mypermissions", params=params).json()["permissions"]
    alice = Api(jira_sim, ALICE)("GET", "/rest/api/3/mypermissions", params=params).json()["permissions"]
    assert carol["CREATE_ISSUES"]["havePermission"] is True
    assert carol["TRANSITION_ISSUES"]["havePermission"] is False
    assert alice["TRANSITION_ISSUES"]["havePermission"] is True


def test_assignee_endpoint_assigns_unassigns_and_defaults(jira_sim: JiraSimulator, api: Api) -> None:
    key = create(api)
    alice = jira_sim.user(ALICE).account_id

    def assignee() -> str | None:
        value: str | None = jira_sim.issue(key).fields.get("assignee")
        return value

    assert api("PUT", f"/rest/api/3/issue/{key}/assignee", json={"accountId": alice}).status_code == 204
    assert assignee() == alice
    assert api("PUT", f"/rest/api/3/issue/{key}/assignee", json={"accountId": None}).status_code == 204
    assert assignee() is None
    assert api("PUT", f"/rest/api/3/issue/{key}/assignee", json={"accountId": "-1"}).status_code == 204
    assert assignee() == jira_sim.site.project("OPS").lead_account_id  # type: ignore[union-attr]
    unknown = api("PUT", f"/rest/api/3/issue/{key}/assignee", json={"accountId": "nobody"})
    assert (unknown.status_code, unknown.json()["errors"]) == (400, {"assignee": "User 'nobody' does not exist."})
    missing = api("PUT", f"/rest/api/3/issue/{key}/assignee", json={})
    assert missing.status_code == 400
    as_text = api("PUT", f"/rest/api/3/issue/{key}/assignee", data=b'{"accountId": null}',
                  headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 415
    assert assignee() == jira_sim.site.project("OPS").lead_account_id  # type: ignore[union-attr]


def test_removed_search_is_gone_and_all_projects_are_listed(api: Api) -> None:
    gone = api("GET", "/rest/api/3/search", params={"jql": "project = OPS"})
    assert gone.status_code == 410
    assert "/rest/api/3/search/jql" in gone.json()["errorMessages"][0]
    assert api("POST", "/rest/api/3/search", json={"jql": "project = OPS"}).status_code == 410
    projects = api("GET", "/rest/api/3/project")
    assert projects.status_code == 200
    assert {"OPS", "PAY"} <= {p["key"] for p in projects.json()}


def test_unknown_project_is_404_with_error_messages(api: Api) -> None:
    response = api("GET", "/rest/api/3/project/NOPE")
    assert response.status_code == 404
    assert response.json() == {"errorMessages": ["No project could be found with key 'NOPE'."], "errors": {}}


# -- creating and editing issues ---------------------------------------------------------------------


def test_create_answers_201_with_sequential_keys_and_stores_properties(jira_sim: JiraSimulator, api: Api) -> None:
    body = incident() | {"properties": [{"key": "jiraBridge", "value": {"incidentId": "INC-7"}}]}
    first = api("POST", "/rest/api/3/issue", json=body).json()
    second = create(api)
    assert first["key"] == "OPS-1"
    assert second == "OPS-2"
    assert first["self"].endswith(f"/rest/api/3/issue/{first['id']}")
    stored = jira_sim.issue("OPS-1")
    assert stored.properties == {"jiraBridge": {"incidentId": "INC-7"}}
    assert stored.fields["reporter"] == jira_sim.user(INTEGRATION).account_id
    shown = api("GET", "/rest/api/3/issue/OPS-1", params={"properties": "jiraBridge", "fields": "status"}).json()
    assert shown["properties"] == {"jiraBridge": {"incidentId": "INC-7"}}
    assert shown["fields"]["status"]["name"] == "To Do"


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({SEVERITY: None}, {SEVERITY: "Severity is required."}),
        (
            {ROOT_CAUSE: text_doc("not known yet")},
            {ROOT_CAUSE: f"Field '{ROOT_CAUSE}' cannot be set. It is not on the appropriate screen, or unknown."},
        ),
        (
            {"description": "plain text"},
            {"description": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"},
        ),
        ({SEVERITY: {"value": "SEV9"}}, {SEVERITY: "Option value 'SEV9' is not valid"}),
        ({"priority": {"name": "Urgent"}}, {"priority": "The priority selected is invalid."}),
        ({"customfield_10043": "many"}, {"customfield_10043": "Operation value must be a number"}),
    ],
)
def test_create_refuses_what_jira_refuses(
    jira_sim: JiraSimulator, api: Api, fields: dict[str, Any], errors: dict[str, str]
) -> None:
    response = api("POST", "/rest/api/3/issue", json=incident(**fields))
    assert response.status_code == 400
    assert response.json() == {"errorMessages": [], "errors": errors}
    assert jira_sim.issues() == []


def test_create_refuses_invalid_adf_nodes(api: Api) -> None:
    bad = {"type": "doc", "version": 1, "content": [{"type": "no-such-node"}]}
    response = api("POST", "/rest/api/3/issue", json=incident(description=bad))
    assert response.status_code == 400
    assert response.json()["errors"] == {"description": "INVALID_INPUT"}


def test_edit_sets_and_updates_labels_and_refuses_fields_off_the_edit_screen(jira_sim: JiraSimulator, api: Api) -> None:
    key = create(api, incident(labels=["db"]))
    edit = {"update": {"labels": [{"add": "sev2"}, {"remove": "db"}]}, "fields": {"summary": "DB latency (EU)"}}
    assert api("PUT", f"/rest/api/3/issue/{key}", json=edit).status_code == 204
    assert jira_sim.issue(key).fields["labels"] == ["sev2"]
    assert jira_sim.issue(key).fields["summary"] == "DB latency (EU)"
    assert api("PUT", f"/rest/api/3/issue/{key}", json={"fields": {ROOT_CAUSE: text_doc("disk")}}).status_code == 204
    refused = api("PUT", f"/rest/api/3/issue/{key}", json={"fields": {"status": {"name": "Done"}}})
    assert refused.status_code == 400
    assert "status" in refused.json()["errors"]


def test_moved_issue_keeps_its_id_and_old_key(jira_sim: JiraSimulator, api: Api) -> None:
    key = create(api)
    issue_id = jira_sim.issue(key).id
    new_key = jira_sim.move_issue(key, "PAY")
    assert new_key == "PAY-1"
    by_old_key = api("GET", f"/rest/api/3/issue/{key}", params={"fields": "summary"}).json()
    assert (by_old_key["id"], by_old_key["key"]) == (issue_id, "PAY-1")


# -- workflow ----------------------------------------------------------------------------------------


def test_direct_move_to_done_is_refused(api: Api) -> None:
    key = create(api)
    available = api("GET", f"/rest/api/3/issue/{key}/transitions").json()["transitions"]
    assert [(t["id"], t["to"]["name"]) for t in available] == [("11", "In Progress"), ("91", "Won't Do")]
    response = api("POST", f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "31"}})
    assert response.status_code == 400
    assert "not valid for the current state of this issue (OPS-1)" in response.json()["errorMessages"][0]
    unknown = api("POST", f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "999"}})
    assert unknown.json()["errorMessages"] == ["Transition id '999' is not valid for this issue."]


def test_done_requires_a_resolution_on_its_screen(jira_sim: JiraSimulator, api: Api) -> None:
    key = create(api)
    for transition in ("11", "21"):
        assert api("POST", f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": transition}}).ok
    listed = api("GET", f"/rest/api/3/issue/{key}/transitions", params={"expand": "transitions.fields"}).json()
    done = next(t for t in listed["transitions"] if t["id"] == "31")
    assert done["fields"]["resolution"]["required"] is True
    missing = api("POST", f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "31"}})
    assert missing.status_code == 400
    assert missing.json()["errorMessages"] == ["Field Resolution is required."]
    body = {
        "transition": {"id": "31"},
        "fields": {"resolution": {"name": "Done"}},
        "update": {"comment": [{"add": {"body": text_doc("Resolved by the bridge")}}]},
    }
    assert api("POST", f"/rest/api/3/issue/{key}/transitions", json=body).status_code == 204
    stored = jira_sim.issue(key)
    assert (stored.status_id, stored.fields["resolution"]) == ("10002", "10000")
    assert stored.resolution_date is not None
    assert [c.body for c in stored.comments] == [text_doc("Resolved by the bridge")]


def test_fields_off_the_transition_screen_are_refused(api: Api) -> None:
    key = create(api)
    body = {"transition": {"id": "11"}, "fields": {"resolution": {"name": "Done"}}}
    response = api("POST", f"/rest/api/3/issue/{key}/transitions", json=body)
    assert response.json()["errors"] == {
        "resolution": "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."
    }


def test_a_user_without_transition_permission_sees_no_transitions(jira_sim: JiraSimulator, api: Api) -> None:
    key = create(api)
    carol = Api(jira_sim, CAROL)
    assert carol("GET", f"/rest/api/3/issue/{key}/transitions").json()["transitions"] == []
    response = carol("POST", f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "11"}})
    assert response.status_code == 400


def test_a_human_walks_the_workflow(jira_sim: JiraSimulator, api: Api) -> None:
    key = create(api)
    alice = jira_sim.as_user(ALICE)
    with pytest.raises(SimulatorCallError) as refused:
        alice.transition(key, "Done")
    assert refused.value.status == 400
    assert alice.move_to(key, "Done") == ["Start Progress", "Request Review", "Done"]
    history = jira_sim.issue(key).changelog
    assert {group.author for group in history} == {jira_sim.user(ALICE).account_id}


# -- comments ------------------------------------------------------------------------------------------


def test_comment_lifecycle_in_adf(jira_sim: JiraSimulator, api: Api) -> None:
    key = create(api)
    added = api("POST", f"/rest/api/3/issue/{key}/comment", json={"body": text_doc("Investigating")})
    assert added.status_code == 201
    comment_id = added.json()["id"]
    assert added.json()["body"] == text_doc("Investigating")
    assert api("PUT", f"/rest/api/3/issue/{key}/comment/{comment_id}", json={"body": text_doc("Mitigated")}).ok
    page = api("GET", f"/rest/api/3/issue/{key}/comment").json()
    assert (page["total"], page["comments"][0]["body"]) == (1, text_doc("Mitigated"))
    assert api("DELETE", f"/rest/api/3/issue/{key}/comment/{comment_id}").status_code == 204
    assert api("GET", f"/rest/api/3/issue/{key}/comment/{comment_id}").status_code == 404
    assert jira_sim.issue(key).comments == []


def test_plain_string_comment_is_refused(api: Api) -> None:
    key = create(api)
    response = api("POST", f"/rest/api/3/issue/{key}/comment", json={"body": "plain"})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "comment": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    }


def test_someone_elses_comment_needs_edit_all_comments(jira_sim: JiraSimulator, api: Api) -> None:
    key = create(api)
    comment_id = api("POST", f"/rest/api/3/issue/{key}/comment", json={"body": text_doc("x")}).json()["id"]
    alice = Api(jira_sim, ALICE)
    assert alice("PUT", f"/rest/api/3/issue/{key}/comment/{comment_id}", json={"body": text_doc("y")}).ok
    assert jira_sim.issue(key).comments[0].update_author == jira_sim.user(ALICE).account_id


# -- properties --------------------------------------------------------------------------------------


def test_issue_properties_round_trip(api: Api) -> None:
    key = create(api)
    path = f"/rest/api/3/issue/{key}/properties/jiraBridge"
    assert api("PUT", path, json={"incidentId": "INC-1"}).status_code == 201
    assert api("PUT", path, json={"incidentId": "INC-1", "v": 2}).status_code == 200
    assert api("GET", path).json() == {"key": "jiraBridge", "value": {"incidentId": "INC-1", "v": 2}}
    assert [k["key"] for k in api("GET", f"/rest/api/3/issue/{key}/properties").json()["keys"]] == ["jiraBridge"]
    assert api("DELETE", path).status_code == 204
    assert api("GET", path).status_code == 404


# -- JQL -------------------------------------------------------------------------------------------


def test_jql_subset(jira_sim: JiraSimulator, api: Api) -> None:
    bridge = {"properties": [{"key": "jiraBridge", "value": {"incidentId": "INC-42"}}]}
    create(api, incident("Payments down", labels=["payments"], priority={"name": "Highest"}) | bridge)
    create(api, incident("Cache cold", labels=["cache"]))
    create(api, {"fields": {"project": {"key": "PAY"}, "issuetype": {"name": "Task"}, "summary": "Refund"}})
    jira_sim.as_user(ALICE).transition("OPS-2", "In Progress")

    assert keys(search(api, "key = OPS-1")) == ["OPS-1"]
    assert keys(search(api, "project = OPS ORDER BY key ASC")) == ["OPS-1", "OPS-2"]
    assert keys(search(api, "issuekey in (OPS-1, PAY-1) ORDER BY key DESC")) == ["PAY-1", "OPS-1"]
    assert keys(search(api, 'status = "In Progress"')) == ["OPS-2"]
    assert keys(search(api, 'status in ("To Do", Done) AND project = OPS')) == ["OPS-1"]
    assert keys(search(api, "priority = Highest")) == ["OPS-1"]
    assert keys(search(api, "labels = cache OR (project = PAY AND summary ~ refund) ORDER BY key")) == [
        "OPS-2",
        "PAY-1",
    ]
    assert keys(search(api, 'issue.property[jiraBridge].incidentId = "INC-42"')) == ["OPS-1"]
    assert len(keys(search(api, "updated >= -5m"))) == 3
    assert keys(search(api, "updated <= -5m")) == []
    today = time.strftime("%Y-%m-%d")
    assert len(keys(search(api, f'updated >= "{today} 00:00" AND project = OPS'))) == 2
    assert keys(search(api, "project = OPS ORDER BY updated DESC"))[0] == "OPS-2"


def test_jql_search_pages_with_next_page_token(api: Api) -> None:
    for n in range(5):
        create(api, incident(f"Incident {n}"))
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params: dict[str, Any] = {"maxResults": 2} | ({"nextPageToken": token} if token else {})
        page = search(api, "project = OPS ORDER BY key ASC", **params).json()
        seen += [i["key"] for i in page["issues"]]
        pages += 1
        token = page.get("nextPageToken")
        if page["isLast"]:
            assert token is None
            break
    assert (pages, seen) == (3, [f"OPS-{n}" for n in range(1, 6)])


def test_jql_post_form_and_default_fields(api: Api) -> None:
    create(api)
    posted = api("POST", "/rest/api/3/search/jql", json={"jql": "project = OPS", "fields": ["summary"]}).json()
    assert posted["issues"][0]["fields"] == {"summary": "Database latency"}
    bare = api("GET", "/rest/api/3/search/jql", params={"jql": "project = OPS"}).json()
    assert bare == {"issues": [{"id": "10000"}], "isLast": True}


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("key = OPS-99", "An issue with key 'OPS-99' does not exist for field 'key'."),
        ("nonsense = 1", "Field 'nonsense' does not exist or you do not have permission to view it."),
        ("project OPS", "Error in the JQL Query: Expecting operator but got 'OPS'."),
        ("project = OPS AND (status = Done", "Error in the JQL Query: Expecting ')'"),
        ('summary = "x" AND project = OPS', "The operator '=' is not supported by the 'summary' field."),
        ("status WAS Done", "does not support"),
        ("ORDER BY updated DESC", "Unbounded JQL queries are not allowed here."),
        ('updated >= "yesterday"', "Date value 'yesterday' for field 'updated' is invalid."),
    ],
)
def test_bad_jql_is_400_with_an_explanation(api: Api, jql: str, message: str) -> None:
    response = search(api, jql)
    assert response.status_code == 400
    assert response.json()["errors"] == {}
    assert response.json()["errorMessages"][0].startswith(message) or message in response.json()["errorMessages"][0]


# -- webhooks ---------------------------------------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_webhooks_are_signed_and_attribute_the_human(
    jira_sim: JiraSimulator, api: Api, webhook_receiver: WebhookReceiver
) -> None:
    jira_sim.webhooks.register(webhook_receiver.url, secret="s3cret")
    key = create(api)
    jira_sim.as_user(ALICE).transition(key, "In Progress")
    assert jira_sim.webhooks.wait_idle(5)
    created, transitioned = webhook_receiver.wait_for(2)
    for delivery in (created, transitioned):
        assert delivery.header("X-Hub-Signature") == signature("s3cret", delivery.body)
        assert delivery.header("X-Atlassian-Webhook-Flow") == "Primary"
        assert delivery.header("X-Atlassian-Webhook-Retry") is None
    assert created.json()["webhookEvent"] == "jira:issue_created"
    assert created.json()["user"]["accountId"] == jira_sim.user(INTEGRATION).account_id
    update = transitioned.json()
    assert (update["webhookEvent"], update["issue_event_type_name"]) == ("jira:issue_updated", "issue_generic")
    assert update["user"]["accountId"] == jira_sim.user(ALICE).account_id
    assert update["changelog"]["items"] == [
        {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": "10000",
            "fromString": "To Do",
            "to": "3",
            "toString": "In Progress",
        }
    ]
    assert update["issue"]["fields"]["description"] == "Checkout is slow."  # wiki text, as webhooks carry it
    assert created.header("X-Atlassian-Webhook-Identifier") != transitioned.header("X-Atlassian-Webhook-Identifier")


def test_failed_delivery_is_retried_with_the_same_identifier(
    jira_sim: JiraSimulator, api: Api, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.answer_with(500, 503)
    jira_sim.webhooks.register(webhook_receiver.url, events=["jira:issue_created"], secret="s3cret")
    create(api)
    first, second, third = webhook_receiver.wait_for(3)
    assert jira_sim.webhooks.wait_idle(5)
    identifiers = {d.header("X-Atlassian-Webhook-Identifier") for d in (first, second, third)}
    assert len(identifiers) == 1
    assert [d.header("X-Atlassian-Webhook-Retry") for d in (first, second, third)] == [None, "1", "2"]
    assert first.body == third.body
    log = jira_sim.webhooks.deliveries
    assert [(d.attempt, d.status, d.will_retry) for d in log] == [(1, 500, True), (2, 503, True), (3, 204, False)]


def test_client_errors_are_not_retried_and_attempts_are_bounded(
    jira_sim: JiraSimulator, api: Api, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.answer_with(400)
    jira_sim.webhooks.register(webhook_receiver.url, events=["jira:issue_created"])
    create(api)
    assert jira_sim.webhooks.wait_idle(5)
    webhook_receiver.default_status = 502
    create(api)
    assert jira_sim.webhooks.wait_idle(5)
    statuses = [(d.status, d.attempt) for d in jira_sim.webhooks.deliveries]
    assert statuses == [(400, 1), (502, 1), (502, 2), (502, 3), (502, 4)]


def test_unreachable_receivers_are_retried_until_attempts_run_out(jira_sim: JiraSimulator, api: Api) -> None:
    with WebhookReceiver() as gone:
        url = gone.url  # a port nothing listens on once the receiver stops
    jira_sim.webhooks.register(url, events=["jira:issue_created"])
    create(api)
    assert jira_sim.webhooks.wait_idle(5)
    log = jira_sim.webhooks.deliveries
    assert [(d.attempt, d.status) for d in log] == [(1, None), (2, None), (3, None), (4, None)]
    assert all(d.error for d in log)
    assert len({d.identifier for d in log}) == 1


def test_comment_events_and_jql_filters(jira_sim: JiraSimulator, api: Api, webhook_receiver: WebhookReceiver) -> None:
    events = ["comment_created", "jira:issue_updated"]
    jira_sim.webhooks.register(webhook_receiver.url, events=events, jql_filter="project = OPS")
    ops = create(api)
    pay = create(api, {"fields": {"project": {"key": "PAY"}, "issuetype": {"name": "Task"}, "summary": "x"}})
    Api(jira_sim, ALICE)("POST", f"/rest/api/3/issue/{pay}/comment", json={"body": text_doc("ignored")})
    Api(jira_sim, ALICE)("POST", f"/rest/api/3/issue/{ops}/comment", json={"body": text_doc("*seen*")})
    assert jira_sim.webhooks.wait_idle(5)
    bodies = [d.json() for d in webhook_receiver.received]
    assert [(b["webhookEvent"], b.get("issue_event_type_name")) for b in bodies] == [
        ("comment_created", None),
        ("jira:issue_updated", "issue_commented"),
    ]
    comment_event = bodies[0]
    assert set(comment_event) == {"timestamp", "webhookEvent", "comment", "issue"}
    assert comment_event["comment"]["body"] == "*seen*"
    assert comment_event["comment"]["author"]["accountId"] == jira_sim.user(ALICE).account_id
    assert set(comment_event["issue"]["fields"]) == {
        "summary",
        "issuetype",
        "project",
        "assignee",
        "priority",
        "status",
    }


def test_admin_webhook_rest_api(jira_sim: JiraSimulator, api: Api, webhook_receiver: WebhookReceiver) -> None:
    body = {
        "name": "bridge",
        "url": webhook_receiver.url + "?issue=${issue.key}",
        "events": ["jira:issue_created"],
        "filters": {"issue-related-events-section": "project = OPS"},
        "secret": "s3cret",
    }
    registered = api("POST", "/rest/webhooks/1.0/webhook", json=body)
    assert registered.status_code == 201
    assert "secret" not in registered.json()
    assert [w["name"] for w in api("GET", "/rest/webhooks/1.0/webhook").json()] == ["bridge"]
    create(api)
    (delivery,) = webhook_receiver.wait_for(1)
    assert delivery.path.endswith("?issue=OPS-1")
    bad = api("POST", "/rest/webhooks/1.0/webhook", json=body | {"events": ["nope"]})
    assert bad.status_code == 400


# -- faults -------------------------------------------------------------------------------------------


def test_rate_limit_for_the_next_requests(jira_sim: JiraSimulator, api: Api) -> None:
    jira_sim.faults.rate_limit(count=2, retry_after=3, method="POST", path="/rest/api/3/issue")
    assert api("GET", "/rest/api/3/myself").status_code == 200  # other requests are unaffected
    for _ in range(2):
        limited = api("POST", "/rest/api/3/issue", json=incident())
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "3"
        assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
        assert limited.headers["X-RateLimit-Reset"].endswith("Z")
    assert api("POST", "/rest/api/3/issue", json=incident()).status_code == 201
    assert jira_sim.count("POST", "/rest/api/3/issue") == 3
    assert [r.status for r in jira_sim.requests if r.method == "POST"] == [429, 429, 201]


def test_server_errors_slowness_and_outages(jira_sim: JiraSimulator, api: Api) -> None:
    jira_sim.faults.server_error(503, count=1, retry_after=1, path="/rest/api/3/issue/*")
    key = create(api)
    failed = api("GET", f"/rest/api/3/issue/{key}")
    assert (failed.status_code, failed.headers.get("Retry-After")) == (503, "1")
    assert api("GET", f"/rest/api/3/issue/{key}").status_code == 200

    jira_sim.faults.slow(0.2, count=1)
    started = time.perf_counter()
    assert api("GET", "/rest/api/3/myself").status_code == 200
    assert time.perf_counter() - started >= 0.2

    jira_sim.faults.outage(seconds=0.3)
    assert api("GET", "/rest/api/3/myself").status_code == 503
    assert requests.get(jira_sim.base_url + "/_sim/state", timeout=5).status_code == 200  # admin stays up
    time.sleep(0.35)
    assert api("GET", "/rest/api/3/myself").status_code == 200


def test_faults_via_the_admin_endpoint(jira_sim: JiraSimulator, api: Api) -> None:
    spec = {"kind": "rate_limit", "count": 1, "retryAfter": 0, "reason": "jira-per-issue-on-write"}
    assert requests.post(jira_sim.base_url + "/_sim/faults", json=spec, timeout=5).status_code == 201
    limited = api("GET", "/rest/api/3/myself")
    assert (limited.status_code, limited.headers["RateLimit-Reason"]) == (429, "jira-per-issue-on-write")
    assert api("GET", "/rest/api/3/myself").status_code == 200


# -- OAuth, Connect JWT and builds/deployments --------------------------------------------------------


def oauth_token(sim: JiraSimulator, **overrides: str) -> requests.Response:
    body = {
        "audience": "api.atlassian.com",
        "grant_type": "client_credentials",
        "client_id": OAUTH_CLIENT_ID,
        "client_secret": OAUTH_CLIENT_SECRET,
    } | overrides
    return requests.post(sim.base_url + "/oauth/token", json=body, timeout=5)


def build(number: int, usn: int, state: str = "successful", issue_keys: tuple[str, ...] = ("OPS-1",)) -> dict[str, Any]:
    return {
        "pipelineId": "ci/main",
        "buildNumber": number,
        "updateSequenceNumber": usn,
        "displayName": f"main #{number}",
        "url": f"https://ci.example.com/main/{number}",
        "state": state,
        "lastUpdated": "2025-01-20T23:27:25.000Z",
        "issueKeys": list(issue_keys),
    }


def deployment(sequence: int, usn: int, values: list[str]) -> dict[str, Any]:
    return {
        "deploymentSequenceNumber": sequence,
        "updateSequenceNumber": usn,
        "associations": [{"associationType": "issueIdOrKeys", "values": values}],
        "displayName": f"deploy {sequence}",
        "url": f"https://ci.example.com/deploy/{sequence}",
        "description": "release",
        "lastUpdated": "2025-01-20T23:27:25.000Z",
        "state": "successful",
        "pipeline": {"id": "deploy", "displayName": "Deploy", "url": "https://ci.example.com/deploy"},
        "environment": {"id": "prod-eu", "displayName": "Production EU", "type": "production"},
    }


def test_oauth_token_works_on_the_gateway_until_it_expires(jira_sim: JiraSimulator, api: Api) -> None:
    create(api)
    issued = oauth_token(jira_sim).json()
    assert issued["token_type"] == "Bearer"
    assert issued["expires_in"] == 3600
    assert "write:build:jira-software" in issued["scope"].split()
    tenant = requests.get(jira_sim.base_url + "/_edge/tenant_info", timeout=5).json()
    url = f"{jira_sim.base_url}/jira/builds/0.1/cloud/{tenant['cloudId']}/bulk"
    headers = {"Authorization": f"Bearer {issued['access_token']}"}
    accepted = requests.post(url, json={"builds": [build(1, 1)]}, headers=headers, timeout=5)
    assert accepted.status_code == 202
    assert accepted.json()["acceptedBuilds"] == [{"pipelineId": "ci/main", "buildNumber": 1}]
    jira_sim.expire_oauth_tokens()
    expired = requests.post(url, json={"builds": [build(1, 2)]}, headers=headers, timeout=5)
    assert expired.status_code == 401
    assert expired.json()[0]["message"] == "The access token is invalid or has expired."


def test_oauth_token_ttl_is_configurable(jira_sim: JiraSimulator) -> None:
    jira_sim.oauth.ttl_seconds = 0.2
    token = oauth_token(jira_sim).json()
    assert token["expires_in"] == 0
    url = f"{jira_sim.base_url}/jira/builds/0.1/cloud/{CLOUD_ID}/pipelines/ci/builds/1"
    time.sleep(0.25)
    response = requests.get(url, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=5)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "access_denied"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"audience": "elsewhere"}, 403, "access_denied"),
    ],
)
def test_oauth_token_refusals(jira_sim: JiraSimulator, overrides: dict[str, str], status: int, error: str) -> None:
    response = oauth_token(jira_sim, **overrides)
    assert (response.status_code, response.json()["error"]) == (status, error)


def test_connect_jwt_with_qsh_is_accepted_and_forgeries_are_not(jira_sim: JiraSimulator, api: Api) -> None:
    create(api)
    path = "/rest/builds/0.1/bulk"
    url = jira_sim.base_url + path
    good = jira_sim.connect_jwt("POST", path)
    accepted = requests.post(url, json={"builds": [build(1, 1)]}, headers={"Authorization": f"JWT {good}"}, timeout=5)
    assert accepted.status_code == 202
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-shared-secret-of-the-connect-app", algorithm="HS256")
    other_request = jira_sim.connect_jwt("GET", path)
    bearer_on_site = jira_sim.issue_oauth_token()
    for authorization in (f"JWT {forged}", f"JWT {other_request}", f"Bearer {bearer_on_site}", None):
        headers = {"Authorization": authorization} if authorization else {}
        response = requests.post(url, json={"builds": [build(2, 1)]}, headers=headers, timeout=5)
        assert response.status_code == 401, authorization
    assert jira_sim.build("ci/main", 2) is None


def test_builds_honour_update_sequence_numbers_and_report_unknown_keys(jira_sim: JiraSimulator, api: Api) -> None:
    create(api)
    token = jira_sim.issue_oauth_token()
    url = f"{jira_sim.base_url}/jira/builds/0.1/cloud/{CLOUD_ID}/bulk"
    headers = {"Authorization": f"Bearer {token}"}

    def submit(*builds: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(url, json={"builds": list(builds)}, headers=headers, timeout=5)
        assert response.status_code == 202, response.text
        result: dict[str, Any] = response.json()
        return result

    first = submit(build(7, 100, "in_progress", ("OPS-1", "NOPE-9")), build(8, 1, issue_keys=("NOPE-9",)))
    assert first["acceptedBuilds"] == [{"pipelineId": "ci/main", "buildNumber": 7}]
    assert first["unknownIssueKeys"] == ["NOPE-9"]
    assert first["rejectedBuilds"][0]["key"] == {"pipelineId": "ci/main", "buildNumber": 8}
    older = submit(build(7, 99, "failed"))
    assert older["acceptedBuilds"] == [{"pipelineId": "ci/main", "buildNumber": 7}]  # accepted, not applied
    assert jira_sim.build("ci/main", 7)["state"] == "in_progress"  # type: ignore[index]
    submit(build(7, 101, "successful"))
    assert jira_sim.build("ci/main", 7)["state"] == "successful"  # type: ignore[index]
    assert [b["buildNumber"] for b in jira_sim.development_info("OPS-1")["builds"]] == [7]
    read = requests.get(
        f"{jira_sim.base_url}/jira/builds/0.1/cloud/{CLOUD_ID}/pipelines/ci/main/builds/7", headers=headers, timeout=5
    )
    assert read.json()["updateSequenceNumber"] == 101


def test_invalid_entities_are_rejected_and_malformed_requests_are_400(jira_sim: JiraSimulator, api: Api) -> None:
    create(api)
    url = f"{jira_sim.base_url}/jira/builds/0.1/cloud/{CLOUD_ID}/bulk"
    headers = {"Authorization": f"Bearer {jira_sim.issue_oauth_token()}"}
    bad_state = build(1, 1) | {"state": "exploded"}
    partly = requests.post(url, json={"builds": [bad_state, build(2, 1)]}, headers=headers, timeout=5)
    assert partly.status_code == 202
    assert [r["key"]["buildNumber"] for r in partly.json()["rejectedBuilds"]] == [1]
    assert "exploded" in partly.json()["rejectedBuilds"][0]["errors"][0]["message"]
    malformed = requests.post(url, json={"builds": []}, headers=headers, timeout=5)
    assert malformed.status_code == 400
    assert malformed.json()[0]["message"]
    elsewhere = url.replace(CLOUD_ID, "0000")
    wrong_site = requests.post(elsewhere, json={"builds": [build(3, 1)]}, headers=headers, timeout=5)
    assert wrong_site.status_code == 404


def test_a_bulk_request_over_the_size_limit_is_413_before_anything_is_stored(
    jira_sim: JiraSimulator, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(api)
    url = f"{jira_sim.base_url}/jira/builds/0.1/cloud/{CLOUD_ID}/bulk"
    headers = {"Authorization": f"Bearer {jira_sim.issue_oauth_token()}"}
    body = {"builds": [build(n, 1) for n in range(1, 11)]}
    monkeypatch.setattr(jira_sim.software, "max_request_bytes", len(json.dumps(body)) - 1)
    refused = requests.post(url, data=json.dumps(body), headers=headers | {"Content-Type": "application/json"},
                            timeout=5)
    assert refused.status_code == 413
    assert refused.json() == [{"message": "Data is too large. Submit fewer builds in each payload."}]
    assert jira_sim.build("ci/main", 1) is None
    half = {"builds": body["builds"][:5]}
    accepted = requests.post(url, data=json.dumps(half), headers=headers | {"Content-Type": "application/json"},
                             timeout=5)
    assert accepted.status_code == 202


def test_deployments_with_associations_and_gating(jira_sim: JiraSimulator, api: Api) -> None:
    create(api)
    path = "/rest/deployments/0.1/bulk"
    headers = {"Authorization": f"JWT {jira_sim.connect_jwt('POST', path)}"}
    body = {"deployments": [deployment(3, 10, ["OPS-1", "OPS-404"])]}
    result = requests.post(jira_sim.base_url + path, json=body, headers=headers, timeout=5).json()
    assert result["acceptedDeployments"] == [
        {"pipelineId": "deploy", "environmentId": "prod-eu", "deploymentSequenceNumber": 3}
    ]
    assert result["unknownAssociations"] == [{"associationType": "issueIdOrKeys", "values": ["OPS-404"]}]
    assert jira_sim.deployment("deploy", "prod-eu", 3)["state"] == "successful"  # type: ignore[index]
    gating_path = "/rest/deployments/0.1/pipelines/deploy/environments/prod-eu/deployments/3/gating-status"
    gating_headers = {"Authorization": f"JWT {jira_sim.connect_jwt('GET', gating_path)}"}
    gating = requests.get(jira_sim.base_url + gating_path, headers=gating_headers, timeout=5).json()
    assert gating["gatingStatus"] == "allowed"


# -- request log and the admin surface ----------------------------------------------------------------


def test_request_log_records_everything_but_secrets(jira_sim: JiraSimulator, api: Api) -> None:
    create(api)
    api("GET", "/rest/api/3/issue/OPS-1")
    entry = jira_sim.requests[0]
    assert (entry.method, entry.path, entry.status) == ("POST", "/rest/api/3/issue", 201)
    assert entry.body["fields"]["summary"] == "Database latency"
    assert entry.response_body["key"] == "OPS-1"
    assert entry.principal == jira_sim.user(INTEGRATION).account_id
    assert entry.headers["Authorization"] == "Basic <redacted>"
    token = base64.b64encode(b"x").decode()
    assert all(token not in str(e.headers) for e in jira_sim.requests)
    logged = requests.get(jira_sim.base_url + "/_sim/requests", params={"method": "GET"}, timeout=5).json()
    assert [r["path"] for r in logged["requests"]] == ["/rest/api/3/issue/OPS-1"]
    jira_sim.reset_log()
    assert jira_sim.count() == 0


def test_index_and_state_show_issues_for_people(jira_sim: JiraSimulator, api: Api) -> None:
    key = create(api)
    jira_sim.as_user(ALICE).comment(key, "On it")
    page = requests.get(jira_sim.base_url + "/", timeout=5)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "OPS-1" in page.text
    assert "Alice Oncall: On it" in page.text
    state = requests.get(jira_sim.base_url + "/_sim/state", timeout=5).json()
    assert state["issues"][0]["status"] == "To Do"
    assert jira_sim.count() == 2  # admin pages are not logged


def test_reset_returns_to_the_seed(jira_sim: JiraSimulator, api: Api) -> None:
    create(api)
    jira_sim.faults.outage()
    assert requests.post(jira_sim.base_url + "/_sim/reset", timeout=5).status_code == 204
    assert jira_sim.issues() == []
    assert create(api) == "OPS-1"

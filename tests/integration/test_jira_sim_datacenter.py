"""The simulator as a Jira Data Center site, over real HTTP: the behaviour a Data Center client meets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from jira_sim import JiraSimulator, sign
from jira_sim.auth import CAPTCHA_THRESHOLD
from jira_sim.receiver import WebhookReceiver
from tests.conftest_jira_sim import FAST_DELIVERY

pytestmark = pytest.mark.integration

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "contracts" / "jira-webhooks" / "more"


@pytest.fixture
def dc(jira_contracts_dir: Path | None) -> Iterator[JiraSimulator]:
    with JiraSimulator(contracts_dir=jira_contracts_dir, delivery_policy=FAST_DELIVERY, flavour="datacenter") as sim:
        yield sim


def call(sim: JiraSimulator, method: str, path: str, *, pat: str | None = "jira-bridge-pat",
         basic: tuple[str, str] | None = None, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {pat}"} if pat and basic is None else {}
    return requests.request(method, sim.base_url + path, headers=headers, auth=basic, timeout=10, **kwargs)


def create(sim: JiraSimulator, **fields: Any) -> str:
    body = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Checkout down", **fields}}
    answer = call(sim, "POST", "/rest/api/2/issue", json=body)
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    return key


def test_only_rest_v2_is_served(dc: JiraSimulator) -> None:
    assert call(dc, "GET", "/rest/api/2/myself").status_code == 200
    assert call(dc, "GET", "/rest/api/3/myself").status_code == 404
    assert call(dc, "POST", "/rest/api/3/search/jql", json={"jql": "project = OPS"}).status_code == 404
    assert call(dc, "GET", "/_edge/tenant_info").status_code == 404


def test_a_cloud_site_does_not_serve_the_datacenter_shapes(jira_sim: JiraSimulator) -> None:
    answer = requests.get(jira_sim.base_url + "/rest/api/2/serverInfo", timeout=10,
                          auth=jira_sim.credentials("jira-bridge@example.com"))
    assert answer.status_code == 404


def test_users_are_named_by_username_and_key_never_account_id(dc: JiraSimulator) -> None:
    me = call(dc, "GET", "/rest/api/2/myself").json()
    assert (me["name"], me["key"].startswith("JIRAUSER"), "accountId" in me) == ("jira-bridge", True, False)
    found = call(dc, "GET", "/rest/api/2/user/search", params={"username": "alice@example.com"}).json()
    assert [u["name"] for u in found] == ["alice"]
    key = create(dc, assignee={"name": "alice"})
    assert call(dc, "GET", f"/rest/api/2/issue/{key}").json()["fields"]["assignee"]["name"] == "alice"
    refused = call(dc, "PUT", f"/rest/api/2/issue/{key}", json={"fields": {"assignee": {"accountId": "x"}}})
    assert refused.status_code == 400
    assert "name" in refused.json()["errors"]["assignee"]


def test_rich_text_is_wiki_markup_stored_as_given(dc: JiraSimulator) -> None:
    key = create(dc, description="h2. Impact\n*payments* down")
    assert call(dc, "GET", f"/rest/api/2/issue/{key}").json()["fields"]["description"] == "h2. Impact\n*payments* down"
    adf = {"type": "doc", "version": 1, "content": []}
    assert call(dc, "POST", f"/rest/api/2/issue/{key}/comment", json={"body": adf}).status_code == 400
    assert call(dc, "POST", f"/rest/api/2/issue/{key}/comment", json={"body": "{code}x{code}"}).status_code == 201
    comments = call(dc, "GET", f"/rest/api/2/issue/{key}/comment").json()["comments"]
    assert comments[0]["body"] == "{code}x{code}"
    assert "accountId" not in json.dumps(comments)


def test_search_pages_by_offset_and_clamps_max_results_silently(dc: JiraSimulator) -> None:
    for _ in range(3):
        create(dc)
    page = call(dc, "POST", "/rest/api/2/search", json={"jql": "project = OPS", "maxResults": 5000}).json()
    assert (page["maxResults"], page["total"], len(page["issues"])) == (1000, 3, 3)
    second = call(dc, "POST", "/rest/api/2/search", json={"jql": "project = OPS", "startAt": 2, "maxResults": 1})
    assert [i["key"] for i in second.json()["issues"]] == ["OPS-1"]
    cloud_style = call(dc, "POST", "/rest/api/2/search", json={"jql": "project = OPS", "nextPageToken": "x"})
    assert cloud_style.status_code == 400


def test_bad_credentials_are_answered_as_the_anonymous_user(dc: JiraSimulator) -> None:
    info = call(dc, "GET", "/rest/api/2/serverInfo", pat="not-a-token")
    assert (info.status_code, info.headers["X-AUSERNAME"], info.json()["version"]) == (200, "anonymous", "10.3.19")
    search = call(dc, "POST", "/rest/api/2/search", pat="not-a-token", json={"jql": "project = OPS"})
    assert (search.status_code, search.json()["total"]) == (200, 0)
    me = call(dc, "GET", "/rest/api/2/myself", pat="not-a-token")
    assert me.status_code == 401
    assert me.json() == {"message": "Client must be authenticated to access this resource.", "status-code": 401}
    assert call(dc, "GET", "/rest/api/2/myself").headers["X-AUSERNAME"] == "jira-bridge"


def test_failed_basic_logins_lock_the_account_behind_a_captcha_but_not_its_pat(dc: JiraSimulator) -> None:
    wrong = call(dc, "GET", "/rest/api/2/serverInfo", basic=("jira-bridge", "wrong"))
    assert (wrong.status_code, wrong.headers["X-Seraph-LoginReason"]) == (200, "AUTHENTICATED_FAILED")
    for _ in range(CAPTCHA_THRESHOLD - 1):
        call(dc, "GET", "/rest/api/2/myself", basic=("jira-bridge", "wrong"))
    locked = call(dc, "GET", "/rest/api/2/myself", basic=("jira-bridge", "jira-bridge-api-token"))
    assert locked.status_code == 403
    assert locked.headers["X-Authentication-Denied-Reason"].startswith("CAPTCHA_CHALLENGE; login-url=")
    assert call(dc, "GET", "/rest/api/2/myself").status_code == 200, "a PAT is not subject to the CAPTCHA"


def test_remote_links_are_upserted_by_global_id(dc: JiraSimulator) -> None:
    key = create(dc)
    link = {"globalId": "ci=deploy&env=prod", "object": {"url": "https://ci/1", "title": "Deploy #1"}}
    first = call(dc, "POST", f"/rest/api/2/issue/{key}/remotelink", json=link).json()
    link["object"] = {"url": "https://ci/2", "title": "Deploy #2", "status": {"resolved": True}}
    second = call(dc, "POST", f"/rest/api/2/issue/{key}/remotelink", json=link).json()
    assert first["id"] == second["id"]
    stored = call(dc, "GET", f"/rest/api/2/issue/{key}/remotelink").json()
    assert [s["object"]["title"] for s in stored] == ["Deploy #2"]


def _delivered(sim: JiraSimulator, receiver: WebhookReceiver) -> list[Any]:
    sim.webhooks.register(receiver.url, secret="dc-secret")
    key = create(sim, assignee={"name": "alice"})
    call(sim, "PUT", f"/rest/api/2/issue/{key}", json={"fields": {"assignee": {"name": "carol"}}})
    sim.webhooks.wait_idle()
    return receiver.wait_for(2)


def test_webhooks_look_like_the_server_captures(dc: JiraSimulator, webhook_receiver: WebhookReceiver) -> None:
    created, updated = _delivered(dc, webhook_receiver)[:2]
    capture = json.loads((CAPTURES / "jenkins-jira-trigger.issue_updated.custom_field.server.json").read_text())
    body = json.loads(updated.body)
    assert set(body) == set(capture)  # timestamp, webhookEvent, user, issue, changelog
    assert set(body["user"]) == set(capture["user"])  # name/key, no accountId
    assert "accountId" not in updated.body.decode()
    item = body["changelog"]["items"][0]
    assert set(item) == set(capture["changelog"]["items"][0])  # no fieldId, no tmp*AccountId
    assert item["to"].startswith("JIRAUSER")
    assert "X-Atlassian-Webhook-Identifier" not in created.headers  # documented for Cloud only
    assert created.headers["X-Hub-Signature"] == sign(created.body, "dc-secret")  # 10.x signs


def test_a_9x_site_delivers_unsigned(jira_contracts_dir: Path | None, webhook_receiver: WebhookReceiver) -> None:
    with JiraSimulator(contracts_dir=jira_contracts_dir, delivery_policy=FAST_DELIVERY, flavour="datacenter",
                       dc_version=(9, 12, 15)) as sim:
        delivered = _delivered(sim, webhook_receiver)
    assert delivered
    assert all("X-Hub-Signature" not in d.headers for d in delivered)

"""Jira Data Center, against Atlassian's own Data Center 10.3 OpenAPI (``jira-datacenter/``):

* every request the Data Center dialect builds is a documented ``/rest/api/2`` operation whose body
  validates, carries rich text as wiki-markup strings and never names an ``accountId``;
* the simulator's Data Center answers validate against the same spec (its response schemas), so a
  simulator drift would show here rather than as a bridge bug.

The spec declares only basic auth; a PAT (``Authorization: Bearer``) is Atlassian's documented
alternative since 8.14 (README section 2), so a ``bearer`` scheme is added as an alternative here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from jira_bridge.jira import adf
from jira_bridge.jira.auth import BasicLogin, BearerToken
from jira_bridge.jira.datacenter import DataCenterClient
from jira_bridge.jira.transport import Authenticator, JiraTransport
from jira_sim import JiraSimulator
from tests.contract.contracts import load_contract
from tests.http_fake import FakeHttp

pytestmark = pytest.mark.contract

SITE = "https://jira.corp.example"
API = f"{SITE}/rest/api/2"
RICH = adf.doc(adf.heading(2, "Impact"), adf.paragraph(adf.text("SEV1", [adf.strong()]), " on {payments}"),
               adf.bullet_list("api", "web"))


def _spec(server: str) -> OpenAPI:
    spec = load_contract("jira-datacenter/jira-software-dc-10.3.24.openapi.json")
    spec["servers"] = [{"url": f"{server}/rest"}]
    schemas = spec["components"]["schemas"]
    # Generated-spec defects (jira-datacenter/README.md section 1): every value of an issue's
    # `fields` is typed `object` (summary is a string, description wiki text, labels an array...),
    # and an entity property's `value` a string (it is any JSON). Loosened to "any JSON" here.
    for name in ("IssueBean", "IssueUpdateBean"):
        schemas[name]["properties"]["fields"]["additionalProperties"] = {"nullable": True}
    schemas["EntityPropertyBean"]["properties"]["value"] = {"nullable": True}
    schemas["PropertiesBean"] = {"type": "object", "additionalProperties": {"nullable": True}}
    put_property = spec["paths"]["/api/2/issue/{issueIdOrKey}/properties/{propertyKey}"]["put"]
    put_property["requestBody"]["content"]["application/json"]["schema"] = {}  # `string` of format json
    spec["components"]["securitySchemes"]["bearer"] = {"type": "http", "scheme": "bearer"}
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("security") == [{"basic": []}]:
                operation["security"] = [{"basic": []}, {"bearer": []}]
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def dc_spec() -> OpenAPI:
    return _spec(SITE)


def _client(auth: Authenticator) -> DataCenterClient:
    return DataCenterClient(JiraTransport(SITE, auth, sleep=lambda _s: None))


@pytest.fixture
def mock() -> Iterator[FakeHttp]:
    with FakeHttp() as rsps:
        yield rsps


def _answer_everything(mock: FakeHttp) -> None:
    issue = {"id": "10002", "key": "OPS-1", "fields": {}, "properties": {"jira-bridge": {"incidentId": "P1"}}}
    mock.get(f"{API}/myself", json={"name": "svc-bridge", "key": "JIRAUSER10000", "active": True})
    mock.get(f"{API}/serverInfo", json={"version": "10.3.19", "versionNumbers": [10, 3, 19]})
    mock.get(f"{API}/mypermissions", json={"permissions": {}})
    mock.get(f"{API}/user/search", json=[{"name": "alice", "emailAddress": "alice@example.com", "active": True}])
    mock.get(f"{API}/user", json={"name": "alice", "key": "JIRAUSER10001"})
    mock.get(f"{API}/priority", json=[{"id": "1", "name": "Highest"}])
    mock.get(f"{API}/field", json=[{"id": "summary", "name": "Summary", "custom": False}])
    mock.get(f"{API}/project/OPS", json={"id": "10000", "key": "OPS", "name": "Ops"})
    mock.post(f"{API}/issue", json={"id": "10002", "key": "OPS-1"}, status=201)
    mock.get(f"{API}/issue/OPS-1", json=issue)
    mock.get(f"{API}/issue/10002", json=issue)
    mock.put(f"{API}/issue/OPS-1", status=204)
    mock.get(f"{API}/issue/OPS-1/transitions", json={"transitions": []})
    mock.post(f"{API}/issue/OPS-1/transitions", status=204)
    mock.post(f"{API}/issue/OPS-1/comment", json={"id": "10100", "body": "x"}, status=201)
    mock.get(f"{API}/issue/OPS-1/comment", json={"startAt": 0, "maxResults": 50, "total": 0, "comments": []})
    mock.put(f"{API}/issue/OPS-1/properties/jira-bridge", status=200)
    mock.get(f"{API}/issue/OPS-1/properties/jira-bridge", json={"key": "jira-bridge", "value": {}})
    mock.post(f"{API}/issue/OPS-1/remotelink", json={"id": 10000, "self": "x"})
    mock.post(f"{API}/search", json={"startAt": 0, "maxResults": 50, "total": 1, "issues": [issue]})


def _every_operation(client: DataCenterClient) -> None:
    client.myself()
    client.server_info()
    client.my_permissions(["CREATE_ISSUES"], project_key="OPS")
    client.find_user_by_email("alice@example.com")
    client.get_user("alice")
    client.priorities()
    client.fields()
    client.get_project("OPS")
    client.create_issue(
        {"project": {"key": "OPS"}, "issuetype": {"name": "Incident"}, "summary": "Checkout down",
         "description": RICH, "assignee": {"accountId": "alice"}, "customfield_10044": RICH,
         "customfield_10046": {"accountId": "bob"}, "labels": ["incident"]},
        properties={"jira-bridge": {"incidentId": "P1"}},
    )
    client.edit_issue("OPS-1", fields={"priority": {"name": "High"}, "assignee": {"accountId": "carol"}},
                      update={"labels": [{"add": "x"}]})
    client.get_transitions("OPS-1")
    client.transition_issue("OPS-1", "31", fields={"resolution": {"name": "Done"}}, comment="Resolved {x}")
    client.add_comment("OPS-1", RICH, properties={"jira-bridge": {"note": "n-1"}})
    client.get_comments("OPS-1", order_by="-created")
    client.set_issue_property("OPS-1", "jira-bridge", {"incidentId": "P1"})
    client.get_issue_property("OPS-1", "jira-bridge")
    client.get_issue("OPS-1", fields=["status"], properties=["jira-bridge"])
    client.search_jql("labels = x", ["summary"], max_results=10, properties=["jira-bridge"])
    client.upsert_remote_link("OPS-1", {"globalId": "ci=a&env=prod", "relationship": "deployed by",
                                        "application": {"type": "com.example.ci", "name": "CI"},
                                        "object": {"url": "https://ci/1", "title": "Deploy #1",
                                                   "status": {"resolved": False}}})


@pytest.mark.parametrize("auth", [BearerToken("pat-123"), BasicLogin("svc-bridge", "password")],
                         ids=["pat", "basic"])
def test_every_request_is_a_documented_v2_operation_in_wiki_markup_without_account_ids(
    mock: FakeHttp, dc_spec: OpenAPI, auth: Authenticator
) -> None:
    _answer_everything(mock)
    _every_operation(_client(auth))
    sent = [call.request for call in mock.calls]
    assert len(sent) >= 20
    for request in sent:
        where = f"{request.method} {request.url}"
        assert (request.url or "").startswith(f"{API}/"), where
        try:
            dc_spec.validate_request(RequestsOpenAPIRequest(request))
        except Exception as error:  # noqa: BLE001 - a readable failure, whatever openapi-core raised
            pytest.fail(f"{where} violates the Data Center spec: {error!r} / {error.__cause__!r}")
        text = (request.body or b"").decode() if isinstance(request.body, bytes) else str(request.body or "")
        assert "accountId" not in text + (request.url or ""), where
        body = json.loads(text) if text else {}
        for value in _rich_values(body):
            assert isinstance(value, str), f"{where}: rich text sent as {value!r:.60}"
    bodies = [json.loads(r.body) for r in sent if r.body]
    create = next(b for b in bodies if "fields" in b and "summary" in b["fields"])
    assert create["fields"]["description"] == "h2. Impact\n\n*SEV1* on \\{payments\\}\n\n* api\n* web"
    assert create["fields"]["assignee"] == {"name": "alice"}


def _rich_values(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        return []
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    values = [fields[n] for n in ("description", "environment", "customfield_10044") if n in fields]
    update = body.get("update") if isinstance(body.get("update"), dict) else {}
    values += [op["add"]["body"] for op in update.get("comment", []) if "add" in op]
    if "body" in body:
        values.append(body["body"])
    return values


# --- the simulator's Data Center answers --------------------------------------------------------


@pytest.fixture
def dc_sim(jira_contracts_dir: Path | None) -> Iterator[JiraSimulator]:
    with JiraSimulator(contracts_dir=jira_contracts_dir, flavour="datacenter") as sim:
        yield sim


Call = Callable[[str, str], requests.Response]

#: Operations whose answers the spec describes (the generated spec gives arrays such as /priority,
#: /field and /user/search an item schema only, a known defect, so those are not listed).
SIM_SCENARIOS: dict[str, Callable[[Call, str], requests.Response]] = {
    "myself": lambda c, _k: c("GET", "/rest/api/2/myself"),
    "serverInfo": lambda c, _k: c("GET", "/rest/api/2/serverInfo"),
    "mypermissions": lambda c, _k: c("GET", "/rest/api/2/mypermissions?projectKey=OPS"),
    "user": lambda c, _k: c("GET", "/rest/api/2/user?username=alice"),
    "project": lambda c, _k: c("GET", "/rest/api/2/project/OPS"),
    "issue": lambda c, k: c("GET", f"/rest/api/2/issue/{k}?properties=jira-bridge"),
    "transitions": lambda c, k: c("GET", f"/rest/api/2/issue/{k}/transitions?expand=transitions.fields"),
    "comments": lambda c, k: c("GET", f"/rest/api/2/issue/{k}/comment"),
    "search": lambda c, _k: c("POST", "/rest/api/2/search"),
    "remotelink": lambda c, k: c("POST", f"/rest/api/2/issue/{k}/remotelink"),
}
BODIES: dict[str, Any] = {
    "/rest/api/2/search": {"jql": "project = OPS", "maxResults": 5},
    "remotelink": {"globalId": "g-1", "object": {"url": "https://ci/1", "title": "Build #1"}},
}


@pytest.mark.parametrize("scenario", sorted(SIM_SCENARIOS))
def test_simulator_answers_match_the_datacenter_spec(dc_sim: JiraSimulator, scenario: str) -> None:
    spec = _spec(dc_sim.base_url)
    http = requests.Session()
    http.headers["Authorization"] = "Bearer jira-bridge-pat"

    def call(method: str, path: str) -> requests.Response:
        route = path.split("?", maxsplit=1)[0]
        body = BODIES["remotelink"] if route.endswith("remotelink") else BODIES.get(route)
        return http.request(method, dc_sim.base_url + path, json=body, timeout=10)

    created = http.post(dc_sim.base_url + "/rest/api/2/issue", timeout=10, json={"fields": {
        "project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "s", "description": "*d*",
        "assignee": {"name": "alice"}}, "properties": [{"key": "jira-bridge", "value": {"incidentId": "P1"}}]})
    assert created.status_code == 201, created.text
    http.post(dc_sim.base_url + f"/rest/api/2/issue/{created.json()['key']}/comment", json={"body": "hi"}, timeout=10)
    response = SIM_SCENARIOS[scenario](call, created.json()["key"])
    assert response.status_code < 300, response.text
    try:
        spec.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"{scenario}: the simulator's answer violates the Data Center spec: {error!r} / "
                    f"{error.__cause__!r}")
    assert "accountId" not in response.text

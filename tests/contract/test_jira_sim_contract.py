"""The Jira simulator's answers, validated against Atlassian's published contracts.

* every platform REST v3 operation the simulator implements: its responses against
  ``jira-platform-v3.openapi.json`` (spec validation off, ``servers`` pointed at the simulator);
* every builds/deployments operation: requests and responses against
  ``jira-software-builds-deployments.openapi.json`` with the ``Authorization: JWT \\S+`` pattern
  widened to ``(JWT|Bearer) \\S+``; the api.atlassian.com gateway form is mapped onto ``/rest/...``;
* ADF bodies the simulator returns against ``adf/adf-schema-v1-full.json`` (draft-04);
* webhook bodies against the shape of the real captures in ``jira-webhooks/``, and their signature
  against the README's test-vector scheme.

Two places where real Jira and its spec disagree are relaxed here, on purpose, so the simulator keeps
answering like Jira: timestamps use Jira's ``2019-02-15T19:01:52.971-0800`` (no colon in the offset;
the spec says RFC 3339 ``date-time``), and changelog items carry ``"from": null`` (Atlassian's own
examples do; the spec's ``ChangeDetails`` is not nullable). 204 answers have no body although the
spec gives them a JSON content type. The copy of the spec still lists the removed
``/rest/api/3/search`` operations with 200/400/401; Cloud answers them 410 Gone (Atlassian changelog
CHANGE-2046), so the fixture adds that 410 to them. Every operation also gets a request sent as
``text/plain`` where it takes a body: Jira answers 415, which the spec does not list either; those
answers are checked for their status and error shape, not against the spec.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import requests
from jsonschema import Draft4Validator
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.testing import MockRequest
from openapi_core.validation.response.exceptions import MissingData

from jira_sim import JiraSimulator, text_doc
from jira_sim.receiver import WebhookReceiver
from jira_sim.routes import RouteTable
from jira_sim.server import ROUTE_TABLES
from jira_sim.webhooks import sign
from tests.contract.contracts import CONTRACTS, load_contract

pytestmark = pytest.mark.contract

WEBHOOKS = CONTRACTS / "jira-webhooks"
LOCAL_SERVER = {"url": "http://127.0.0.1:{port}", "variables": {"port": {"default": "80"}}}
ALICE = "alice@example.com"
INTEGRATION = "jira-bridge@example.com"
_GATEWAY_PATH = re.compile(r"^/jira/(builds|deployments)/0\.1/cloud/[^/]+(/.*)$")


# --- contracts, loaded once per session ----------------------------------------------------------


def _load(name: str) -> dict[str, Any]:
    return load_contract(name)


def _jira_date_time(value: object) -> bool:
    """Jira's timestamp format, and RFC 3339 (what the spec's ``date-time`` means)."""
    if not isinstance(value, str):
        return True
    for parse in (lambda v: datetime.strptime(v, "%Y-%m-%dT%H:%M:%S.%f%z"), datetime.fromisoformat):
        try:
            parse(value)
        except ValueError:
            continue
        return True
    return False


_CONFIG = Config(spec_validator_cls=None, extra_format_validators={"date-time": _jira_date_time})


@pytest.fixture(scope="session")
def platform_spec_dict() -> dict[str, Any]:
    return _load("jira-platform-v3.openapi.json")


@pytest.fixture(scope="session")
def platform_api(platform_spec_dict: dict[str, Any]) -> OpenAPI:
    spec = copy.deepcopy(platform_spec_dict)
    spec["servers"] = [LOCAL_SERVER]
    for name in ("from", "fromString", "to", "toString"):
        spec["components"]["schemas"]["ChangeDetails"]["properties"][name]["nullable"] = True
    for method in ("get", "post"):  # removed from Cloud: 410 Gone (CHANGE-2046)
        spec["paths"]["/rest/api/3/search"][method]["responses"]["410"] = {
            "description": "The API has been removed.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorCollection"}}},
        }
    return OpenAPI.from_dict(spec, config=_CONFIG)


@pytest.fixture(scope="session")
def software_spec_dict() -> dict[str, Any]:
    return _load("jira-software-builds-deployments.openapi.json")


@pytest.fixture(scope="session")
def software_api(software_spec_dict: dict[str, Any]) -> OpenAPI:
    spec = copy.deepcopy(software_spec_dict)
    spec["servers"] = [LOCAL_SERVER]
    for item in spec["paths"].values():
        for operation in [item, *(v for v in item.values() if isinstance(v, dict))]:
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("name") == "Authorization" and parameter.get("in") == "header":
                    parameter["schema"]["pattern"] = r"^(JWT|Bearer) \S+$"
    return OpenAPI.from_dict(spec, config=_CONFIG)


@pytest.fixture(scope="session")
def adf_validator() -> Draft4Validator:
    return Draft4Validator(_load("adf/adf-schema-v1-full.json"))


def validate_response(api: OpenAPI, response: requests.Response, request: Any = None) -> None:
    openapi_request = request or RequestsOpenAPIRequest(response.request)
    try:
        api.validate_response(openapi_request, RequestsOpenAPIResponse(response))
    except MissingData:
        # Declared status, declared JSON content, empty body: how Jira answers 204s (and property PUTs).
        assert response.content == b"", response.text


# --- platform REST v3 ----------------------------------------------------------------------------


class Platform:
    """A tiny client for the scenarios: the integration account unless told otherwise."""

    def __init__(self, sim: JiraSimulator) -> None:
        self.sim = sim
        self.http = requests.Session()
        self.http.auth = sim.credentials(INTEGRATION)

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.sim.base_url + path, timeout=10, **kwargs)

    def seed_issue(self) -> str:
        body = {
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Incident"},
                "summary": "Checkout latency",
                "description": text_doc("p99 above 2s"),
                "customfield_10041": {"value": "SEV2"},
                "customfield_10042": [{"value": "api"}, {"value": "payments"}],
                "customfield_10043": 120,
                "customfield_10044": text_doc("EU customers"),
                "customfield_10045": "https://status.example.com/inc/1",
                "customfield_10046": {"accountId": self.sim.user(ALICE).account_id},
                "customfield_10048": "2025-01-20T10:00:00.000+0000",
                "labels": ["incident"],
            },
            "properties": [{"key": "jiraBridge", "value": {"incidentId": "INC-1"}}],
        }
        created = self("POST", "/rest/api/3/issue", json=body)
        assert created.status_code == 201, created.text
        key: str = created.json()["key"]
        self("POST", f"/rest/api/3/issue/{key}/comment", json={
            "body": text_doc("first"), "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]})
        self.sim.as_user(ALICE).transition(key, "In Progress")
        return key


Scenario = Callable[[Platform, str], requests.Response]

#: operationId -> a call answering that operation (given a seeded issue key). Several per operation
#: where the error answers matter too.
PLATFORM_SCENARIOS: dict[str, list[Scenario]] = {
    "getCurrentUser": [lambda c, _k: c("GET", "/rest/api/3/myself")],
    "getMyPermissions": [
        lambda c, _k: c("GET", "/rest/api/3/mypermissions", params={"permissions": "CREATE_ISSUES,EDIT_ISSUES"}),
        lambda c, _k: c("GET", "/rest/api/3/mypermissions", params={"permissions": "NOPE"}),
    ],
    "getProject": [
        lambda c, _k: c("GET", "/rest/api/3/project/OPS"),
        lambda c, _k: c("GET", "/rest/api/3/project/NOPE"),
    ],
    "searchProjects": [lambda c, _k: c("GET", "/rest/api/3/project/search", params={"keys": "OPS"})],
    "getAllProjects": [lambda c, _k: c("GET", "/rest/api/3/project")],
    "assignIssue": [
        lambda c, k: c("PUT", f"/rest/api/3/issue/{k}/assignee", json={"accountId": c.sim.user(ALICE).account_id}),
        lambda c, k: c("PUT", f"/rest/api/3/issue/{k}/assignee", json={"accountId": None}),
        lambda c, k: c("PUT", f"/rest/api/3/issue/{k}/assignee", json={"accountId": "-1"}),
        lambda c, k: c("PUT", f"/rest/api/3/issue/{k}/assignee", json={"accountId": "nobody"}),
        lambda c, _k: c("PUT", "/rest/api/3/issue/OPS-999/assignee", json={"accountId": None}),
    ],
    "searchForIssuesUsingJql": [lambda c, _k: c("GET", "/rest/api/3/search", params={"jql": "project = OPS"})],
    "searchForIssuesUsingJqlPost": [lambda c, _k: c("POST", "/rest/api/3/search", json={"jql": "project = OPS"})],
    "getPriorities": [lambda c, _k: c("GET", "/rest/api/3/priority")],
    "searchPriorities": [lambda c, _k: c("GET", "/rest/api/3/priority/search")],
    "getFields": [lambda c, _k: c("GET", "/rest/api/3/field")],
    "getStatuses": [lambda c, _k: c("GET", "/rest/api/3/status")],
    "getResolutions": [lambda c, _k: c("GET", "/rest/api/3/resolution")],
    "getServerInfo": [lambda c, _k: c("GET", "/rest/api/3/serverInfo")],
    "findUsers": [
        lambda c, _k: c("GET", "/rest/api/3/user/search", params={"query": ALICE}),
        lambda c, _k: c("GET", "/rest/api/3/user/search"),
    ],
    "getUser": [
        lambda c, _k: c("GET", "/rest/api/3/user", params={"accountId": c.sim.user("bob@example.com").account_id}),
        lambda c, _k: c("GET", "/rest/api/3/user", params={"accountId": "nobody"}),
    ],
    "getCreateIssueMetaIssueTypes": [lambda c, _k: c("GET", "/rest/api/3/issue/createmeta/OPS/issuetypes")],
    "getAllStatuses": [lambda c, _k: c("GET", "/rest/api/3/project/OPS/statuses"),
                       lambda c, _k: c("GET", "/rest/api/3/project/NOPE/statuses")],
    "getCreateIssueMetaIssueTypeId": [
        lambda c, _k: c("GET", "/rest/api/3/issue/createmeta/OPS/issuetypes/10004"),
    ],
    "createIssue": [
        lambda c, _k: c(
            "POST",
            "/rest/api/3/issue",
            json={"fields": {"project": {"key": "PAY"}, "issuetype": {"name": "Task"}, "summary": "x"}},
        ),
        lambda c, _k: c("POST", "/rest/api/3/issue", json={"fields": {"project": {"key": "OPS"}}}),
    ],
    "getIssue": [
        lambda c, k: c(
            "GET",
            f"/rest/api/3/issue/{k}",
            params={"expand": "names,schema,transitions,changelog", "properties": "*all"},
        ),
        lambda c, _k: c("GET", "/rest/api/3/issue/OPS-999"),
    ],
    "editIssue": [
        lambda c, k: c("PUT", f"/rest/api/3/issue/{k}", json={"update": {"labels": [{"add": "edited"}]}}),
        lambda c, k: c(
            "PUT", f"/rest/api/3/issue/{k}", params={"returnIssue": "true"}, json={"fields": {"summary": "y"}}
        ),
        lambda c, k: c("PUT", f"/rest/api/3/issue/{k}", json={"fields": {"status": {"name": "Done"}}}),
    ],
    "deleteIssue": [lambda c, k: c("DELETE", f"/rest/api/3/issue/{k}")],
    "getTransitions": [
        lambda c, k: c("GET", f"/rest/api/3/issue/{k}/transitions", params={"expand": "transitions.fields"}),
    ],
    "doTransition": [
        lambda c, k: c("POST", f"/rest/api/3/issue/{k}/transitions", json={"transition": {"id": "21"}}),
        lambda c, k: c("POST", f"/rest/api/3/issue/{k}/transitions", json={"transition": {"id": "31"}}),
    ],
    "getComments": [lambda c, k: c("GET", f"/rest/api/3/issue/{k}/comment", params={"orderBy": "-created"})],
    "addComment": [
        lambda c, k: c("POST", f"/rest/api/3/issue/{k}/comment", json={"body": text_doc("second")}),
        lambda c, k: c("POST", f"/rest/api/3/issue/{k}/comment", json={"body": "plain"}),
    ],
    "getComment": [lambda c, k: c("GET", f"/rest/api/3/issue/{k}/comment/10000")],
    "updateComment": [
        lambda c, k: c("PUT", f"/rest/api/3/issue/{k}/comment/10000", json={"body": text_doc("edited")}),
    ],
    "deleteComment": [lambda c, k: c("DELETE", f"/rest/api/3/issue/{k}/comment/10000")],
    "getCommentProperty": [
        lambda c, _k: c("GET", "/rest/api/3/comment/10000/properties/sd.public.comment"),
        lambda c, _k: c("GET", "/rest/api/3/comment/10000/properties/missing"),
        lambda c, _k: c("GET", "/rest/api/3/comment/99999/properties/sd.public.comment"),
    ],
    "getIssuePropertyKeys": [lambda c, k: c("GET", f"/rest/api/3/issue/{k}/properties")],
    "getIssueProperty": [
        lambda c, k: c("GET", f"/rest/api/3/issue/{k}/properties/jiraBridge"),
        lambda c, k: c("GET", f"/rest/api/3/issue/{k}/properties/missing"),
    ],
    "setIssueProperty": [lambda c, k: c("PUT", f"/rest/api/3/issue/{k}/properties/other", json={"n": 1})],
    "deleteIssueProperty": [lambda c, k: c("DELETE", f"/rest/api/3/issue/{k}/properties/jiraBridge")],
    "searchAndReconsileIssuesUsingJql": [
        lambda c, _k: c(
            "GET",
            "/rest/api/3/search/jql",
            params={"jql": "project = OPS", "fields": "*all", "expand": "names", "properties": "jiraBridge"},
        ),
        lambda c, _k: c("GET", "/rest/api/3/search/jql", params={"jql": "project = OPS"}),
        lambda c, _k: c("GET", "/rest/api/3/search/jql", params={"jql": "project ="}),
    ],
    "createOrUpdateRemoteIssueLink": [
        lambda c, k: c("POST", f"/rest/api/3/issue/{k}/remotelink",
                       json={"globalId": "ci=a&env=prod", "object": {"url": "https://ci/1", "title": "Deploy #1"}}),
        lambda c, k: c("POST", f"/rest/api/3/issue/{k}/remotelink", json={"object": {"title": "no url"}}),
    ],
    "getRemoteIssueLinks": [
        # By globalId (one link). Without it Jira answers an array, which the spec's schema (a single
        # RemoteIssueLink) does not describe: a known defect of the generated spec, so not checked here.
        lambda c, k: (c("POST", f"/rest/api/3/issue/{k}/remotelink",
                        json={"globalId": "g-1", "object": {"url": "https://ci/1", "title": "Build #1"}}),
                      c("GET", f"/rest/api/3/issue/{k}/remotelink", params={"globalId": "g-1"}))[1],
        lambda c, k: c("GET", f"/rest/api/3/issue/{k}/remotelink", params={"globalId": "absent"}),
    ],
    "deleteRemoteIssueLinkByGlobalId": [
        lambda c, k: c("DELETE", f"/rest/api/3/issue/{k}/remotelink", params={"globalId": "absent"}),
    ],
    "searchAndReconsileIssuesUsingJqlPost": [
        lambda c, _k: c(
            "POST",
            "/rest/api/3/search/jql",
            json={"jql": "project = OPS ORDER BY updated DESC", "fields": ["summary", "status"], "maxResults": 1},
        ),
    ],
}


def _scenario_ids() -> list[tuple[str, int]]:
    return [(op, n) for op, scenarios in PLATFORM_SCENARIOS.items() for n in range(len(scenarios))]


@pytest.mark.parametrize(("operation_id", "index"), _scenario_ids())
def test_platform_responses_match_the_spec(
    jira_sim: JiraSimulator, platform_api: OpenAPI, adf_validator: Draft4Validator, operation_id: str, index: int
) -> None:
    client = Platform(jira_sim)
    key = client.seed_issue()
    response = PLATFORM_SCENARIOS[operation_id][index](client, key)
    assert response.status_code < 500, response.text
    validate_response(platform_api, response)
    for document in _adf_documents(response):
        assert adf_validator.is_valid(document), document


def _adf_documents(response: requests.Response) -> list[dict[str, Any]]:
    if not response.content or "json" not in response.headers.get("Content-Type", ""):
        return []
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "doc" and "version" in node:
                found.append(node)
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(response.json())
    return found


def _spec_operation_id(spec: dict[str, Any], method: str, werkzeug_path: str) -> str | None:
    """The spec operation a simulator route implements (path parameters matched by position)."""
    shape = re.sub(r"<(?:[a-z]+:)?[^>]+>", "{}", werkzeug_path)
    for path, item in spec["paths"].items():
        if re.sub(r"\{[^}]+\}", "{}", path) == shape and method.lower() in item:
            operation_id: str = item[method.lower()]["operationId"]
            return operation_id
    return None


def _routes(prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
    tables: tuple[RouteTable, ...] = ROUTE_TABLES
    return [(m, r.path) for t in tables for r in t.routes for m in r.methods if r.path.startswith(prefixes)]


def _body_routes() -> list[tuple[str, str]]:
    """Every platform and software route that takes a JSON body, with a concrete path."""
    concrete = {"<issue_id_or_key>": "OPS-1", "<property_key>": "p", "<comment_id>": "10000", "<cloud_id>": "c"}
    found = []
    for method, route in _routes(("/rest/api/3/", "/rest/builds/", "/rest/deployments/")):
        if method in ("POST", "PUT") and "/search" not in route:
            path = route
            for placeholder, value in concrete.items():
                path = path.replace(placeholder, value)
            found.append((method, path))
    return found


@pytest.mark.parametrize(("method", "path"), _body_routes())
def test_json_sent_as_text_plain_is_415(jira_sim: JiraSimulator, method: str, path: str) -> None:
    Platform(jira_sim).seed_issue()
    headers = {"Content-Type": "text/plain"}
    if path.startswith("/rest/api/"):
        response = Platform(jira_sim)(method, path, data=b'{"fields": {}}', headers=headers)
        assert (response.status_code, response.json()["errorMessages"]) == (415, ["Unsupported Media Type"])
    else:
        headers["Authorization"] = f"JWT {jira_sim.connect_jwt(method, path)}"
        response = requests.request(method, jira_sim.base_url + path, data=b"{}", headers=headers, timeout=10)
        assert (response.status_code, response.json()) == (415, [{"message": "Unsupported Media Type"}])


def test_every_platform_route_is_a_spec_operation_with_a_scenario(platform_spec_dict: dict[str, Any]) -> None:
    for method, path in _routes(("/rest/api/3/",)):
        operation_id = _spec_operation_id(platform_spec_dict, method, path)
        assert operation_id is not None, f"{method} {path} is not in the platform spec"
        assert operation_id in PLATFORM_SCENARIOS, f"{operation_id} ({method} {path}) has no contract scenario"


# --- builds and deployments ------------------------------------------------------------------------


def _build(number: int, keys: list[str]) -> dict[str, Any]:
    return {
        "schemaVersion": "1.0",
        "pipelineId": "ci-main",
        "buildNumber": number,
        "updateSequenceNumber": 1,
        "displayName": f"main #{number}",
        "url": f"https://ci.example.com/main/{number}",
        "state": "successful",
        "lastUpdated": "2025-01-20T23:27:25.000Z",
        "issueKeys": keys,
        "references": [
            {"commit": {"id": "08cd9c26b2b8d7cf6e6af6b49da8895d065c259f", "repositoryUri": "https://git.example.com/r"}}
        ],
    }


def _deployment(sequence: int, keys: list[str]) -> dict[str, Any]:
    return {
        "deploymentSequenceNumber": sequence,
        "updateSequenceNumber": 1,
        "associations": [{"associationType": "issueIdOrKeys", "values": keys}],
        "displayName": f"deploy {sequence}",
        "url": "https://ci.example.com/deploy/1",
        "description": "release",
        "lastUpdated": "2025-01-20T23:27:25.000Z",
        "state": "successful",
        "pipeline": {"id": "deploy", "displayName": "Deploy", "url": "https://ci.example.com/deploy"},
        "environment": {"id": "prod", "displayName": "Production", "type": "production"},
    }


class Software:
    """Calls in both auth forms: Connect JWT on the site, OAuth Bearer on the gateway."""

    def __init__(self, sim: JiraSimulator, gateway: bool) -> None:
        self.sim = sim
        self.gateway = gateway

    def __call__(self, method: str, rest_path: str, body: Any = None) -> requests.Response:
        if self.gateway:
            kind, rest = re.match(r"^/rest/(builds|deployments)/0\.1(/.*)$", rest_path).groups()  # type: ignore[union-attr]
            path = f"/jira/{kind}/0.1/cloud/{self.sim.site.cloud_id}{rest}"
            authorization = f"Bearer {self.sim.issue_oauth_token()}"
        else:
            path = rest_path
            authorization = f"JWT {self.sim.connect_jwt(method, rest_path)}"
        headers = {"Authorization": authorization}
        return requests.request(method, self.sim.base_url + path, json=body, headers=headers, timeout=10)


SoftwareScenario = Callable[[Software], requests.Response]
DEPLOYMENT = "/rest/deployments/0.1/pipelines/deploy/environments/prod/deployments/5"
SOFTWARE_SCENARIOS: dict[str, list[SoftwareScenario]] = {
    "submitBuilds": [
        lambda s: s(
            "POST", "/rest/builds/0.1/bulk", {"builds": [_build(2, ["OPS-1", "NOPE-1"]), _build(3, ["NOPE-2"])]}
        ),
        lambda s: s("POST", "/rest/builds/0.1/bulk", {"builds": []}),
    ],
    "getBuildByKey": [
        lambda s: s("GET", "/rest/builds/0.1/pipelines/ci-main/builds/1"),
        lambda s: s("GET", "/rest/builds/0.1/pipelines/ci-main/builds/404"),
    ],
    "deleteBuildByKey": [lambda s: s("DELETE", "/rest/builds/0.1/pipelines/ci-main/builds/1")],
    "submitDeployments": [
        lambda s: s("POST", "/rest/deployments/0.1/bulk", {"deployments": [_deployment(6, ["OPS-1", "OPS-77"])]}),
        lambda s: s("POST", "/rest/deployments/0.1/bulk", {"deployments": "none"}),
        lambda s: s("POST", "/rest/deployments/0.1/bulk", [_deployment(7, ["OPS-1"])]),
        lambda s: s("POST", "/rest/deployments/0.1/bulk", "deployments"),
    ],
    "getDeploymentByKey": [lambda s: s("GET", DEPLOYMENT)],
    "deleteDeploymentByKey": [lambda s: s("DELETE", DEPLOYMENT)],
    "getDeploymentGatingStatusByKey": [lambda s: s("GET", f"{DEPLOYMENT}/gating-status")],
}


def _software_scenario_ids() -> list[tuple[str, int, bool]]:
    return [
        (op, n, gateway)
        for op, scenarios in SOFTWARE_SCENARIOS.items()
        for n in range(len(scenarios))
        for gateway in (False, True)
    ]


@pytest.mark.parametrize(("operation_id", "index", "gateway"), _software_scenario_ids())
def test_software_requests_and_responses_match_the_spec(
    jira_sim: JiraSimulator, software_api: OpenAPI, operation_id: str, index: int, gateway: bool
) -> None:
    Platform(jira_sim).seed_issue()
    client = Software(jira_sim, gateway)
    assert client("POST", "/rest/builds/0.1/bulk", {"builds": [_build(1, ["OPS-1"])]}).status_code == 202
    assert client("POST", "/rest/deployments/0.1/bulk", {"deployments": [_deployment(5, ["OPS-1"])]}).status_code == 202

    response = SOFTWARE_SCENARIOS[operation_id][index](client)
    assert response.status_code < 500, response.text
    request = _as_site_request(jira_sim, response.request)
    if response.status_code < 400:
        software_api.validate_request(request)
    validate_response(software_api, response, request)


def _as_site_request(sim: JiraSimulator, prepared: requests.PreparedRequest) -> MockRequest:
    """The request as the spec knows it: the gateway path mapped onto ``/rest/...``."""
    path = (prepared.path_url or "").split("?")[0]
    gateway = _GATEWAY_PATH.match(path)
    if gateway:
        path = f"/rest/{gateway.group(1)}/0.1{gateway.group(2)}"
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return MockRequest(sim.base_url, prepared.method or "GET", path, headers=dict(prepared.headers), data=body)


def test_every_software_route_is_a_spec_operation_with_a_scenario(software_spec_dict: dict[str, Any]) -> None:
    for method, path in _routes(("/rest/builds/", "/rest/deployments/")):
        operation_id = _spec_operation_id(software_spec_dict, method, path)
        assert operation_id is not None, f"{method} {path} is not in the software spec"
        assert operation_id in SOFTWARE_SCENARIOS, f"{operation_id} has no contract scenario"


# --- webhooks --------------------------------------------------------------------------------------


def _capture(name: str) -> dict[str, Any]:
    path = WEBHOOKS / name
    if not path.is_file():
        pytest.skip(f"webhook capture {path} not found")
    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


ISSUE_CAPTURES = (
    "jira-issue_created.cloud.json",
    "jira-issue_updated.status-transition.cloud.json",
    "jira-issue_updated.resolved.cloud.json",
    "jira-issue_updated.assigned.cloud.json",
    "jira-issue_updated.priority.cloud.json",
    "jira-issue_updated.custom-field.cloud.json",
)
COMMENT_CAPTURES = ("comment_created.cloud.json", "comment_updated.cloud.json")
CHANGE_ITEM_KEYS = {"field", "fieldtype", "fieldId", "from", "fromString", "to", "toString"}
USER_ITEM_KEYS = CHANGE_ITEM_KEYS | {"tmpFromAccountId", "tmpToAccountId"}


def test_signature_scheme_reproduces_the_published_vectors() -> None:
    vectors = {
        "jira-issue_updated.status-transition.cloud.json": (
            "sha256=9d4875be75109a1fcc016aff3d343f32b3d080449e6862ff14dad33e2b3318b7"
        ),
        "comment_created.cloud.json": "sha256=36e5564efa2f18243a4c94eeafe76d735d0cda7fa28693cbe364ecf3f5d0ee34",
    }
    for name, expected in vectors.items():
        _capture(name)
        assert sign((WEBHOOKS / name).read_bytes(), "test-webhook-secret") == expected


@pytest.fixture
def delivered(jira_sim: JiraSimulator, webhook_receiver: WebhookReceiver) -> list[Any]:
    """Every kind of event the captures show, delivered by the simulator with a secret."""
    jira_sim.webhooks.register(webhook_receiver.url, secret="contract-secret")
    key = Platform(jira_sim).seed_issue()  # created, commented, transitioned
    alice = jira_sim.as_user(ALICE)
    alice.edit(key, fields={"assignee": {"accountId": jira_sim.user(ALICE).account_id}})
    alice.edit(key, fields={"priority": {"name": "Highest"}, "customfield_10043": 300})
    comment_id = alice.comment(key, "looking")["id"]
    alice.call("PUT", f"/rest/api/3/issue/{key}/comment/{comment_id}", json={"body": text_doc("fixed")})
    alice.move_to(key, "Done")
    assert jira_sim.webhooks.wait_idle(5)
    return webhook_receiver.received


def test_webhooks_are_signed_over_the_raw_body(delivered: list[Any]) -> None:
    for delivery in delivered:
        expected = "sha256=" + hmac.new(b"contract-secret", delivery.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(delivery.header("X-Hub-Signature"), expected)
        assert delivery.header("X-Atlassian-Webhook-Identifier")


def test_issue_events_have_the_shape_of_the_captures(delivered: list[Any]) -> None:
    captures = [_capture(name) for name in ISSUE_CAPTURES]
    capture_keys = {frozenset(c) for c in captures}
    user_keys = set().union(*(c["user"].keys() for c in captures))
    issue_events = [d.json() for d in delivered if d.json()["webhookEvent"].startswith("jira:")]
    with_changelog = [e for e in issue_events if "changelog" in e]
    assert {e["issue_event_type_name"] for e in with_changelog} >= {
        "issue_created",
        "issue_generic",
        "issue_assigned",
        "issue_updated",
    }
    for event in with_changelog:
        assert frozenset(event) in capture_keys
        assert set(event["issue"]) == {"id", "self", "key", "fields"}
        assert set(event["user"]) <= user_keys
        assert isinstance(event["timestamp"], int)
        assert isinstance(event["changelog"]["id"], str)
        for item in event["changelog"]["items"]:
            assert set(item) in (CHANGE_ITEM_KEYS, USER_ITEM_KEYS), item
            assert all(item[k] is None or isinstance(item[k], str) for k in CHANGE_ITEM_KEYS - {"field"})
        assert isinstance(event["issue"]["fields"]["status"]["statusCategory"]["id"], int)


def test_changelog_items_look_like_the_captures(delivered: list[Any]) -> None:
    items = {
        item["fieldId"]: item
        for d in delivered
        for item in d.json().get("changelog", {}).get("items", [])
        if d.json().get("issue_event_type_name") != "issue_created"
    }
    assert items["assignee"]["to"] == items["assignee"]["tmpToAccountId"]
    assert items["priority"]["toString"] == "Highest"
    assert items["customfield_10043"] == {
        "field": "Customers affected",
        "fieldtype": "custom",
        "fieldId": "customfield_10043",
        "from": None,
        "fromString": "120",
        "to": None,
        "toString": "300",
    }
    assert (items["resolution"]["to"], items["status"]["toString"]) == ("10000", "Done")


def test_comment_events_have_the_shape_of_the_captures(delivered: list[Any]) -> None:
    captures = [_capture(name) for name in COMMENT_CAPTURES]
    comment_events = [d.json() for d in delivered if d.json()["webhookEvent"].startswith("comment_")]
    assert {e["webhookEvent"] for e in comment_events} == {"comment_created", "comment_updated"}
    for event in comment_events:
        capture = next(c for c in captures if c["webhookEvent"] == event["webhookEvent"])
        assert set(event) == set(capture)
        assert set(event["comment"]) == set(capture["comment"])
        assert set(event["issue"]) == set(capture["issue"])
        assert set(event["issue"]["fields"]) == set(capture["issue"]["fields"])
        assert isinstance(event["comment"]["body"], str)  # wiki markup, not ADF, as in the captures

"""Every request the Jira clients build, validated against Atlassian's own contracts.

* platform REST v3 calls against ``jira-platform-v3.openapi.json`` (loaded with spec validation off:
  the spec has an enum default outside its enum; ``servers`` pointed at the test host);
* builds/deployments calls against ``jira-software-builds-deployments.openapi.json``, with its
  ``Authorization: JWT \\S+`` pattern widened to accept ``Bearer`` (OAuth), and the api.atlassian.com
  gateway form ``/jira/{builds|deployments}/0.1/cloud/{cloudId}/...`` mapped onto the spec's
  ``/rest/{builds|deployments}/0.1/...`` (the spec does not list the gateway);
* every ADF document in a body against ``adf/adf-schema-v1-full.json`` (draft-04).

HTTP is captured with ``responses``; nothing leaves the process. The contracts are read from
``../shared/contracts`` and never copied into the repo.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jsonschema
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

from jira_bridge.jira.adf import adf_to_text, from_markdown, from_text
from jira_bridge.jira.auth import BasicAuth
from jira_bridge.jira.client import JiraClient
from jira_bridge.jira.software import JiraSoftwareClient
from jira_bridge.jira.transport import JiraTransport
from tests.contract.contracts import load_contract
from tests.http_fake import FakeHttp

pytestmark = [pytest.mark.contract, pytest.mark.disable_socket]

SITE = "https://jira-bridge-contract.atlassian.net"
GATEWAY = "https://api.atlassian.com"
CLOUD_ID = "35273b54-3f06-40d2-880f-dd28cf8daafa"
_GATEWAY_PATH = re.compile(r"^/jira/(builds|deployments)/0\.1/cloud/[^/]+(/.*)$")


# --- contracts, loaded once per session ---------------------------------------------------------


def _load(name: str) -> dict[str, Any]:
    return load_contract(name)


@pytest.fixture(scope="session")
def platform_spec() -> OpenAPI:
    spec = _load("jira-platform-v3.openapi.json")
    spec["servers"] = [{"url": SITE}]
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@pytest.fixture(scope="session")
def software_spec() -> OpenAPI:
    spec = _load("jira-software-builds-deployments.openapi.json")
    spec["servers"] = [{"url": SITE}]
    widened = 0
    for path_item in spec["paths"].values():
        operations = [path_item] + [op for op in path_item.values() if isinstance(op, dict)]
        for holder in operations:
            for parameter in (
                holder.get("parameters", []) if isinstance(holder.get("parameters"), list) else []
            ):
                if parameter.get("in") == "header" and parameter.get("name") == "Authorization":
                    # the spec says `JWT \S+` (Connect); OAuth 2.0 integrations send Bearer tokens
                    parameter["schema"]["pattern"] = r"^(JWT|Bearer) \S+$"
                    widened += 1
    assert widened, "the Authorization pattern trap was not found: has the spec changed?"
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@pytest.fixture(scope="session")
def adf_validator() -> jsonschema.Draft4Validator:
    return _session_adf_validator()


_ADF_VALIDATOR: list[jsonschema.Draft4Validator] = []


def _session_adf_validator() -> jsonschema.Draft4Validator:
    """The ADF schema validator, built once (also used where a fixture cannot be: under @given)."""
    if not _ADF_VALIDATOR:
        _ADF_VALIDATOR.append(jsonschema.Draft4Validator(_load("adf/adf-schema-v1-full.json")))
    return _ADF_VALIDATOR[0]


# --- capture and validate ---------------------------------------------------------------------


def _describe(exc: Exception) -> str:
    parts = [repr(exc)]
    cause: BaseException | None = exc.__cause__
    while cause is not None:
        parts.append(repr(cause))
        for error in getattr(cause, "schema_errors", []) or []:
            parts.append(f"  - {error.message} at {list(error.absolute_path)}")
        cause = cause.__cause__
    return "\n".join(parts)


def _validate(spec: OpenAPI, request: requests.PreparedRequest) -> None:
    try:
        spec.validate_request(RequestsOpenAPIRequest(request))
    except Exception as exc:  # noqa: BLE001 - turn any validation error into a readable failure
        pytest.fail(f"{request.method} {request.url} violates the contract:\n{_describe(exc)}")


def _as_site_path(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Map the api.atlassian.com gateway form onto the spec's site-relative path."""
    parts = urlsplit(request.url or "")
    match = _GATEWAY_PATH.match(parts.path)
    if not match:
        return request
    site = urlsplit(SITE)
    mapped = request.copy()
    mapped.url = urlunsplit((site.scheme, site.netloc, f"/rest/{match[1]}/0.1{match[2]}", parts.query, ""))
    return mapped


def _adf_documents(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if value.get("type") == "doc":
            yield value
            return
        for child in value.values():
            yield from _adf_documents(child)
    elif isinstance(value, list):
        for child in value:
            yield from _adf_documents(child)


class Captured:
    def __init__(self, mock: FakeHttp) -> None:
        self.mock = mock

    def requests(self) -> list[requests.PreparedRequest]:
        return [call.request for call in self.mock.calls]

    def bodies(self) -> list[Any]:
        return [json.loads(r.body) for r in self.requests() if r.body]


@pytest.fixture
def captured() -> Iterator[Captured]:
    with FakeHttp() as mock:
        yield Captured(mock)


def _assert_platform_contract(
    captured: Captured, platform_spec: OpenAPI, adf_validator: jsonschema.Draft4Validator
) -> int:
    """Validate every captured request and every ADF document in them; return the document count."""
    documents = 0
    assert captured.requests(), "no request was captured"
    for request in captured.requests():
        assert urlsplit(request.url or "").netloc == urlsplit(SITE).netloc
        _validate(platform_spec, request)
        body = json.loads(request.body) if request.body else None
        for document in _adf_documents(body):
            errors = sorted(adf_validator.iter_errors(document), key=lambda e: list(e.absolute_path))
            assert not errors, (
                f"{request.method} {request.url}: invalid ADF: {[e.message for e in errors[:3]]}"
            )
            documents += 1
    return documents


def _client() -> JiraClient:
    return JiraClient(
        JiraTransport(SITE, BasicAuth("jira-bridge@example.com", "api-token"), sleep=lambda _s: None)
    )


# --- platform REST v3 -------------------------------------------------------------------------

API = f"{SITE}/rest/api/3"
RICH_TEXT = (
    "Checkout is returning 502 for 30% of EU traffic.\n"
    "Started 10:02 UTC.\n\n"
    "Runbook: https://wiki.example.com/runbooks/checkout.\n\n"
    "Incident: https://app.pagerduty.com/incidents/Q1W2E3 (SEV1)"
)


def test_reads_match_the_platform_spec(
    captured: Captured, platform_spec: OpenAPI, adf_validator: jsonschema.Draft4Validator
) -> None:
    mock = captured.mock
    mock.get(f"{API}/myself", json={"accountId": "1", "displayName": "Bridge", "active": True})
    mock.get(f"{API}/mypermissions", json={"permissions": {}})
    mock.get(f"{API}/project/OPS", json={"id": "10000", "key": "OPS", "name": "Ops"})
    mock.get(f"{API}/issue/OPS-1", json={"id": "10001", "key": "OPS-1", "fields": {}})
    mock.get(f"{API}/issue/OPS-1/transitions", json={"transitions": []})
    mock.get(f"{API}/issue/OPS-1/comment", json={"comments": [], "startAt": 0, "maxResults": 50, "total": 0})
    mock.get(f"{API}/issue/10001/properties/jira-bridge.link", json={"key": "jira-bridge.link", "value": {}})
    mock.get(f"{API}/user/search", json=[])
    mock.get(f"{API}/user", json={"accountId": "5b10ac8d82e05b22cc7d4ef5"})
    mock.get(f"{API}/priority/search", json={"values": [], "isLast": True})
    mock.get(f"{API}/field", json=[])

    client = _client()
    client.myself()
    client.my_permissions(["CREATE_ISSUES", "TRANSITION_ISSUES", "ADD_COMMENTS"], project_key="OPS")
    client.my_permissions(["BROWSE_PROJECTS"])
    client.get_project("OPS")
    client.get_issue("OPS-1", fields=["summary", "status", "priority"], properties=["jira-bridge.link"])
    client.get_issue("OPS-1", expand="names")
    client.get_transitions("OPS-1")
    client.get_transitions("OPS-1", expand_fields=False)
    client.get_comments("OPS-1", start_at=0, max_results=50, order_by="-created")
    client.get_issue_property("10001", "jira-bridge.link")
    client.find_user_by_email("Oncall@Example.com")
    client.get_user("5b10ac8d82e05b22cc7d4ef5")
    client.priorities()
    client.fields()

    assert _assert_platform_contract(captured, platform_spec, adf_validator) == 0
    assert len(captured.requests()) == 14


def test_writes_match_the_platform_spec_and_send_valid_adf(
    captured: Captured, platform_spec: OpenAPI, adf_validator: jsonschema.Draft4Validator
) -> None:
    mock = captured.mock
    mock.post(f"{API}/issue", status=201, json={"id": "10042", "key": "OPS-42", "self": f"{API}/issue/10042"})
    mock.put(f"{API}/issue/OPS-42", status=204)
    mock.post(f"{API}/issue/OPS-42/transitions", status=204)
    mock.post(f"{API}/issue/OPS-42/comment", status=201, json={"id": "10100"})
    mock.put(f"{API}/issue/10042/properties/jira-bridge.link", status=200)
    mock.post(f"{API}/search/jql", json={"issues": [], "isLast": True})

    client = _client()
    client.create_issue(
        {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Incident"},
            "summary": "Checkout 502s in EU",
            "description": RICH_TEXT,
            "environment": "prod-eu-west-1",
            "priority": {"name": "Highest"},
            "labels": ["incident", "sev1"],
            "customfield_10060": "Timeline\n10:02 alert\n10:05 acked",
        },
        properties={"jira-bridge.link": {"incidentId": "Q1W2E3", "sequence": 1}},
        adf_fields=["customfield_10060"],
    )
    client.edit_issue(
        "OPS-42",
        fields={
            "summary": "Checkout 502s in EU (mitigated)",
            "description": RICH_TEXT + "\n\nMitigated 10:40.",
        },
        notify_users=False,
    )
    client.edit_issue(
        "OPS-42", update={"labels": [{"add": "mitigated"}], "comment": [{"add": {"body": "Mitigated"}}]}
    )
    client.transition_issue(
        "OPS-42",
        "31",
        fields={"resolution": {"name": "Done"}},
        comment="Resolved: rollback of checkout v2.3.1",
    )
    client.add_comment(
        "OPS-42",
        "Status page updated: https://status.example.com/incidents/42",
        properties={"jira-bridge.origin": {"source": "pagerduty", "logEntry": "R1"}},
        visibility={"type": "role", "value": "Administrators"},
    )
    client.set_issue_property("10042", "jira-bridge.link", {"incidentId": "Q1W2E3", "sequence": 2})
    client.search_jql(
        'project = OPS AND issue.property[jira-bridge.link].incidentId = "Q1W2E3"',
        fields=["summary", "status"],
        max_results=10,
        next_page_token="CAEaAggD",
        properties=["jira-bridge.link"],
        expand="names",
        reconcile_issues=[10042],
    )

    documents = _assert_platform_contract(captured, platform_spec, adf_validator)
    # description + environment + textarea (create), description + comment (edits), comment (transition),
    # comment body (add_comment)
    assert documents == 7


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=300))
def test_any_text_becomes_a_schema_valid_document(value: str) -> None:
    validator = _session_adf_validator()
    document = from_text(value)
    errors = list(validator.iter_errors(document))
    assert not errors, [e.message for e in errors[:3]]
    assert "".join(adf_to_text(document).split()) == "".join(value.split())


# --- builds and deployments -------------------------------------------------------------------

BUILD: dict[str, Any] = {
    "schemaVersion": "1.0",
    "pipelineId": "checkout-ci",
    "buildNumber": 16,
    "updateSequenceNumber": 1740000000000,
    "displayName": "checkout #16",
    "description": "main @ 9f2c1e0",
    "label": "v2.3.2",
    "url": "https://ci.example.com/checkout/16",
    "state": "successful",
    "lastUpdated": "2026-03-02T10:00:00Z",
    "issueKeys": ["OPS-42"],
    "testInfo": {"totalNumber": 120, "numberPassed": 119, "numberFailed": 0, "numberSkipped": 1},
    "references": [
        {
            "commit": {"id": "9f2c1e0d", "repositoryUri": "https://github.com/example/checkout"},
            "ref": {"name": "main", "uri": "https://github.com/example/checkout/tree/main"},
        }
    ],
}

DEPLOYMENT: dict[str, Any] = {
    "schemaVersion": "1.0",
    "deploymentSequenceNumber": 100,
    "updateSequenceNumber": 1740000000001,
    "associations": [{"associationType": "issueIdOrKeys", "values": ["OPS-42"]}],
    "displayName": "checkout v2.3.2 to prod-eu",
    "url": "https://ci.example.com/checkout/deploy/100",
    "description": "Rollback of v2.3.1",
    "lastUpdated": "2026-03-02T10:30:00Z",
    "label": "v2.3.2",
    "state": "successful",
    "pipeline": {"id": "checkout-cd", "displayName": "checkout CD", "url": "https://ci.example.com/checkout"},
    "environment": {"id": "prod-eu", "displayName": "prod EU", "type": "production"},
}


def test_oauth_builds_and_deployments_match_the_software_spec(
    captured: Captured, software_spec: OpenAPI
) -> None:
    mock = captured.mock
    mock.get(f"{SITE}/_edge/tenant_info", json={"cloudId": CLOUD_ID})
    mock.post(f"{GATEWAY}/oauth/token", json={"access_token": "eyJ.token.value", "expires_in": 3600})
    base = f"{GATEWAY}/jira/{{}}/0.1/cloud/{CLOUD_ID}"
    mock.post(base.format("builds") + "/bulk", status=202, json={"acceptedBuilds": []})
    mock.post(base.format("deployments") + "/bulk", status=202, json={"acceptedDeployments": []})
    mock.get(base.format("builds") + "/pipelines/checkout-ci/builds/16", json={})
    deployment_path = (
        base.format("deployments") + "/pipelines/checkout-cd/environments/prod-eu/deployments/100"
    )
    mock.get(deployment_path, json={})
    mock.get(deployment_path + "/gating-status", json={"gatingStatus": "allowed"})

    client = JiraSoftwareClient.with_oauth(SITE, "client-id", "client-secret", like=_client().transport)
    client.submit_builds({"builds": [BUILD], "providerMetadata": {"product": "jira-bridge"}})
    client.submit_deployments({"deployments": [DEPLOYMENT], "properties": {"team": "payments"}})
    client.get_build("checkout-ci", 16)
    client.get_deployment("checkout-cd", "prod-eu", 100)
    client.get_deployment_gating_status("checkout-cd", "prod-eu", 100)

    validated = 0
    for request in captured.requests():
        path = urlsplit(request.url or "").path
        if path == "/_edge/tenant_info":
            assert request.method == "GET"
            assert "Authorization" not in request.headers
            continue
        if path == "/oauth/token":
            assert json.loads(request.body or b"{}") == {
                "audience": "api.atlassian.com",
                "grant_type": "client_credentials",
                "client_id": "client-id",
                "client_secret": "client-secret",
            }
            continue
        assert request.headers["Authorization"] == "Bearer eyJ.token.value"
        assert urlsplit(request.url or "").netloc == "api.atlassian.com"
        _validate(software_spec, _as_site_path(request))
        validated += 1
    assert validated == 5


def test_connect_builds_and_deployments_match_the_software_spec(
    captured: Captured, software_spec: OpenAPI
) -> None:
    mock = captured.mock
    mock.post(f"{SITE}/rest/builds/0.1/bulk", status=202, json={"acceptedBuilds": []})
    mock.post(f"{SITE}/rest/deployments/0.1/bulk", status=202, json={"acceptedDeployments": []})
    mock.get(
        f"{SITE}/rest/deployments/0.1/pipelines/checkout-cd/environments/prod-eu/deployments/100/gating-status",
        json={"gatingStatus": "awaiting"},
    )
    client = JiraSoftwareClient.with_connect(
        SITE, "com.example.jira-bridge", "connect-shared-secret-0123456789abcdef", like=_client().transport
    )
    client.submit_builds({"builds": [BUILD]})
    client.submit_deployments({"deployments": [DEPLOYMENT]})
    client.get_deployment_gating_status("checkout-cd", "prod-eu", 100)
    for request in captured.requests():
        assert re.fullmatch(r"JWT \S+", request.headers["Authorization"])  # the spec's own pattern
        _validate(software_spec, request)
    assert len(captured.requests()) == 3


def test_the_validator_catches_a_bad_request(captured: Captured, software_spec: OpenAPI) -> None:
    """Guard: a build without its required fields must fail, or the tests above prove nothing."""
    captured.mock.post(f"{SITE}/rest/builds/0.1/bulk", status=202, json={})
    client = JiraSoftwareClient.with_connect(
        SITE, "app", "connect-shared-secret-0123456789abcdef", like=_client().transport
    )
    client.submit_builds({"builds": [{"pipelineId": "p"}]})
    with pytest.raises(pytest.fail.Exception, match="violates the contract"):
        _validate(software_spec, captured.requests()[0])


def test_the_platform_validator_catches_a_bad_request(captured: Captured, platform_spec: OpenAPI) -> None:
    """Guard for the platform spec: an unknown search property and a bad enum value must fail."""
    captured.mock.post(f"{API}/search/jql", json={})
    captured.mock.get(f"{API}/issue/OPS-1/comment", json={})
    transport = _client().transport
    transport.post("/rest/api/3/search/jql", json={"jql": "project = OPS", "startAt": 0}, idempotent=True)
    transport.get("/rest/api/3/issue/OPS-1/comment", params={"orderBy": "newest"})
    for request in captured.requests():
        with pytest.raises(pytest.fail.Exception, match="violates the contract"):
            _validate(platform_spec, request)


MARKDOWN = st.lists(st.one_of(
    st.sampled_from(["# Heading", "- item", "* item **bold**", "1. first", "12) twelfth", "```", "```python",
                     "`code`", "[doc](https://wiki.example.com/x)", "see https://example.com/a.", "", "  "]),
    st.text(max_size=40)), max_size=12).map("\n".join)


@settings(max_examples=80, deadline=None)
@given(MARKDOWN)
def test_any_markdownish_text_becomes_a_schema_valid_document(value: str) -> None:
    errors = list(_session_adf_validator().iter_errors(from_markdown(value)))
    assert not errors, [e.message for e in errors[:3]]


def test_markdownish_blocks_map_to_adf_nodes() -> None:
    document = from_markdown(
        "Impact:\n- checkout\n- `payments`\n\n3. roll back\n4. page\n\n## Cause\n```sql\nSELECT 1\n```")
    assert [block["type"] for block in document["content"]] == [
        "paragraph", "bulletList", "orderedList", "heading", "codeBlock"]
    assert document["content"][2]["attrs"] == {"order": 3}
    assert document["content"][4] == {"type": "codeBlock", "attrs": {"language": "sql"},
                                      "content": [{"type": "text", "text": "SELECT 1"}]}
    assert document["content"][1]["content"][1]["content"][0]["content"][0]["marks"] == [{"type": "code"}]
    assert not list(_session_adf_validator().iter_errors(document))

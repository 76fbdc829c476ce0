"""JiraSoftwareClient: endpoint form per auth, cloud id, parsing of the 202 answer, gating status."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from jira_bridge.jira.auth import CloudIdResolver, query_string_hash
from jira_bridge.jira.errors import JiraError, JiraUnavailable
from jira_bridge.jira.software import JiraSoftwareClient, SubmissionResult
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import SITE, TransportFactory

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]  # HTTP is faked under urllib3 (tests/http_fake.py)

GATEWAY = "https://api.atlassian.com"
CLOUD_ID = "35273b54-3f06-40d2-880f-dd28cf8daafa"
SHARED_SECRET = "connect-shared-secret-0123456789abcdef"

BUILD = {
    "schemaVersion": "1.0",
    "pipelineId": "checkout-ci",
    "buildNumber": 16,
    "updateSequenceNumber": 1740000000000,
    "displayName": "checkout #16",
    "url": "https://ci.example.com/checkout/16",
    "state": "successful",
    "lastUpdated": "2026-03-02T10:00:00Z",
    "issueKeys": ["OPS-42"],
}


def _oauth_client(make_transport: TransportFactory, **kwargs: Any) -> JiraSoftwareClient:
    return JiraSoftwareClient.with_oauth(
        SITE, "client-id-1", "client-secret-1", like=make_transport(), **kwargs
    )


def test_oauth_posts_to_the_gateway_with_a_bearer_token(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.get(f"{SITE}/_edge/tenant_info", json={"cloudId": CLOUD_ID})
    mocked.post(f"{GATEWAY}/oauth/token", json={"access_token": "tok-1", "expires_in": 3600})
    bulk = f"{GATEWAY}/jira/builds/0.1/cloud/{CLOUD_ID}/bulk"
    mocked.post(bulk, status=202, json={"acceptedBuilds": [{"pipelineId": "checkout-ci", "buildNumber": 16}]})
    client = _oauth_client(make_transport)
    first = client.submit_builds({"builds": [BUILD]})
    second = client.submit_builds({"builds": [BUILD]})
    assert first.fully_accepted
    assert second.fully_accepted
    posts = [c.request for c in mocked.calls if c.request.url == bulk]
    assert [p.headers["Authorization"] for p in posts] == ["Bearer tok-1", "Bearer tok-1"]
    assert json.loads(posts[0].body or b"{}") == {"builds": [BUILD]}
    urls = [c.request.url for c in mocked.calls]
    assert urls.count(f"{SITE}/_edge/tenant_info") == 1
    assert urls.count(f"{GATEWAY}/oauth/token") == 1
    counts = client.transport.counter.snapshot()
    assert counts[("POST", "/jira/builds/0.1/cloud/{cloudId}/bulk")] == 2
    assert counts[("POST", "/oauth/token")] == 1
    assert counts[("GET", "/_edge/tenant_info")] == 1


def test_configurable_gateway_and_token_server(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    sim = "http://127.0.0.1:8089"
    mocked.post(f"{sim}/auth/oauth/token", json={"access_token": "sim-token"})
    mocked.post(f"{sim}/gw/jira/deployments/0.1/cloud/{CLOUD_ID}/bulk", status=202, json={})
    client = _oauth_client(
        make_transport, cloud_id=CLOUD_ID, api_gateway_url=f"{sim}/gw", auth_url=f"{sim}/auth"
    )
    client.submit_deployments({"deployments": [{"deploymentSequenceNumber": 1}]})
    assert [c.request.url for c in mocked.calls] == [
        f"{sim}/auth/oauth/token",
        f"{sim}/gw/jira/deployments/0.1/cloud/{CLOUD_ID}/bulk",
    ]


def test_connect_posts_to_the_site_with_a_jwt(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.post(f"{SITE}/rest/builds/0.1/bulk", status=202, json={"acceptedBuilds": []})
    client = JiraSoftwareClient.with_connect(
        SITE, "com.example.jira-bridge", SHARED_SECRET, like=make_transport()
    )
    client.submit_builds({"builds": [BUILD]})
    header = mocked.calls[0].request.headers["Authorization"]
    assert header.startswith("JWT ")
    claims = jwt.decode(header[4:], SHARED_SECRET, algorithms=["HS256"])
    assert claims["iss"] == "com.example.jira-bridge"
    assert claims["qsh"] == query_string_hash("POST", "/rest/builds/0.1/bulk")
    with pytest.raises(JiraError, match="cloud id"):
        client.cloud_id()


def test_bulk_submissions_are_retried_because_they_are_idempotent(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.post(f"{GATEWAY}/oauth/token", json={"access_token": "tok"})
    bulk = f"{GATEWAY}/jira/deployments/0.1/cloud/{CLOUD_ID}/bulk"
    mocked.post(bulk, status=504)
    mocked.post(bulk, status=202, json={"acceptedDeployments": []})
    _oauth_client(make_transport, cloud_id=CLOUD_ID).submit_deployments({"deployments": [{}]})
    assert sum(1 for c in mocked.calls if c.request.url == bulk) == 2


def test_submission_result_parsing() -> None:
    result = SubmissionResult.from_json(
        "deployments",
        {
            "acceptedDeployments": [
                {"pipelineId": "p", "environmentId": "prod", "deploymentSequenceNumber": 7}
            ],
            "rejectedDeployments": [
                {
                    "key": {"pipelineId": "p", "environmentId": "prod", "deploymentSequenceNumber": 8},
                    "errors": [{"message": "description is required", "errorTraceId": "t1"}],
                }
            ],
            "unknownIssueKeys": ["NOPE-1"],
            "unknownAssociations": [{"associationType": "serviceIdOrKeys", "values": ["svc-x"]}],
        },
    )
    assert result.accepted == ({"pipelineId": "p", "environmentId": "prod", "deploymentSequenceNumber": 7},)
    assert result.rejected[0].messages == ("description is required",)
    assert result.unknown_issue_keys == ("NOPE-1",)
    assert len(result.unknown_associations) == 1
    assert not result.fully_accepted
    assert result.describe() == (
        "1 deployments accepted; rejected p/prod/8: description is required; unknown issue keys: NOPE-1; "
        "1 unknown association(s)"
    )


def test_builds_result_parsing() -> None:
    result = SubmissionResult.from_json(
        "builds",
        {
            "acceptedBuilds": [],
            "rejectedBuilds": [
                {"key": {"pipelineId": "p", "buildNumber": 2}, "errors": [{"message": "bad"}]}
            ],
            "unknownIssueKeys": [],
        },
    )
    assert result.rejected[0].key == {"pipelineId": "p", "buildNumber": 2}
    assert result.describe() == "0 builds accepted; rejected p/2: bad"


def test_gating_status(mocked: FakeHttp, make_transport: TransportFactory) -> None:
    mocked.post(f"{GATEWAY}/oauth/token", json={"access_token": "tok"})
    url = (
        f"{GATEWAY}/jira/deployments/0.1/cloud/{CLOUD_ID}/pipelines/checkout-ci/environments/prod%20eu"
        "/deployments/100/gating-status"
    )
    mocked.get(
        url,
        json={
            "deploymentSequenceNumber": 100,
            "pipelineId": "checkout-ci",
            "environmentId": "prod eu",
            "updatedTimestamp": "2026-03-02T10:04:50.239Z",
            "gatingStatus": "awaiting",
            "details": [{"type": "issue", "issueKey": "CHG-3", "issueLink": "https://x/CHG-3"}],
        },
    )
    status = _oauth_client(make_transport, cloud_id=CLOUD_ID).get_deployment_gating_status(
        "checkout-ci", "prod eu", 100
    )
    assert status.gating_status == "awaiting"
    assert status.details[0]["issueKey"] == "CHG-3"


def test_payload_must_hold_1_to_100_entities(make_transport: TransportFactory) -> None:
    client = _oauth_client(make_transport, cloud_id=CLOUD_ID)
    with pytest.raises(ValueError, match=r"1\.\.100"):
        client.submit_builds({"builds": []})
    with pytest.raises(ValueError, match=r"1\.\.100"):
        client.submit_deployments({"deployments": [{}] * 101})


def test_check_auth_gets_a_token_and_the_cloud_id(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.get(f"{SITE}/_edge/tenant_info", json={"cloudId": CLOUD_ID})
    mocked.post(f"{GATEWAY}/oauth/token", json={"access_token": "tok"})
    client = _oauth_client(make_transport, cloud_ids=CloudIdResolver())
    assert client.check_auth() == (
        f"OAuth token obtained for client client-id-1 from {GATEWAY}; cloud id {CLOUD_ID}"
    )


def test_gateway_failure_is_unavailable(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.post(f"{GATEWAY}/oauth/token", json={"access_token": "tok"})
    bulk = f"{GATEWAY}/jira/builds/0.1/cloud/{CLOUD_ID}/bulk"
    for _ in range(4):
        mocked.post(bulk, status=503, json=[{"message": "Service is unavailable due to maintenance"}])
    with pytest.raises(JiraUnavailable, match="maintenance"):
        _oauth_client(make_transport, cloud_id=CLOUD_ID).submit_builds({"builds": [BUILD]})

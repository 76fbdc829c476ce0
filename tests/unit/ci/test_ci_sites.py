"""A CI site's cloud id on a cold container: from the connector secret, else the stack-wide cache, else
one `tenant_info` lookup per deployment (then cached for every container)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from jira_bridge.adapters import build_ci_site
from jira_bridge.ci.sites import CiSite
from jira_bridge.connectors.model import parse_connector_secret
from jira_bridge.incidents.metadata_store import InMemoryMetadataStore
from jira_bridge.jira.auth import CLOUD_ID_SHARED_TTL, DEFAULT_CLOUD_IDS, cloud_id_key
from tests.http_fake import FakeHttp

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]  # HTTP is faked under urllib3 (tests/http_fake.py)

SITE = "https://example.atlassian.net"
GATEWAY = "https://api.atlassian.com"
CLOUD_ID = "35273b54-3f06-40d2-880f-dd28cf8daafa"
TENANT_INFO = f"{SITE}/_edge/tenant_info"
TOKEN = f"{GATEWAY}/oauth/token"
BULK = f"{GATEWAY}/jira/builds/0.1/cloud/{CLOUD_ID}/bulk"
BUILD = {"pipelineId": "ci", "buildNumber": 1, "updateSequenceNumber": 1, "issueKeys": ["OPS-1"]}


def secret(**extra: Any) -> dict[str, Any]:
    return {"site_url": SITE, "email": "bridge@example.com", "api_token": "api-token-0123",
            "oauth_client_id": "client-1", "oauth_client_secret": "client-secret-0123", **extra}


def new_container(payload: dict[str, Any], shared: InMemoryMetadataStore | None) -> CiSite:
    """What a cold CI container builds: nothing in this process's memory, the stack's cache as it is."""
    DEFAULT_CLOUD_IDS.clear()
    return build_ci_site(parse_connector_secret("default", "jira-bridge/s/connectors/default", payload),
                         shared=shared)


@pytest.fixture
def jira() -> Iterator[FakeHttp]:
    with FakeHttp() as mocked:
        mocked.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
        mocked.post(TOKEN, json={"access_token": "tok-1", "expires_in": 3600})
        mocked.post(BULK, status=202, json={"acceptedBuilds": [{"pipelineId": "ci", "buildNumber": 1}]})
        yield mocked
    DEFAULT_CLOUD_IDS.clear()


def sent(jira: FakeHttp) -> list[str]:
    return [f"{c.request.method} {c.request.url}" for c in jira.calls]


def report_a_build(site: CiSite) -> None:
    assert site.software is not None
    assert site.software.submit_builds({"builds": [BUILD]}).fully_accepted


def test_a_cloud_id_in_the_secret_costs_a_cold_container_no_lookup(jira: FakeHttp) -> None:
    shared = InMemoryMetadataStore()
    report_a_build(new_container(secret(cloud_id=CLOUD_ID), shared))
    assert sent(jira) == [f"POST {TOKEN}", f"POST {BULK}"]
    assert shared.items == {}, "nothing to share: every container reads it from the secret"


def test_a_looked_up_cloud_id_serves_every_later_container(jira: FakeHttp) -> None:
    shared = InMemoryMetadataStore()
    report_a_build(new_container(secret(), shared))  # the deployment's first container
    assert sent(jira) == [f"GET {TENANT_INFO}", f"POST {TOKEN}", f"POST {BULK}"]
    assert json.loads(shared.items[cloud_id_key(SITE)][1]) == CLOUD_ID

    jira.calls.reset()
    report_a_build(new_container(secret(), shared))  # another container, cold
    assert sent(jira) == [f"POST {TOKEN}", f"POST {BULK}"]


def test_the_shared_cloud_id_expires_and_is_looked_up_again(jira: FakeHttp) -> None:
    now = [1_000_000.0]
    shared = InMemoryMetadataStore(clock=lambda: now[0])
    assert new_container(secret(), shared).cloud_id() == CLOUD_ID
    now[0] += CLOUD_ID_SHARED_TTL + 1
    jira.calls.reset()
    assert new_container(secret(), shared).cloud_id() == CLOUD_ID
    assert sent(jira) == [f"GET {TENANT_INFO}"]


def test_a_connect_app_site_shares_its_looked_up_cloud_id_too(jira: FakeHttp) -> None:
    """The CLOUD_ID a caller names is checked against the connector's site, whatever the credentials."""
    shared = InMemoryMetadataStore()
    connect = {k: v for k, v in secret().items() if not k.startswith("oauth_")}
    connect |= {"connect_app_key": "bridge-app", "connect_shared_secret": "connect-shared-secret-0123"}
    assert new_container(connect, shared).cloud_id() == CLOUD_ID
    jira.calls.reset()
    assert new_container(connect, shared).cloud_id() == CLOUD_ID
    assert sent(jira) == []


def test_without_a_shared_cache_each_container_looks_it_up_once(jira: FakeHttp) -> None:
    site = new_container(secret(), None)
    assert site.cloud_id() == site.cloud_id() == CLOUD_ID
    assert new_container(secret(), None).cloud_id() == CLOUD_ID
    assert sent(jira) == [f"GET {TENANT_INFO}", f"GET {TENANT_INFO}"]

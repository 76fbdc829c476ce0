"""Auth: Basic header, OAuth token cache and single refresh on 401, cloud id cache, Connect JWT qsh."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest

from jira_bridge.jira.auth import (
    DEFAULT_CLOUD_IDS,
    BasicAuth,
    CloudIdResolver,
    ConnectJwt,
    OAuthClientCredentials,
    canonical_query,
    canonical_request,
    canonical_uri,
    query_string_hash,
    query_string_hash_for_url,
    resolve_cloud_id,
)
from jira_bridge.jira.errors import JiraAuthError, JiraError
from jira_bridge.jira.transport import JiraTransport
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import API_TOKEN, EMAIL, SITE, FakeTime, TransportFactory

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]  # HTTP is faked under urllib3 (tests/http_fake.py)

GATEWAY = "https://api.atlassian.com"
TOKEN_URL = f"{GATEWAY}/oauth/token"
CLOUD_ID = "35273b54-3f06-40d2-880f-dd28cf8daafa"
SECRET32 = "0123456789abcdef0123456789abcdef"
BUILDS = f"{GATEWAY}/jira/builds/0.1/cloud/{CLOUD_ID}/bulk"


# --- Basic ------------------------------------------------------------------------------------


def test_basic_auth_header_and_repr() -> None:
    auth = BasicAuth(EMAIL, API_TOKEN)
    header = auth.auth_headers("GET", "/rest/api/3/myself", [])["Authorization"]
    assert header == "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
    assert API_TOKEN not in repr(auth)
    assert auth.describe() == EMAIL
    assert auth.refresh_after_unauthorized() is False


# --- OAuth client credentials -----------------------------------------------------------------


@pytest.fixture
def oauth(make_transport: TransportFactory, fake_time: FakeTime) -> OAuthClientCredentials:
    return OAuthClientCredentials(
        "client-id-1",
        "client-secret-1",
        transport=make_transport(GATEWAY, basic=False),
        clock=fake_time.clock,
    )


def _token(mocked: FakeHttp, token: str, expires_in: int | None = 3600) -> None:
    body: dict[str, object] = {"access_token": token, "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    mocked.post(TOKEN_URL, json=body)


def test_token_request_is_the_documented_client_credentials_call(
    mocked: FakeHttp, oauth: OAuthClientCredentials
) -> None:
    _token(mocked, "tok-1")
    assert oauth.access_token() == "tok-1"
    request = mocked.calls[0].request
    assert request.method == "POST"
    assert request.url == TOKEN_URL
    assert json.loads(request.body or b"{}") == {
        "audience": "api.atlassian.com",
        "grant_type": "client_credentials",
        "client_id": "client-id-1",
        "client_secret": "client-secret-1",
    }
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers


def test_token_is_cached_until_shortly_before_expiry(
    mocked: FakeHttp, oauth: OAuthClientCredentials, fake_time: FakeTime
) -> None:
    _token(mocked, "tok-1", expires_in=3600)
    _token(mocked, "tok-2", expires_in=3600)
    assert oauth.access_token() == "tok-1"
    fake_time.advance(3500)
    assert oauth.access_token() == "tok-1"
    fake_time.advance(60)  # within the 60 s refresh margin of expiry
    assert oauth.access_token() == "tok-2"
    assert len(mocked.calls) == 2


def test_expires_in_defaults_to_an_hour(
    mocked: FakeHttp, oauth: OAuthClientCredentials, fake_time: FakeTime
) -> None:
    _token(mocked, "tok-1", expires_in=None)
    _token(mocked, "tok-2")
    oauth.access_token()
    fake_time.advance(3500)
    assert oauth.access_token() == "tok-1"
    fake_time.advance(100)
    assert oauth.access_token() == "tok-2"


def test_401_refreshes_the_token_once_then_retries(
    mocked: FakeHttp, make_transport: TransportFactory, oauth: OAuthClientCredentials
) -> None:
    _token(mocked, "stale")
    _token(mocked, "fresh")
    mocked.post(BUILDS, status=401, json=[{"message": "token expired"}])
    mocked.post(BUILDS, status=202, json={"acceptedBuilds": []})
    gateway = make_transport(GATEWAY, oauth)
    response = gateway.post(f"/jira/builds/0.1/cloud/{CLOUD_ID}/bulk", json={"builds": []}, idempotent=True)
    assert response.status == 202
    api_calls = [c.request for c in mocked.calls if c.request.url == BUILDS]
    assert [c.headers["Authorization"] for c in api_calls] == ["Bearer stale", "Bearer fresh"]
    assert sum(1 for c in mocked.calls if c.request.url == TOKEN_URL) == 2


def test_a_second_401_is_an_auth_error_not_a_loop(
    mocked: FakeHttp, make_transport: TransportFactory, oauth: OAuthClientCredentials
) -> None:
    _token(mocked, "tok-1")
    _token(mocked, "tok-2")
    _token(mocked, "tok-3")
    mocked.post(BUILDS, status=401, json=[{"message": "Unauthorized"}])
    gateway = make_transport(GATEWAY, oauth)
    with pytest.raises(JiraAuthError) as caught:
        gateway.post(f"/jira/builds/0.1/cloud/{CLOUD_ID}/bulk", json={}, idempotent=True)
    assert "Unauthorized" in str(caught.value)
    assert sum(1 for c in mocked.calls if c.request.url == BUILDS) == 2
    assert sum(1 for c in mocked.calls if c.request.url == TOKEN_URL) == 2


def test_rejected_client_credentials_are_an_auth_error_without_the_secret(
    mocked: FakeHttp, oauth: OAuthClientCredentials
) -> None:
    mocked.post(TOKEN_URL, status=401, json={"error": "access_denied", "error_description": "Unauthorized"})
    with pytest.raises(JiraAuthError) as caught:
        oauth.access_token()
    assert str(caught.value) == "Jira refused POST /oauth/token (401): access_denied: Unauthorized"
    assert "client-secret-1" not in str(caught.value) + repr(oauth)


def test_token_answer_without_a_token_is_an_error(
    mocked: FakeHttp, oauth: OAuthClientCredentials
) -> None:
    mocked.post(TOKEN_URL, json={"token_type": "Bearer"})
    with pytest.raises(JiraError, match="without an access_token"):
        oauth.access_token()


# --- cloud id ---------------------------------------------------------------------------------


def test_cloud_id_is_resolved_once_per_site(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.get(f"{SITE}/_edge/tenant_info", json={"cloudId": CLOUD_ID})
    mocked.get("https://other.atlassian.net/_edge/tenant_info", json={"cloudId": "other-id"})
    site = make_transport()
    assert resolve_cloud_id(site) == CLOUD_ID
    assert resolve_cloud_id(make_transport()) == CLOUD_ID
    assert resolve_cloud_id(make_transport("https://other.atlassian.net")) == "other-id"
    assert len(mocked.calls) == 2
    assert "Authorization" not in mocked.calls[0].request.headers


def test_a_known_cloud_id_needs_no_lookup(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    resolver = CloudIdResolver()
    resolver.remember(SITE + "/", CLOUD_ID)
    assert resolver.resolve(make_transport()) == CLOUD_ID
    assert len(mocked.calls) == 0
    assert DEFAULT_CLOUD_IDS is not resolver


def test_tenant_info_without_cloud_id(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    mocked.get(f"{SITE}/_edge/tenant_info", json={})
    with pytest.raises(JiraError, match="cloud_id"):
        resolve_cloud_id(make_transport())


# --- Connect JWT / qsh ------------------------------------------------------------------------

# Atlassian Connect's JWT interoperability vectors (generated by Atlassian Connect's
# JwtSigningInteroperabilityTest, distributed as test/resources/jwt-signed-urls.json with
# atlassian-connect-express). Each: the signed URL (without its jwt parameter), the canonical
# request, and the qsh claim of the JWT Atlassian signed for it.
INTEROP_VECTORS = [
    (
        "https://example.com/test?param=value",
        "GET&/test&param=value",
        "be16910858a41fd19ea5c1b4e9decca9a784d1024cb00b2158defe2f29dc86dd",
    ),
    (
        "https://example.com/test?param=some+spaces+in+this+parameter",
        "GET&/test&param=some%20spaces%20in%20this%20parameter",
        "ef4097d05395eaf1a133956f140116a9c411afad768d4f06daac9e305764265d",
    ),
    (
        "https://example.com/test?query=connect*",
        "GET&/test&query=connect%2A",
        "0d28bc10d1972d9cab59e123ce17976eb32aad6957a13cfb8b97ced6d3fc8a29",
    ),
    (
        "https://example.com/test?director=%E5%AE%AE%E5%B4%8E+%E9%A7%BF",
        "GET&/test&director=%E5%AE%AE%E5%B4%8E%20%E9%A7%BF",
        "44d6354ffe8f963972a7fc59e98b2c3dfe4b493295c5b89edd974a339e61ac89",
    ),
    (
        "https://example.com/test?title=1+%2B+1+equals+3",
        "GET&/test&title=1%20%2B%201%20equals%203",
        "ce0a866ce0c34cbde70deb63f6915192f58500d2b49b12e1ffc8cdf91edabc91",
    ),
    (
        "https://example.com/test?eta=in+%7E3+days",
        "GET&/test&eta=in%20~3%20days",
        "5c5f97cdfe3abd8feb48f6f0240a71ef5c111289a5bf77ddf645250b3951ec63",
    ),
    (
        "https://example.com/test?rfc=%21%24%26%27%28%29*%2B%2C%3B%3D",
        "GET&/test&rfc=%21%24%26%27%28%29%2A%2B%2C%3B%3D",
        "b8d049874f1fe5abe274d20bdecebee8daada453191a827738eebcd759efd4e1",
    ),
    (
        "https://example.com/test?ids=-1&ids=1&ids=10&ids=2&ids=20",
        "GET&/test&ids=-1,1,10,2,20",
        "a646c48741faaeb649f9ca7888ae029ead432e3806f56c4a57b80b3e2ac628a9",
    ),
    (
        "https://example.com/test?c=&c=+&c=%2520&c=%2B",
        "GET&/test&c=,%20,%2520,%2B",
        "cbbcac9a6a02f3ad96c5ab5bf876dd9f79b2c61ceec5660a1c9d73a3b102ec2c",
    ),
    (
        "https://example.com/test?a=another+one&a=one+string&b=and+yet+more&b=more+here",
        "GET&/test&a=another%20one,one%20string&b=and%20yet%20more,more%20here",
        "700721e65385781fc1fa248220c75400f1e8a197c838ef1779f00b69bfa4a6ff",
    ),
]


@pytest.mark.parametrize(("url", "canonical", "qsh"), INTEROP_VECTORS)
def test_qsh_matches_atlassian_interoperability_vectors(url: str, canonical: str, qsh: str) -> None:
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    assert canonical_request("get", parts.path, params) == canonical
    assert query_string_hash("GET", parts.path, params) == qsh
    assert query_string_hash_for_url("GET", url + "&jwt=ignored.token.value") == qsh


def test_values_are_sorted_before_encoding() -> None:
    # Atlassian vector "Multi-value II": raw order . < : ; encoded order would put %3A first
    assert (
        canonical_query([("ids", ":2"), ("ids", ".2"), ("ids", ":1"), ("ids", ".1")]) == "ids=.1,.2,%3A1,%3A2"
    )


def test_javadoc_example_from_atlassian_jwt_api() -> None:
    """The example in com.atlassian.jwt.JwtConstants.Claims.QUERY_HASH."""
    url = (
        "http://localhost:2990/path/to/service?zee_last=param&repeated=parameter%201"
        "&first=param&repeated=parameter%202"
    )
    parts = urlsplit(url)
    assert (
        canonical_request("GET", parts.path, parse_qsl(parts.query))
        == "GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param"
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [("", "/"), ("/", "/"), ("/rest/builds/0.1/bulk/", "/rest/builds/0.1/bulk"), ("/a&b", "/a%26b")],
)
def test_canonical_uri_rules(path: str, expected: str) -> None:
    assert canonical_uri(path) == expected


def test_context_path_is_not_part_of_the_canonical_uri() -> None:
    assert query_string_hash_for_url("POST", "https://h/jira/rest/builds/0.1/bulk", "https://h/jira") == (
        query_string_hash("POST", "/rest/builds/0.1/bulk")
    )


def test_connect_jwt_claims_and_header(
    mocked: FakeHttp, make_transport: TransportFactory, fake_time: FakeTime
) -> None:
    auth = ConnectJwt(
        "com.example.jira-bridge", "shared-secret-of-the-installation-0123456789", clock=lambda: 1_700_000_000
    )
    mocked.post(f"{SITE}/rest/builds/0.1/bulk", status=202, json={})
    make_transport(SITE, auth).post("/rest/builds/0.1/bulk", json={"builds": []}, idempotent=True)
    header = mocked.calls[0].request.headers["Authorization"]
    assert header.startswith("JWT ")
    token = header.removeprefix("JWT ")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(
        token,
        "shared-secret-of-the-installation-0123456789",
        algorithms=["HS256"],
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": "com.example.jira-bridge",
        "iat": 1_700_000_000,
        "exp": 1_700_000_180,
        "qsh": query_string_hash("POST", "/rest/builds/0.1/bulk"),
    }
    # sha256("POST&/rest/builds/0.1/bulk&"): method, canonical path, empty query
    assert claims["qsh"] == "0947f5bc05f2c4728bc2e3905089951a4aa601772a79268aa983e2ef881b79ff"
    assert "shared-secret-of-the-installation-0123456789" not in repr(auth)


def test_jwt_covers_the_query_it_is_sent_with(
    mocked: FakeHttp, make_transport: TransportFactory
) -> None:
    auth = ConnectJwt("app", SECRET32, clock=lambda: 1_700_000_000)
    url = f"{SITE}/rest/deployments/0.1/pipelines/p/environments/e/deployments/3/gating-status"
    mocked.get(url, json={})
    make_transport(SITE, auth).get(
        "/rest/deployments/0.1/pipelines/p/environments/e/deployments/3/gating-status",
        params={"b": "2", "a": "x y"},
    )
    request = mocked.calls[0].request
    token = request.headers["Authorization"].removeprefix("JWT ")
    claims = jwt.decode(token, SECRET32, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["qsh"] == query_string_hash_for_url("GET", request.url or "", SITE)


def test_transport_without_auth_sends_no_authorization(
    mocked: FakeHttp, fake_time: FakeTime
) -> None:
    mocked.get(f"{SITE}/_edge/tenant_info", json={"cloudId": "x"})
    JiraTransport(SITE, sleep=fake_time.sleep, clock=fake_time.clock).get("/_edge/tenant_info")
    assert "Authorization" not in mocked.calls[0].request.headers

import pytest

from jira_bridge.ci.callers import CallerDirectory, Unauthenticated, parse_callers_secret
from jira_bridge.errors import ConfigurationError
from jira_bridge.webhooks.signature import sign

pytestmark = pytest.mark.unit

API_KEY = "gitlab-api-key-0123456789"
HMAC_SECRET = "jenkins-hmac-secret-0123456789"
GITHUB_SECRET = "github-webhook-secret-0123456789"
GITLAB_TOKEN = "gitlab-webhook-token-0123456789"
SECRET = {
    "github_webhook_secret": GITHUB_SECRET,
    "gitlab_webhook_token": GITLAB_TOKEN,
    "callers": {
        "gitlab-ci": {"api_key": API_KEY, "projects": ["ops"]},
        "acme/api": {"gitlab_token": "per-project-gitlab-token-0123", "projects": ["api"]},
        "jenkins": {"hmac_secret": HMAC_SECRET},
        "acme/shop": {"hmac_secret": "per-repository-secret-0123"},
    },
}
BODY = b'{"build_number": 1}'


@pytest.fixture
def directory() -> CallerDirectory:
    return CallerDirectory(parse_callers_secret("test", SECRET))


def headers(**values: str) -> object:
    lowered = {k.lower().replace("_", "-"): v for k, v in values.items()}
    return lambda name: lowered.get(name.lower())


def test_api_key_as_bearer_or_header(directory: CallerDirectory) -> None:
    caller = directory.authenticate(headers(Authorization=f"Bearer {API_KEY}"), BODY)  # type: ignore[arg-type]
    assert caller.name == "gitlab-ci"
    assert caller.projects == ("OPS",)
    assert directory.authenticate(headers(X_Api_Key=API_KEY), BODY).name == "gitlab-ci"  # type: ignore[arg-type]


def test_hmac_over_the_body(directory: CallerDirectory) -> None:
    caller = directory.authenticate(
        headers(X_Jira_Bridge_Caller="jenkins", X_Hub_Signature_256=sign(BODY, HMAC_SECRET)), BODY)  # type: ignore[arg-type]
    assert caller.name == "jenkins"
    assert caller.projects is None


@pytest.mark.parametrize(
    "request_headers",
    [
        {},
        {"Authorization": "Bearer wrong-key-0123456789"},
        {"Authorization": f"Basic {API_KEY}"},
        {"X_Jira_Bridge_Caller": "jenkins"},
        {"X_Jira_Bridge_Caller": "jenkins", "X_Hub_Signature_256": sign(b"other body", HMAC_SECRET)},
        {"X_Jira_Bridge_Caller": "jenkins", "X_Hub_Signature_256": sign(BODY, "not-the-secret")},
        {"X_Jira_Bridge_Caller": "gitlab-ci", "X_Hub_Signature_256": sign(BODY, API_KEY)},  # API key is no HMAC secret
        {"X_Jira_Bridge_Caller": "nobody", "X_Hub_Signature_256": sign(BODY, HMAC_SECRET)},
        {"X_Jira_Bridge_Caller": "jenkins", "X_Hub_Signature_256": "sha1=" + "0" * 40},
    ],
)
def test_anything_else_is_unauthenticated(directory: CallerDirectory, request_headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated):
        directory.authenticate(headers(**request_headers), BODY)  # type: ignore[arg-type]


def test_github_with_the_webhook_secret_or_a_named_callers(directory: CallerDirectory) -> None:
    assert directory.github(BODY, sign(BODY, GITHUB_SECRET)).name == "github"
    assert directory.github(BODY, sign(BODY, "per-repository-secret-0123"), caller="acme/shop").name == "acme/shop"
    with pytest.raises(Unauthenticated):
        directory.github(BODY, sign(BODY, GITHUB_SECRET), caller="acme/shop")
    with pytest.raises(Unauthenticated):
        directory.github(BODY, None)


def test_gitlab_token_of_the_stack_or_of_a_caller(directory: CallerDirectory) -> None:
    assert directory.gitlab(GITLAB_TOKEN).name == "gitlab"
    assert directory.gitlab(GITLAB_TOKEN).projects is None
    per_project = directory.gitlab("per-project-gitlab-token-0123")
    assert (per_project.name, per_project.projects) == ("acme/api", ("API",))
    for wrong in (None, "", API_KEY, GITLAB_TOKEN + "x"):
        with pytest.raises(Unauthenticated):
            directory.gitlab(wrong)


def test_no_gitlab_token_means_no_gitlab_webhooks() -> None:
    bare = CallerDirectory(parse_callers_secret("test", {"callers": {"x1": {"api_key": API_KEY}}}))
    with pytest.raises(Unauthenticated):
        bare.gitlab(API_KEY)


def test_no_github_secret_means_no_github_webhooks() -> None:
    directory = CallerDirectory(parse_callers_secret("test", {"callers": {}}))
    with pytest.raises(Unauthenticated, match="github_webhook_secret"):
        directory.github(BODY, sign(BODY, GITHUB_SECRET))


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ({"callers": {"x": {}}}, "an api_key, an hmac_secret or a gitlab_token"),
        ({"callers": {"x": {"api_key": "short"}}}, "api_key"),
        ({"callers": {"bad name!": {"api_key": API_KEY}}}, "not a caller name"),
        ({"callers": {}, "extra": 1}, "extra"),
    ],
)
def test_invalid_secret_names_the_problem_never_the_values(secret: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as raised:
        parse_callers_secret("jira-bridge/s/ci-callers", secret)
    assert API_KEY not in str(raised.value)
    assert "put-secret-value" in str(raised.value)


NOW = 1_800_000_000.0


def signed_get(path: str, query: str, signed_query: str | None = None, at: float = NOW) -> tuple[object, object]:
    from urllib.parse import parse_qsl

    from jira_bridge.ci.callers import SignedRequest, sign_request

    sent = sign_request("jenkins", HMAC_SECRET, "GET", path, query if signed_query is None else signed_query, at)
    return headers(**{k.replace("-", "_"): v for k, v in sent.items()}), SignedRequest(
        "GET", path, tuple(parse_qsl(query, keep_blank_values=True)))


def test_a_get_is_signed_over_method_path_query_and_timestamp(directory: CallerDirectory) -> None:
    query = "pipeline=acme%2Fshop&environment=prod%20eu&deployment=21"
    lookup, request = signed_get("/ci/approval/OPS-1", query)
    assert directory.authenticate(lookup, b"", request, now=NOW + 299).name == "jenkins"  # type: ignore[arg-type]
    # Parameter order does not matter (the query is canonical), values do.
    lookup, request = signed_get("/ci/approval/OPS-1", "deployment=21&environment=prod+eu&pipeline=acme/shop",
                                 signed_query=query)
    assert directory.authenticate(lookup, b"", request, now=NOW).name == "jenkins"  # type: ignore[arg-type]
    lookup, request = signed_get("/ci/approval/OPS-1", query.replace("21", "22"), signed_query=query)
    with pytest.raises(Unauthenticated):
        directory.authenticate(lookup, b"", request, now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("skew", [-301, 301, 10**9])
def test_a_get_outside_the_timestamp_window_is_refused(directory: CallerDirectory, skew: int) -> None:
    lookup, request = signed_get("/ci/approval/OPS-1", "")
    with pytest.raises(Unauthenticated, match="window 300 s"):
        directory.authenticate(lookup, b"", request, now=NOW + skew)  # type: ignore[arg-type]


@pytest.mark.parametrize("stamp", [None, "", "soon", "1.5", "²³", "9" * 13])
def test_a_get_without_a_unix_timestamp_is_refused(directory: CallerDirectory, stamp: str | None) -> None:
    from jira_bridge.ci.callers import SignedRequest

    values = {"X_Jira_Bridge_Caller": "jenkins", "X_Hub_Signature_256": "sha256=00"}
    if stamp is not None:
        values["X_Jira_Bridge_Timestamp"] = stamp
    with pytest.raises(Unauthenticated, match="X-Jira-Bridge-Timestamp"):
        directory.authenticate(headers(**values), b"", SignedRequest("GET", "/ci/approval/OPS-1"))  # type: ignore[arg-type]


def test_a_get_whose_query_is_not_valid_text_is_refused_not_crashed(directory: CallerDirectory) -> None:
    from jira_bridge.ci.callers import SignedRequest

    lookup, _ = signed_get("/ci/approval/OPS-1", "deployment=21")
    with pytest.raises(Unauthenticated):
        directory.authenticate(lookup, b"", SignedRequest("GET", "/ci/approval/OPS-1", (("deployment", "\udb6f"),)),
                               now=NOW)  # type: ignore[arg-type]

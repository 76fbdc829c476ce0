from pathlib import Path
from typing import Any

import pytest

from jira_bridge.connectors.model import Connector, parse_connector_secret
from jira_bridge.connectors.registry import ConnectorRegistry
from jira_bridge.connectors.routing import ConnectorRouting, load_routing
from jira_bridge.errors import ConfigurationError

pytestmark = pytest.mark.unit

SECRET = {
    "site_url": "https://myorg.atlassian.net/",
    "email": "bot@example.com",
    "api_token": "tok-123",
    "webhook_secret": "hook-456",
}


def test_secret_parses_and_hides_values() -> None:
    connector = parse_connector_secret("default", "jira-bridge/s/connectors/default", SECRET)
    assert connector.credentials.site == "https://myorg.atlassian.net"
    assert "tok-123" not in repr(connector)
    assert connector.credentials.api_token is not None
    assert connector.credentials.api_token.get_secret_value() == "tok-123"
    assert str(connector.credentials.api_gateway_url).startswith("https://api.atlassian.com")


def test_bad_secret_names_fields_not_values() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_connector_secret("payments", "jira-bridge/s/connectors/payments",
                               {**SECRET, "site_url": "not a url", "api_token": ""})
    message = str(caught.value)
    assert "connector 'payments'" in message
    assert "site_url" in message
    assert "api_token" in message
    assert "put-secret-value --secret-id jira-bridge/s/connectors/payments" in message
    assert "hook-456" not in message


def test_placeholder_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="CHANGE-ME placeholder"):
        parse_connector_secret("default", "id", {**SECRET, "api_token": "CHANGE-ME"})


def test_secret_must_be_an_object() -> None:
    with pytest.raises(ConfigurationError, match="must be a JSON object"):
        parse_connector_secret("default", "id", "just a string")


def test_project_level_connector_wins(tmp_path: Path) -> None:
    path = tmp_path / "connectors.yaml"
    path.write_text("default_connector: org\nprojects:\n  PAY: payments\n")
    routing = load_routing(path)
    assert routing.connector_for("PAY") == "payments"
    assert routing.connector_for("pay") == "payments"
    assert routing.connector_for("OPS") == "org"


def test_missing_routing_file_means_default_everywhere(tmp_path: Path) -> None:
    assert load_routing(tmp_path / "absent.yaml").connector_for("OPS") == "default"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("projects: [1, 2", "not valid YAML"),
        ("projects:\n  pay-team: payments\n", "not a Jira project key"),
        ("default_connector: 'has space'\n", "not a connector name"),
        ("unknown_key: 1\n", "unknown_key"),
    ],
)
def test_bad_routing_file_is_explained(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "connectors.yaml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=expected):
        load_routing(path)


class FakeSource:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def get(self, name: str) -> Connector:
        self.asked.append(name)
        payload: dict[str, Any] = {**SECRET, "email": f"{name}@example.com"}
        return parse_connector_secret(name, f"prefix/{name}", payload)


def test_registry_resolves_project_then_default() -> None:
    source = FakeSource()
    registry = ConnectorRegistry(ConnectorRouting(projects={"PAY": "payments"}), source)
    assert registry.for_project("PAY").credentials.email == "payments@example.com"
    assert registry.for_project("OPS").name == "default"
    assert [c.name for c in registry.all()] == ["default", "payments"]


def test_a_rotated_token_changes_the_fingerprint_the_client_cache_is_keyed_on() -> None:
    from jira_bridge.adapters import _fingerprint

    before = parse_connector_secret("default", "id", SECRET).credentials
    after = parse_connector_secret("default", "id", {**SECRET, "api_token": "tok-rotated"}).credentials
    assert _fingerprint(before) != _fingerprint(after)
    assert _fingerprint(before) == _fingerprint(parse_connector_secret("default", "id", SECRET).credentials)


def test_a_datacenter_secret_takes_a_pat_or_username_and_password() -> None:
    pat = parse_connector_secret("dc", "s", {"kind": "datacenter", "site_url": "https://jira.corp/",
                                             "personal_access_token": "pat-1", "username": "svc-bridge"})
    assert pat.credentials.kind == "datacenter"
    assert "pat-1" not in repr(pat)
    basic = parse_connector_secret("dc", "s", {"kind": "datacenter", "site_url": "https://jira.corp/",
                                               "username": "svc-bridge", "password": "pw-1"})
    assert basic.credentials.username == "svc-bridge"


@pytest.mark.parametrize(("payload", "complaint"), [
    ({"kind": "datacenter", "site_url": "https://jira.corp"}, "needs personal_access_token"),
    ({"kind": "datacenter", "site_url": "https://jira.corp", "personal_access_token": "p", "email": "a@b.c",
      "api_token": "t"}, "email, api_token only apply to Jira Cloud"),
    ({"site_url": "https://x.atlassian.net", "personal_access_token": "p"}, "needs email and api_token"),
    ({"kind": "server", "site_url": "https://jira.corp", "personal_access_token": "p"}, "kind"),
])
def test_a_secret_of_the_wrong_shape_for_its_kind_says_what_to_give(payload: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint) as caught:
        parse_connector_secret("dc", "s", payload)
    assert "'p'" not in str(caught.value)


def test_a_service_account_token_calls_the_api_gateway_with_the_cloud_id() -> None:
    secret = {**SECRET, "api_route": "gateway", "cloud_id": "35273b54-3f06-40d2-880f-dd28cf8daafa"}
    credentials = parse_connector_secret("svc", "s", secret).credentials
    assert credentials.rest_base == "https://api.atlassian.com/ex/jira/35273b54-3f06-40d2-880f-dd28cf8daafa"
    assert credentials.site == "https://myorg.atlassian.net"  # links and webhooks still name the site
    assert parse_connector_secret("c", "s", SECRET).credentials.rest_base == "https://myorg.atlassian.net"
    with pytest.raises(ConfigurationError, match="add cloud_id"):
        parse_connector_secret("svc", "s", {**SECRET, "api_route": "gateway"})


def test_a_cached_secret_is_parsed_once_and_a_rotated_one_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Powertools answers the same object while the secret is in its cache: the same Connector comes back
    (no validation per event); a refreshed answer (rotation) is parsed and used."""
    from jira_bridge import adapters
    from jira_bridge.adapters import _fingerprint
    from jira_bridge.connectors.secrets import SecretsManagerConnectors

    answers = {"jira-bridge/connectors/default": dict(SECRET)}
    monkeypatch.setattr(adapters, "get_secret_json", lambda secret_id, max_age: answers[secret_id])
    source = SecretsManagerConnectors("jira-bridge/connectors/")
    first = source.get("default")
    assert source.get("default") is first
    assert _fingerprint(first.credentials) == _fingerprint(source.get("default").credentials)

    answers["jira-bridge/connectors/default"] = {**SECRET, "api_token": "tok-rotated"}  # the cache expired
    rotated = source.get("default")
    assert rotated is not first
    assert rotated.credentials.api_token is not None
    assert rotated.credentials.api_token.get_secret_value() == "tok-rotated"
    assert _fingerprint(rotated.credentials) != _fingerprint(first.credentials)


def test_a_cached_callers_secret_gives_the_same_directory_until_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    from jira_bridge import adapters
    from jira_bridge.ci.callers import SecretsManagerCallers

    answer = {"callers": {"ci": {"api_key": "ci-api-key-0123456789"}}}
    monkeypatch.setattr(adapters, "get_secret_json", lambda secret_id, max_age: answer)
    callers = SecretsManagerCallers("jira-bridge/ci-callers")
    directory = callers.directory()
    assert callers.directory() is directory
    answer = {"callers": {"ci": {"api_key": "ci-api-key-rotated-0123456789"}}}
    assert callers.directory() is not directory


class CountingSecrets:
    """A Secrets Manager client answering one secret and counting the reads."""

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value
        self.reads: list[str] = []

    def get_secret_value(self, SecretId: str, **_: Any) -> dict[str, Any]:
        import json

        self.reads.append(SecretId)
        return {"SecretString": json.dumps(self.value)}


def test_secrets_are_read_through_the_shared_client_cached_per_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider uses the container's shared client (no second boto3 session), caches for max_age, keeps
    one cache per function (the local runner runs them all in one process), and clear_caches drops it."""
    from aws_lambda_powertools.utilities import parameters

    from jira_bridge import adapters

    client = CountingSecrets(SECRET)
    adapters.reset()
    adapters.override_aws_client("secretsmanager", client)
    try:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "JiraWebhookFunction")
        assert adapters.get_secret_json("s", max_age=300) == SECRET
        assert adapters.get_secret_json("s", max_age=300) == SECRET
        assert client.reads == ["s"]  # cached

        client.value = {**SECRET, "api_token": "tok-replaced"}  # an operator replaces the secret
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "CiNotifyFunction")
        assert adapters.get_secret_json("s", max_age=300)["api_token"] == "tok-replaced"  # its own cache
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "JiraWebhookFunction")
        assert adapters.get_secret_json("s", max_age=300)["api_token"] == "tok-123"  # until its cache expires
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        assert adapters.get_secret_json("s", max_age=300)["api_token"] == "tok-replaced"
        assert client.reads == ["s", "s", "s"]
    finally:
        adapters.reset()

"""The `jira-bridge/<stack>/pagerduty` secret: parsed with clear errors that never show a value."""

from __future__ import annotations

from typing import Any

import pytest

from jira_bridge.errors import ConfigurationError
from jira_bridge.pagerduty.credentials import PagerDutySecret, pagerduty_secret_name, parse_pagerduty_secret
from tests.unit.pagerduty.pd_fakes import ROUTING_KEY

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]

SECRET_ID = "jira-bridge/prod/pagerduty"


def _payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "api_token": "u+real-token",
        "from_email": "jira-bridge@example.com",
        "webhook_secrets": ["whsec-new", "whsec-old"],
        "events_routing_key": ROUTING_KEY,
        "user_emails": {"PXRUEF2": "harsh@example.com"},
    }
    payload.update(overrides)
    return {name: value for name, value in payload.items() if value is not None}


def test_secret_name_convention() -> None:
    assert pagerduty_secret_name("prod") == SECRET_ID


def test_a_complete_secret_parses_and_hides_its_values() -> None:
    secret = parse_pagerduty_secret(SECRET_ID, _payload())
    assert secret.api_token.get_secret_value() == "u+real-token"
    assert secret.webhook_secret_values() == ["whsec-new", "whsec-old"]
    assert secret.user_emails == {"PXRUEF2": "harsh@example.com"}
    assert (secret.rest_url, secret.events_url) == ("https://api.pagerduty.com", "https://events.pagerduty.com")
    shown = repr(secret) + str(secret.model_dump())
    for value in ("u+real-token", "whsec-new", ROUTING_KEY):
        assert value not in shown


def test_only_the_token_and_from_email_are_required_and_urls_can_point_at_a_fake() -> None:
    secret = parse_pagerduty_secret(SECRET_ID, {"api_token": "t", "from_email": "a@b.c",
                                                "rest_api_url": "http://127.0.0.1:8101/",
                                                "events_api_url": "http://127.0.0.1:8102"})
    assert secret.webhook_secrets == []
    assert secret.events_routing_key is None
    assert (secret.rest_url, secret.events_url) == ("http://127.0.0.1:8101", "http://127.0.0.1:8102")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (_payload(api_token=None), "api_token is missing"),
        (_payload(from_email="not-an-email"), "from_email"),
        (_payload(api_token="CHANGE-ME"), "api_token: Value error, still holds the CHANGE-ME placeholder"),
        (_payload(webhook_secrets=["ok", ""]), "webhook_secrets: Value error, holds an empty secret"),
        (_payload(events_routing_key="short-key"), "events_routing_key: Value error, an Events API v2"),
        (_payload(user_emails={"PX": "nobody"}), "not e-mail addresses for PagerDuty user(s) PX"),
        (_payload(surprise=1), "surprise"),
    ],
)
def test_errors_name_the_secret_and_the_field_never_the_value(payload: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_pagerduty_secret(SECRET_ID, payload)
    message = str(caught.value)
    assert SECRET_ID in message
    assert expected in message
    assert "put-secret-value" in message
    for value in ("u+real-token", "whsec-new", "short-key", ROUTING_KEY):
        assert value not in message


def test_a_non_object_secret_says_what_to_store() -> None:
    with pytest.raises(ConfigurationError, match="must be a JSON object with api_token and from_email"):
        parse_pagerduty_secret(SECRET_ID, ["api_token"])


def test_the_model_is_frozen() -> None:
    secret = PagerDutySecret.model_validate(_payload())
    with pytest.raises(ValueError, match="frozen"):
        secret.from_email = "x@y.z"  # type: ignore[misc]

import pytest

from jira_bridge.errors import ConfigurationError
from jira_bridge.settings import IncidentEventsSettings, JiraWebhookSettings, parse_settings

pytestmark = pytest.mark.unit

VALID = {
    "POWERTOOLS_SERVICE_NAME": "jira-webhook",
    "LINK_TABLE_NAME": "links",
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "CONNECTOR_SECRET_PREFIX": "jira-bridge/stack/connectors/",
    "EVENT_BUS_NAME": "jira-bridge-incidents",
}


def test_valid_environment_parses_with_defaults() -> None:
    settings = parse_settings(JiraWebhookSettings, {**VALID, "JIRA_CHANGES_QUEUE_URL": "https://sqs/q.fifo"})
    assert settings.link_table_name == "links"
    assert str(settings.config_dir) == "/opt"
    assert settings.secret_cache_seconds == 300


def test_missing_variables_are_named_in_one_message() -> None:
    env = {k: v for k, v in VALID.items() if k != "LINK_TABLE_NAME"}
    with pytest.raises(ConfigurationError) as caught:
        parse_settings(IncidentEventsSettings, env)
    message = str(caught.value)
    assert "LINK_TABLE_NAME is missing" in message
    assert "INCIDENT_EVENTS_DLQ_URL is missing" in message
    assert "--env-vars" in message


def test_invalid_value_says_what_is_wrong() -> None:
    with pytest.raises(ConfigurationError, match="SECRET_CACHE_SECONDS"):
        parse_settings(JiraWebhookSettings, {**VALID, "JIRA_CHANGES_QUEUE_URL": "q", "SECRET_CACHE_SECONDS": "-1"})


def test_a_second_stack_in_one_process_reads_its_own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """adapters.reset() (the local runner between stacks, bench runs) forgets the parsed settings too:
    a bench run whose CONFIG_DIR routes projects to three sites must not reuse the first run's."""
    from jira_bridge import adapters
    from jira_bridge.settings import load_settings

    for name, value in {**VALID, "JIRA_CHANGES_QUEUE_URL": "q", "CONFIG_DIR": "/first"}.items():
        monkeypatch.setenv(name, value)
    adapters.reset()
    assert str(load_settings(JiraWebhookSettings).config_dir) == "/first"
    monkeypatch.setenv("CONFIG_DIR", "/second")
    adapters.reset()
    assert str(load_settings(JiraWebhookSettings).config_dir) == "/second"
    adapters.reset()

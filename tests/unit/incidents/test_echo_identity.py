"""The incident side's integration users: who the bridge is when the incident tool applies its requests."""

from __future__ import annotations

from jira_bridge.incidents.events import Person
from jira_bridge.incidents.runbooks import IncidentSide, RunbookSet


def side() -> IncidentSide:
    return RunbookSet.model_validate(
        {"incident_side": {"integration_users": {"PagerDuty": ["Jira-Bridge@example.com", "Jira Bridge"]}}}
    ).incident_side


def test_integration_user_is_matched_by_email_or_name_case_insensitively_per_source() -> None:
    assert side().is_integration_user("pagerduty", Person(email="jira-bridge@EXAMPLE.com")) is not None
    assert side().is_integration_user("pagerduty", None, Person(name="jira bridge")) == "jira bridge"


def test_other_sources_and_other_people_are_not_the_bridge() -> None:
    assert side().is_integration_user("custom", Person(email="jira-bridge@example.com")) is None
    assert side().is_integration_user("pagerduty", Person(email="dana@example.com", name="Dana")) is None
    assert side().is_integration_user("pagerduty") is None
    assert IncidentSide().is_integration_user("pagerduty", Person(email="jira-bridge@example.com")) is None


def test_reopen_status_only_applies_to_transitions() -> None:
    import pytest
    from pydantic import ValidationError

    assert RunbookSet.model_validate({"reopen": {"mode": "transition", "status": "In Progress"}}).reopen is not None
    with pytest.raises(ValidationError, match="mode: transition only"):
        RunbookSet.model_validate({"reopen": {"mode": "new_issue", "status": "To Do"}})
    with pytest.raises(ValidationError):
        RunbookSet.model_validate({"reopen": {"mode": "reopen-please"}})

"""Several PagerDuty accounts: pagerduty.yaml, its lint, secret names and where requests are routed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from jira_bridge.errors import ConfigurationError
from jira_bridge.incidents.events import INCIDENT_ACCOUNT_FIELD, Change, ChangeKind, Incident, IncidentChanged
from jira_bridge.incidents.updates import IncidentCreateRequested, IncidentUpdateRequested, JiraOrigin
from jira_bridge.pagerduty.accounts import (
    DEFAULT_ACCOUNT,
    account_secret_name,
    is_account_name,
    lint_pagerduty_accounts,
    load_pagerduty_accounts,
    with_account,
)
from jira_bridge.publishing import AccountRoutedPublisher, RecordingPublisher

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]

REPO_ROOT = Path(__file__).resolve().parents[3]
BASE = "jira-bridge/prod/pagerduty"

GOOD = """\
accounts:
  emea:
    services: [PABC123, PDEF456]
    event_sources: [aws.partner/pagerduty.com/acme-emea-jira]
  apac:
    services: [PXYZ789]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pagerduty.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_and_the_shipped_file_mean_the_default_account_only(tmp_path: Path) -> None:
    for accounts in (load_pagerduty_accounts(tmp_path / "pagerduty.yaml"),
                     load_pagerduty_accounts(REPO_ROOT / "config" / "pagerduty.yaml")):
        assert accounts.names() == {DEFAULT_ACCOUNT}
        assert accounts.for_eventbridge("aws.partner/pagerduty.com/x", "PABC123") == DEFAULT_ACCOUNT
    assert lint_pagerduty_accounts(REPO_ROOT / "config" / "pagerduty.yaml") == []


def test_routing_by_event_source_then_service_then_default(tmp_path: Path) -> None:
    accounts = load_pagerduty_accounts(write(tmp_path, GOOD))
    assert accounts.names() == {"default", "emea", "apac"}
    assert accounts.knows("apac")
    assert not accounts.knows("amer")
    assert accounts.for_eventbridge("aws.partner/pagerduty.com/acme-emea-jira", None) == "emea"
    assert accounts.for_eventbridge("aws.partner/pagerduty.com/other", "PXYZ789") == "apac"
    assert accounts.for_eventbridge("aws.partner/pagerduty.com/other", "PUNKNOWN") == "default"
    # the partner source names the account even when the service is another account's
    assert accounts.for_eventbridge("aws.partner/pagerduty.com/acme-emea-jira", "PXYZ789") == "emea"


def test_secret_names_keep_the_default_where_it_was() -> None:
    assert account_secret_name(BASE, "default") == BASE
    assert account_secret_name(BASE, "emea") == f"{BASE}/emea"
    for bad in ("", "EMEA", "../connectors/default", "a/b", "x" * 33, "-lead"):
        assert not is_account_name(bad)
        with pytest.raises(ValueError, match="not a PagerDuty account name"):
            account_secret_name(BASE, bad)


def test_a_service_routed_to_two_accounts_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "  amer:\n    services: [PNEW000, PABC123]\n")
    [problem] = lint_pagerduty_accounts(path)
    assert problem.startswith("pagerduty.yaml:8: accounts.amer.services[1]: service PABC123 is already routed "
                              "to account 'emea' (line 3)")
    with pytest.raises(ConfigurationError, match="PABC123"):
        load_pagerduty_accounts(path)


def test_unknown_keys_bad_names_and_bad_values_are_file_line_errors(tmp_path: Path) -> None:
    path = write(tmp_path, """\
accounts:
  emea:
    service: [PABC123]
  Bad_Name: {}
  apac:
    event_sources: [arn:aws:events:eu-west-1:1:event-bus/x]
routes: {}
""")
    problems = lint_pagerduty_accounts(path)
    assert "pagerduty.yaml:3: accounts.emea.service: is not a known setting (check the spelling)" in problems
    assert "pagerduty.yaml:7: routes: is not a known setting (check the spelling)" in problems
    assert any(p.startswith("pagerduty.yaml:4: accounts.Bad_Name: ") for p in problems), problems
    assert any(p.startswith("pagerduty.yaml:6: accounts.apac.event_sources:") and "aws.partner/pagerduty.com"
               in p for p in problems), problems


def _event(**custom: str) -> IncidentChanged:
    return IncidentChanged(
        event_id="e1", sequence=1, occurred_at=datetime(2026, 12, 4, tzinfo=UTC), source="pagerduty",
        incident=Incident(id="Q1", title="t", state="triggered", custom_fields=custom),
        change=Change(kind=ChangeKind.CREATED))


def test_the_event_carries_its_account_except_the_default() -> None:
    event = _event(service_id="PABC123")
    assert with_account(event, "default") is event
    marked = with_account(event, "emea")
    assert marked.incident_account == "emea"
    assert marked.incident.custom_fields == {"service_id": "PABC123", INCIDENT_ACCOUNT_FIELD: "emea"}
    assert event.incident_account is None


ORIGIN = JiraOrigin(connector="default", issue_id="10001", issue_key="OPS-1")
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def test_requests_go_to_the_account_of_their_incident_and_creates_by_service() -> None:
    sinks = {name: RecordingPublisher() for name in ("default", "emea")}
    links = {"Q-EMEA": "emea"}
    publisher = AccountRoutedPublisher(lambda incident: links.get(incident, "default"),
                                       lambda service: "emea" if service == "PABC123" else "default",
                                       sinks.__getitem__)
    publisher.publish_update(IncidentUpdateRequested(request_id="r1", incident_id="Q-EMEA", requested_at=NOW,
                                                     state="resolved", origin=ORIGIN))
    publisher.publish_update(IncidentUpdateRequested(request_id="r2", incident_id="Q-OTHER", requested_at=NOW,
                                                     state="resolved", origin=ORIGIN))
    publisher.publish_create(IncidentCreateRequested(request_id="r3", dedup_key="k", rule="r", requested_at=NOW,
                                                     title="t", service="PABC123", origin=ORIGIN))
    assert [u.incident_id for u in sinks["emea"].updates] == ["Q-EMEA"]
    assert [u.incident_id for u in sinks["default"].updates] == ["Q-OTHER"]
    assert [c.request_id for c in sinks["emea"].creates] == ["r3"]
    assert not sinks["default"].creates


def test_jira_bridge_lint_checks_pagerduty_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from jira_bridge_cli.main import main

    good = write(tmp_path, GOOD)
    assert main(["lint", str(good)]) == 0
    assert capsys.readouterr().out.strip() == f"{good}: ok"
    write(tmp_path, GOOD + "  amer:\n    services: [PXYZ789]\n")
    assert main(["lint", str(good)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("pagerduty.yaml:8: accounts.amer.services[0]: service PXYZ789 is already routed")
    assert "1 problem(s)" in captured.err


def test_the_readme_example_is_a_valid_pagerduty_yaml(tmp_path: Path) -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("#### Several PagerDuty accounts", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = write(tmp_path, example)
    assert lint_pagerduty_accounts(path) == []
    assert load_pagerduty_accounts(path).for_eventbridge("aws.partner/pagerduty.com/x", "PDEF456") == "emea"

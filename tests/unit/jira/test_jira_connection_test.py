"""run_connection_test: one pass/fail line per check, each failure with a one-line fix."""

from __future__ import annotations

from typing import Any

import pytest
import urllib3

from jira_bridge.jira.client import JiraClient
from jira_bridge.jira.connection_test import REQUIRED_PERMISSIONS, run_connection_test
from jira_bridge.jira.software import JiraSoftwareClient
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import EMAIL, SITE, TransportFactory

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]  # HTTP is faked under urllib3 (tests/http_fake.py)

API = f"{SITE}/rest/api/3"
GATEWAY = "https://api.atlassian.com"


def _myself(mocked: FakeHttp) -> None:
    mocked.get(
        f"{API}/myself",
        json={"accountId": "557058:f5", "displayName": "Jira Bridge", "emailAddress": EMAIL, "active": True},
    )


def _project(mocked: FakeHttp, key: str) -> None:
    mocked.get(f"{API}/project/{key}", json={"id": "10000", "key": key, "name": f"{key} project"})


def _permissions(mocked: FakeHttp, missing: tuple[str, ...] = ()) -> None:
    permissions: dict[str, Any] = {
        key: {"key": key, "name": name, "havePermission": key not in missing}
        for key, name in REQUIRED_PERMISSIONS.items()
    }
    mocked.get(f"{API}/mypermissions", json={"permissions": permissions})


def test_all_checks_pass(mocked: FakeHttp, client: JiraClient) -> None:
    _myself(mocked)
    _project(mocked, "OPS")
    _permissions(mocked)
    report = run_connection_test(client, ["OPS"])
    assert report.ok
    assert [c.name for c in report.checks] == ["credentials", "project OPS", "permissions in OPS"]
    assert report.check("credentials").detail == f"authenticated as Jira Bridge ({EMAIL})"
    assert all(c.fix is None for c in report.checks)
    assert report.to_text().splitlines()[0] == (
        f"Jira connection test for {SITE} as {EMAIL}: all checks passed"
    )


def test_missing_permission_names_the_grant(mocked: FakeHttp, client: JiraClient) -> None:
    _myself(mocked)
    _project(mocked, "OPS")
    _permissions(mocked, missing=("TRANSITION_ISSUES",))
    report = run_connection_test(client, ["OPS"])
    assert not report.ok
    failure = report.check("permissions in OPS")
    assert failure.status == "fail"
    assert failure.fix == (
        f"Grant 'Transition Issues' to {EMAIL} in project OPS's permission scheme "
        "(Project settings > Permissions)"
    )
    query = mocked.calls[-1].request.url or ""
    assert "projectKey=OPS" in query
    for key in REQUIRED_PERMISSIONS:
        assert key in query


def test_several_missing_permissions_in_one_line(mocked: FakeHttp, client: JiraClient) -> None:
    _myself(mocked)
    _project(mocked, "OPS")
    _permissions(mocked, missing=("ADD_COMMENTS", "EDIT_ISSUES"))
    fix = run_connection_test(client, ["OPS"]).check("permissions in OPS").fix or ""
    assert fix.startswith(f"Grant 'Edit Issues' and 'Add Comments' to {EMAIL} in project OPS")
    assert "\n" not in fix


def test_unknown_project(mocked: FakeHttp, client: JiraClient) -> None:
    _myself(mocked)
    mocked.get(
        f"{API}/project/NOPE",
        status=404,
        json={"errorMessages": ["No project could be found with key 'NOPE'."], "errors": {}},
    )
    _project(mocked, "OPS")
    _permissions(mocked)
    report = run_connection_test(client, ["NOPE", "OPS"])
    assert report.check("project NOPE").status == "fail"
    assert "config/connectors.yaml" in (report.check("project NOPE").fix or "")
    assert report.check("permissions in NOPE").status == "skip"
    assert report.check("project OPS").ok
    assert len(report.failures) == 1


def test_bad_credentials(mocked: FakeHttp, client: JiraClient) -> None:
    mocked.get(f"{API}/myself", status=401, body="Client must be authenticated to access this resource.")
    report = run_connection_test(client, ["OPS"])
    credentials = report.check("credentials")
    assert credentials.status == "fail"
    assert credentials.detail == f"Jira rejected the credentials of {EMAIL} (401)"
    assert "id.atlassian.com/manage-profile/security/api-tokens" in (credentials.fix or "")
    assert report.check("project OPS").status == "skip"
    assert len(mocked.calls) == 1  # nothing else is tried with credentials known to be bad


def test_unreachable_site_is_a_failure_not_a_traceback(
    mocked: FakeHttp, client: JiraClient
) -> None:
    for _ in range(4):
        mocked.get(f"{API}/myself", body=urllib3.exceptions.ConnectTimeoutError("timed out"))
    report = run_connection_test(client, [])
    credentials = report.check("credentials")
    assert credentials.status == "fail"
    assert "connect timeout" in credentials.detail
    assert (credentials.fix or "").startswith(f"Check that {SITE} is the right site URL")
    assert "Traceback" not in report.to_text()


def test_software_credentials(
    mocked: FakeHttp, client: JiraClient, make_transport: TransportFactory
) -> None:
    _myself(mocked)
    mocked.post(f"{GATEWAY}/oauth/token", json={"access_token": "tok"})
    software = JiraSoftwareClient.with_oauth(
        SITE, "cid", "csecret", cloud_id="cloud-1", like=make_transport()
    )
    report = run_connection_test(client, [], software_client=software)
    check = report.check("builds/deployments credentials")
    assert check.ok
    assert "cloud id cloud-1" in check.detail


def test_refused_software_credentials(
    mocked: FakeHttp, client: JiraClient, make_transport: TransportFactory
) -> None:
    _myself(mocked)
    mocked.post(
        f"{GATEWAY}/oauth/token",
        status=401,
        json={"error": "access_denied", "error_description": "Unauthorized"},
    )
    software = JiraSoftwareClient.with_oauth(
        SITE, "cid", "csecret", cloud_id="cloud-1", like=make_transport()
    )
    report = run_connection_test(client, [], software_client=software)
    check = report.check("builds/deployments credentials")
    assert check.status == "fail"
    assert check.detail == "the OAuth client credentials were refused: access_denied: Unauthorized"
    assert "oauth_client_id and oauth_client_secret" in (check.fix or "")
    assert "csecret" not in report.to_text()


def test_report_as_dict(mocked: FakeHttp, client: JiraClient) -> None:
    _myself(mocked)
    report = run_connection_test(client, [])
    assert report.to_dict() == {
        "site": SITE,
        "identity": EMAIL,
        "ok": True,
        "checks": [
            {
                "name": "credentials",
                "status": "pass",
                "detail": f"authenticated as Jira Bridge ({EMAIL})",
                "fix": None,
            }
        ],
    }

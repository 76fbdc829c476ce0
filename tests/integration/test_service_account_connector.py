"""A Jira Cloud service account's scoped API token works only through api.atlassian.com/ex/jira/{cloudId}
(Atlassian KB: "401 Unauthorized error when service account accesses Jira or Confluence API"); the
connector form site URL + cloud id + token sends every call there."""

from __future__ import annotations

import pytest

from jira_bridge.adapters import jira_client_for
from jira_bridge.connectors.model import parse_connector_secret
from jira_bridge.jira.connection_test import run_connection_test
from jira_bridge.jira.errors import JiraAuthError
from jira_sim.seed import CLOUD_ID
from local_runtime.environment import LocalEnvironment, simulator_connector_secret

pytestmark = pytest.mark.integration

SCOPED = "jira-bridge-scoped-api-token"


def test_a_scoped_token_works_through_the_gateway_and_only_there(env: LocalEnvironment) -> None:
    secret = {**simulator_connector_secret(env.jira), "api_token": SCOPED, "api_route": "gateway",
              "cloud_id": CLOUD_ID}
    client = jira_client_for(parse_connector_secret("svc", "test", secret))
    report = run_connection_test(client, ["OPS"])
    assert report.ok, report.to_text()
    created = client.create_issue({"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "via gateway"})
    assert env.jira.issue(created.key).fields["summary"] == "via gateway"
    assert all(r.path.startswith(f"/ex/jira/{CLOUD_ID}/rest/api/3/") for r in env.jira.requests)

    at_site = jira_client_for(parse_connector_secret("svc", "test", {**secret, "api_route": "site"}))
    with pytest.raises(JiraAuthError):
        at_site.myself()  # a scoped token on the site URL is refused, as on Jira Cloud

"""CI -> Jira on Jira Data Center: no builds/deployments API there, so runs become remote issue links
(one per pipeline, or pipeline + environment, updated in place), and approval gating is decided by the
configured field criteria."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jira_sim.seed import ALICE_EMAIL
from local_runtime.environment import LocalEnvironment
from tests.integration.ci_support import PIPELINE, approval, notification, notify, open_issues

pytestmark = pytest.mark.integration


@pytest.fixture
def dc(local_environment: LocalEnvironment) -> Iterator[LocalEnvironment]:
    local_environment.reset(site="datacenter")
    yield local_environment
    local_environment.reset(site="cloud")


def links(env: LocalEnvironment, key: str) -> list[dict[str, Any]]:
    return list(env.jira.issue(key).remote_links.values())


def test_builds_and_deployments_become_remote_links_updated_in_place(dc: LocalEnvironment) -> None:
    (key,) = open_issues(dc, 1)
    for number, state in ((7, "running"), (7, "success"), (8, "failure")):
        answer = notify(dc, notification(number, state=state, updated_at=f"2026-11-23T03:0{number}:00Z"))
        assert answer.status_code == 202, answer.text
        assert answer.json()["results"][0]["status"] == "reported"
    (build,) = links(dc, key)
    assert build["globalId"] == f"jira-bridge:build:{PIPELINE['id']}"
    assert build["object"]["title"] == "shop CI #8: failed"
    assert build["object"]["url"] == "https://ci.example.com/acme/shop/runs/8"
    assert build["object"]["status"] == {"resolved": False, "icon": {"title": "failed"}}

    for env_name in ("staging", "Production EU"):
        answer = notify(dc, notification(8, ENVIRONMENT_NAME=env_name, state="SUCCEEDED"))
        assert answer.json()["results"][0]["status"] == "reported", answer.text
    titles = sorted(link["object"]["title"] for link in links(dc, key))
    assert titles == ["shop CI #8 to Production EU: successful", "shop CI #8 to staging: successful",
                      "shop CI #8: failed"]
    assert all(link["object"]["status"]["resolved"] for link in links(dc, key) if "to " in link["object"]["title"])
    assert not any(r.path.startswith(("/rest/builds", "/rest/deployments")) for r in dc.jira.requests)


def test_a_late_older_notification_does_not_overwrite_the_link(dc: LocalEnvironment) -> None:
    (key,) = open_issues(dc, 1)
    assert notify(dc, notification(3, state="success", updated_at="2026-11-23T03:05:00Z")).status_code == 202
    assert notify(dc, notification(3, state="running", updated_at="2026-11-23T03:09:00Z")).status_code == 202
    (build,) = links(dc, key)
    assert build["object"]["title"] == "shop CI #3: successful"


def test_unknown_issue_keys_are_reported_as_such(dc: LocalEnvironment) -> None:
    answer = notify(dc, notification(1, commits=["OPS-404: nothing here"], branch="main"))
    assert answer.json()["results"][0]["status"] == "unknown_keys", answer.text


def test_approval_gating_falls_back_to_the_field_criteria(dc: LocalEnvironment) -> None:
    waiting, approved = open_issues(dc, 2)
    dc.jira.as_user(ALICE_EMAIL).move_to(approved, "Done")
    params = {"pipeline": PIPELINE["id"], "environment": "production", "deployment": "21"}
    answers = {key: approval(dc, key, params).json() for key in (waiting, approved)}
    assert answers[approved]["decision"] == "approved"
    assert answers[approved]["source"] == "criteria"
    reason = "Jira Data Center has no deployment gating; status is Done, resolution is Done"
    assert answers[approved]["reason"] == reason
    assert answers[waiting]["decision"] == "waiting"

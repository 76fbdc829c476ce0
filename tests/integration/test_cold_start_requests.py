"""A new container sends Jira exactly what a warm one does: the physical minimum per operation.

What does not change per incident (field schemas, users by e-mail, the bridge's own account, project
types, the workflow) is learned once per deployment and shared by every container (`meta#` items in
the link table); a move starts from the status the bridge last wrote or a webhook last told it, and
reads the issue only when Jira refuses the planned hop.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
import yaml

from jira_bridge.adapters import jira_client_for
from jira_bridge.incidents.errors import SyncRefused
from jira_bridge.incidents.jira_metadata import JiraMetadata
from jira_bridge.incidents.metadata_store import InMemoryMetadataStore
from jira_bridge.incidents.runbooks import RunbookSet
from jira_bridge.incidents.sync import IncidentSync, JiraSite
from jira_bridge.links.model import IssueLink
from jira_sim.seed import ALICE_EMAIL, INTEGRATION_EMAIL
from local_runtime.environment import LocalEnvironment
from tests.integration.conftest import BOTH_SITES, api, connector_as, site_user_id, user_of
from tests.integration.test_incident_sync import FOLLOW, event, link_store, make_sync, view
from tests.integration.test_jira_to_incident import incident_event as tool_event

pytestmark = pytest.mark.integration

Request = tuple[str, str, int]


def requests_of(env: LocalEnvironment) -> list[Request]:
    """Method, path (issue ids as {id}: two incidents' sequences compare equal when they match), status."""
    return [(r.method, re.sub(r"/issue/\d+", "/issue/{id}", r.path), r.status) for r in env.jira.requests]


def whole_incident(env: LocalEnvironment, incident: str) -> list[list[Request]]:
    """Created, resolved (3 hops, a comment on the last), a note: Jira's requests for each, including
    what the Jira changes function sends while it handles the webhooks these changes cause."""
    steps = [(1, "triggered", {"kind": "created"}),
             (2, "resolved", {"kind": "field_changed", "field": "state", "old_value": "triggered",
                              "new_value": "resolved"}),
             (3, "resolved", {"kind": "note_added", "note": {"id": "n1", "text": "rolled back",
                                                              "author": {"name": "Alice"}}})]
    sent = []
    for sequence, state, change in steps:
        env.jira.reset_log()
        env.put_events([incident_event(sequence, state, change, incident_id=incident)])
        settle(env)
        sent.append(requests_of(env))
    return sent


def incident_event(sequence: int, state: str, change: dict[str, Any], incident_id: str) -> dict[str, Any]:
    published = tool_event(sequence, state, change)
    published["Detail"]["event_id"] = f"{incident_id}-{sequence}"
    published["Detail"]["incident"]["id"] = incident_id
    return published


def flat(steps: list[list[Request]]) -> list[Request]:
    return [request for step in steps for request in step]


def status_name(env: LocalEnvironment, key: str | None) -> str:
    return env.jira.site.status(env.jira.issue(key or "").status_id).name


def settle(env: LocalEnvironment) -> None:
    for _ in range(3):  # the change, then the webhooks it caused
        env.drain()
        env.jira.webhooks.wait_idle(5)
    env.drain()


def link(env: LocalEnvironment, incident: str) -> IssueLink:
    found = link_store(env).get_by_incident(incident)
    assert found is not None
    return found


@BOTH_SITES
def test_a_cold_container_sends_jira_exactly_what_a_warm_one_does(env: LocalEnvironment) -> None:
    rest = api(env)
    first = whole_incident(env, "INC-0")  # the deployment's first incident: the shared cache is filled
    env.cold_start()
    cold = whole_incident(env, "INC-A")
    warm = whole_incident(env, "INC-B")
    minimum = [[("POST", f"{rest}/issue", 201)],
               [("POST", f"{rest}/issue/{{id}}/transitions", 204)] * 3,  # one per hop, the comment in the last
               [("POST", f"{rest}/issue/{{id}}/comment", 201)]]
    assert cold == warm == minimum
    # Only the very first incident of a deployment learns, once each: the assignee, the field schemas,
    # the bridge's own account (the Jira changes function, on the create's webhook), the project's type.
    learned = sorted(set(flat(first)) - set(flat(minimum)))
    assert learned == sorted([("GET", f"{rest}/user/search", 200), ("GET", f"{rest}/field", 200),
                              ("GET", f"{rest}/myself", 200), ("GET", f"{rest}/project/OPS", 200)])
    assert len(flat(first)) == len(flat(minimum)) + 4
    for incident in ("INC-0", "INC-A", "INC-B"):
        assert status_name(env, link(env, incident).issue_key) == "Done"


def test_the_recorded_account_id_spares_even_the_first_myself(env: LocalEnvironment) -> None:
    bridge = env.jira.user(INTEGRATION_EMAIL)
    env.aws.put_secret(env.connector_secret_name("default"), {**env.connector_secret(),
                                                              "account_id": bridge.account_id})
    first = whole_incident(env, "INC-0")
    assert "/rest/api/3/myself" not in [path for _, path, _ in flat(first)]
    assert [r for r in env.runner.invocations if r.function == "JiraChangesFunction"], "webhooks were handled"
    # ... and the bridge's own changes are still recognised: the incident side got no echo back
    assert link(env, "INC-0").incident_values.get("state") == "resolved"


def _renumber_done(env: LocalEnvironment) -> None:
    """An administrator replaces the "Done" transition (id 31) with a new one (id 32), same screen."""
    workflow = env.jira.site.workflow_of(env.jira.site.project("OPS"))  # type: ignore[arg-type]
    done = next(t for t in workflow.transitions if t.id == "31")
    renumbered = tuple(dataclasses.replace(t, id="32") if t is done else t for t in workflow.transitions)
    env.jira.publish_workflow(dataclasses.replace(workflow, transitions=renumbered))


@BOTH_SITES
def test_a_workflow_changed_in_jira_costs_one_read_once_then_is_known_to_every_container(
        env: LocalEnvironment) -> None:
    rest = api(env)
    whole_incident(env, "INC-0")
    _renumber_done(env)
    _, resolved, _ = whole_incident(env, "INC-A")
    hop = ("POST", f"{rest}/issue/{{id}}/transitions", 204)
    refused = ("POST", f"{rest}/issue/{{id}}/transitions", 400)
    assert resolved == [hop, hop, refused, ("GET", f"{rest}/issue/{{id}}", 200), hop], \
        "the refused hop (31) is followed by one read of the issue and its transitions, then the new one (32)"
    assert status_name(env, link(env, "INC-A").issue_key) == "Done"
    assert env.jira.issue(link(env, "INC-A").issue_key or "").fields.get("resolution"), \
        "the screen's required resolution was sent on the new transition"
    env.cold_start()
    _, resolved_later, _ = whole_incident(env, "INC-B")
    assert resolved_later == [hop, hop, hop], "what one container re-read, every container knows"


def test_a_human_move_the_bridge_has_not_heard_of_costs_one_read(env: LocalEnvironment) -> None:
    sync = make_sync(env, FOLLOW)  # no webhook reaches this sync: the link still says To Do
    sync.handle(event(1))
    key = link(env, "INC-1").issue_key or ""
    env.jira.as_user(ALICE_EMAIL).move_to(key, "In Progress")
    env.jira.as_user(ALICE_EMAIL).move_to(key, "In Review")
    env.jira.reset_log()
    result = sync.handle(event(2, "field_changed", state="resolved", field="state", old="triggered", new="resolved"))
    paths = [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in env.jira.requests
             if "/project/" not in r.path]  # (this bare sync has no shared cache: it asks the project's type)
    assert paths == [("POST", "transitions", 400), ("GET", link(env, "INC-1").issue_id, 200),
                     ("POST", "transitions", 204)], result
    assert result.actions == ["moved OPS-1: In Review -> Done"]
    assert status_name(env, key) == "Done"
    assert link(env, "INC-1").jira_values["status"] == "Done"


def test_a_refusal_that_is_not_stale_knowledge_is_reported_after_one_read(env: LocalEnvironment) -> None:
    no_resolution = FOLLOW.replace("          fields: {resolution: {name: Done}}\n", "")
    sync = make_sync(env, no_resolution.replace('required: [resolution]}', 'screen: [resolution]}'))
    sync.handle(event(1))
    env.jira.reset_log()
    # the configured snapshot did not say the screen requires a resolution; the read that follows
    # Jira's refusal does, so the refusal says what to add, and the hop is not tried again
    with pytest.raises(SyncRefused, match="transition 'Done' to Done requires resolution"):
        sync.handle(event(2, "field_changed", state="resolved", field="state", old="triggered", new="resolved"))
    methods = [(r.method, r.status) for r in env.jira.requests if "/project/" not in r.path]
    assert methods == [("POST", 204), ("POST", 204), ("POST", 400), ("GET", 200)], \
        "re-read once, then refused before another POST"
    assert status_name(env, link(env, "INC-1").issue_key) == "In Review"


@BOTH_SITES
def test_a_cached_account_jira_no_longer_knows_is_looked_up_again_once(env: LocalEnvironment) -> None:
    """Alice's account was cached (shared, for a day); her old account is gone. The create is refused for
    the assignee, the bridge asks Jira who she is now and creates once: nothing parked, one issue."""
    shared = InMemoryMetadataStore()
    client = jira_client_for(connector_as(env))
    metadata = JiraMetadata(client, shared=shared, scope="default#site")
    shared.put("default#site#user#alice@example.com", {"account": "account-deleted-last-week"}, 3600)
    site = JiraSite("default", client, metadata)
    sync = IncidentSync(RunbookSet.model_validate(yaml.safe_load(FOLLOW)), link_store(env), lambda _p: site,
                        lambda _n: site)
    env.jira.reset_log()
    result = sync.handle(event(1))
    sent = [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in env.jira.requests if "/field" not in r.path]
    assert sent == [("POST", "issue", 400), ("GET", "search", 200), ("POST", "issue", 201)], result
    key = link(env, "INC-1").issue_key or ""
    assert user_of(view(env, key)["fields"]["assignee"]) == site_user_id(env, ALICE_EMAIL)
    assert shared.get("default#site#user#alice@example.com") == {"account": site_user_id(env, ALICE_EMAIL)}

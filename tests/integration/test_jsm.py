"""Jira Service Management projects through the local stack: the simulator's HELP service project,
its agents (the integration account, Alice), a non-agent (Carol) and a customer (Casey)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from jira_bridge.adapters import jira_client_for
from jira_bridge.incidents.errors import SyncRefused
from jira_bridge.incidents.events import IncidentChanged
from jira_bridge.incidents.jira_metadata import JiraMetadata
from jira_bridge.incidents.lint import lint_file
from jira_bridge.incidents.runbooks import RunbookSet
from jira_bridge.incidents.sync import IncidentSync, JiraSite
from jira_bridge.jira.connection_test import run_connection_test
from jira_bridge.jira.errors import JiraError
from jira_bridge.publishing import RecordingPublisher
from jira_bridge.webhooks.jira_changes import JiraChangeSync, JiraDelivery
from jira_bridge.webhooks.jira_payload import JiraWebhookPayload
from jira_bridge.webhooks.reconcile import Reconciler
from jira_sim.adf import to_plain_text
from jira_sim.seed import ALICE_EMAIL, CAROL_EMAIL, CUSTOMER_EMAIL, GET_HELP, HELP_DESK
from local_runtime.environment import LocalEnvironment
from tests.integration.conftest import BOTH_SITES, api, connector_as, site_user_id
from tests.integration.test_incident_sync import CrashAfterCreate, link_store
from tests.integration.test_jira_changes_rules import MemoryCheckpoints
from tests.integration.test_jira_to_incident import incident_event, settle

pytestmark = [pytest.mark.integration, BOTH_SITES]

RUNBOOKS = """
mappings:
  status: {triggered: To Do, acknowledged: In Progress, resolved: Done}
runbooks:
  - name: open
    trigger: {type: created}
    actions:
      - create_issue: {project: HELP, issue_type: Task, summary: "{{ incident.title }}"}
  - name: follow-state
    trigger: {type: field_changed, field: state}
    actions:
      - transition: {to: {map: status, from: state}, comment: "Incident is now [incident.state]"}
  - name: notes
    trigger: {type: note_added}
    actions:
      - add_comment: {body: "{{ change.note.text }}"}
"""


def event(sequence: int, kind: str = "created", *, state: str = "triggered", note: str | None = None,
          jira_issue: str | None = None) -> IncidentChanged:
    change: dict[str, Any] = {"kind": kind}
    if kind == "field_changed":
        change.update(field="state", old_value="triggered", new_value=state)
    if note is not None:
        change["note"] = {"id": f"n-{sequence}", "text": note, "created_at": datetime.now(UTC).isoformat()}
    return IncidentChanged.model_validate({
        "event_id": f"e-{sequence}", "sequence": sequence, "occurred_at": datetime.now(UTC).isoformat(),
        "incident": {"id": "INC-7", "title": "VPN down", "state": state, "severity": "SEV2",
                     "custom_fields": {"jira_issue_key": jira_issue} if jira_issue else {}},
        "change": change,
    })


def make_sync(env: LocalEnvironment, runbooks: str, links: Any = None) -> IncidentSync:
    client = jira_client_for(connector_as(env))
    site = JiraSite(connector="default", client=client, metadata=JiraMetadata(client))
    return IncidentSync(runbooks=RunbookSet.model_validate(yaml.safe_load(runbooks)), links=links or link_store(env),
                        site_for_project=lambda _project: site, site_named=lambda _name: site)


def customer_request(env: LocalEnvironment, summary: str = "I cannot reach the VPN") -> str:
    """Casey raises a request in the portal: Casey is its reporter, so public comments email Casey."""
    created = env.jira.as_user(CUSTOMER_EMAIL).call("POST", "/rest/servicedeskapi/request", json={
        "serviceDeskId": HELP_DESK, "requestTypeId": GET_HELP, "requestFieldValues": {"summary": summary}})
    return str(created["issueKey"])


def comments_seen_by(env: LocalEnvironment, email: str, key: str) -> list[dict[str, Any]]:
    page = env.jira.as_user(email).call("GET", f"{api(env)}/issue/{key}/comment")
    return list(page["comments"])


def is_public(env: LocalEnvironment, comment: dict[str, Any]) -> bool:
    """Whether an agent's view shows a comment as public: ``jsdPublic`` on Cloud; on Data Center (no
    jsdPublic) the comment's ``sd.public.comment`` property, as Jira Service Management keeps it there."""
    if env.jira.flavour == "cloud":
        return bool(comment["jsdPublic"])
    response = env.jira.as_user(ALICE_EMAIL).request(
        "GET", f"{api(env)}/comment/{comment['id']}/properties/sd.public.comment")
    return response.status_code == 404 or response.json()["value"].get("internal") is not True


def test_the_simulator_emails_customers_for_a_comment_without_the_property(env: LocalEnvironment) -> None:
    """What the bridge must avoid, shown on the simulator: a plain REST comment on a request is public."""
    key = customer_request(env)
    env.jira.as_user(ALICE_EMAIL).comment(key, "root cause: bad config in v42")
    assert [is_public(env, c) for c in comments_seen_by(env, ALICE_EMAIL, key)] == [True]
    assert [e.recipients for e in env.jira.customer_emails(key)] == [(env.jira.user(CUSTOMER_EMAIL).account_id,)]
    assert len(comments_seen_by(env, CUSTOMER_EMAIL, key)) == 1


def test_incident_notes_and_transition_comments_land_as_internal_comments(env: LocalEnvironment) -> None:
    key = customer_request(env)
    sync = make_sync(env, RUNBOOKS)
    assert sync.handle(event(1, jira_issue=key)).issue_key == key
    sync.handle(event(2, "note_added", note="rolled back v42, root cause bad config"))
    sync.handle(event(3, "field_changed", state="acknowledged"))

    comments = comments_seen_by(env, ALICE_EMAIL, key)
    assert len(comments) == 2
    assert not any(is_public(env, c) for c in comments), "both the note and the transition's comment"
    assert env.jira.issue(key).status_id == "3"  # In Progress: the transition itself still happened
    assert env.jira.customer_emails() == [], "no customer was emailed"
    assert comments_seen_by(env, CUSTOMER_EMAIL, key) == []


def test_a_runbook_with_visibility_public_posts_a_public_reply(env: LocalEnvironment) -> None:
    key = customer_request(env)
    public = RUNBOOKS.replace('add_comment: {body: "{{ change.note.text }}"}',
                              'add_comment: {body: "{{ change.note.text }}", visibility: public}')
    sync = make_sync(env, public)
    sync.handle(event(1, jira_issue=key))
    sync.handle(event(2, "note_added", note="We are on it; next update in 30 minutes."))

    [comment] = comments_seen_by(env, CUSTOMER_EMAIL, key)
    assert is_public(env, comment)
    assert [e.recipients for e in env.jira.customer_emails(key)] == [(env.jira.user(CUSTOMER_EMAIL).account_id,)]


def test_software_projects_get_no_jsm_property(env: LocalEnvironment) -> None:
    sync = make_sync(env, RUNBOOKS.replace("project: HELP", "project: OPS"))
    key = sync.handle(event(1)).issue_key
    assert key == "OPS-1"
    env.jira.reset_log()
    sync.handle(event(2, "note_added", note="hello"))
    [post] = [r for r in env.jira.requests if r.method == "POST" and r.path.endswith("/comment")]
    assert "sd.public.comment" not in str(post.body)


def test_project_type_is_read_once_per_project(env: LocalEnvironment) -> None:
    key = customer_request(env)
    sync = make_sync(env, RUNBOOKS)
    sync.handle(event(1, jira_issue=key))
    env.jira.reset_log()
    sync.handle(event(2, "note_added", note="one"))
    sync.handle(event(3, "note_added", note="two"))
    assert env.jira.count("GET", f"{api(env)}/project") == 1


REQUEST_RUNBOOK = RUNBOOKS.replace(
    'create_issue: {project: HELP, issue_type: Task, summary: "{{ incident.title }}"}',
    'create_issue: {project: HELP, issue_type: Incident, request_type: Report a system problem, '
    'summary: "{{ incident.title }}", description: "Incident [incident.id]", labels: [incident], '
    'fields: {customfield_10041: "{{ incident.severity }}", customfield_10040: "[incident.id]"}}')


def test_a_request_type_create_appears_as_a_request(env: LocalEnvironment) -> None:
    key = make_sync(env, REQUEST_RUNBOOK).handle(event(1)).issue_key
    assert key == "HELP-1"
    request = env.jira.as_user(ALICE_EMAIL).call("GET", f"/rest/servicedeskapi/request/{key}")
    assert request["requestTypeId"] == "10"
    issue = env.jira.issue(key)
    assert issue.issue_type_id == "10004"  # the request type's issue type (Incident)
    assert issue.fields["customfield_10040"] == "INC-7", "fields off the form are written right after"
    assert "jira-bridge-INC-7" in issue.fields["labels"]
    assert issue.properties["jira-bridge"]["incidentId"] == "INC-7"
    [create] = [r for r in env.jira.requests if r.method == "POST" and r.path == "/rest/servicedeskapi/request"]
    assert set(create.body["requestFieldValues"]) == {"summary", "description", "customfield_10041"}
    link = link_store(env).get_by_incident("INC-7")
    assert link is not None
    assert link.issue_key == key


def test_a_request_whose_follow_up_edit_failed_is_finished_on_the_retry_not_raised_twice(
        env: LocalEnvironment) -> None:
    sync = make_sync(env, REQUEST_RUNBOOK)
    env.jira.faults.server_error(503, count=None, method="PUT", path=f"{api(env)}/issue/*")
    with pytest.raises(JiraError):
        sync.handle(event(1))
    env.jira.faults.clear()
    assert sync.handle(event(1)).issue_key == "HELP-1"  # the redelivery
    assert [i.key for i in env.jira.issues()] == ["HELP-1"]
    issue = env.jira.issue("HELP-1")
    assert issue.fields["customfield_10040"] == "INC-7"
    assert issue.properties["jira-bridge"]["incidentId"] == "INC-7"


def test_a_request_raised_before_the_function_stopped_is_found_again_not_raised_twice(
        env: LocalEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    """The servicedeskapi takes no marker at create: a stop between the create and the link leaves an
    unmarked request, which the redelivery finds by its reporter, project, age and summary."""
    crashing = CrashAfterCreate(link_store(env))
    with pytest.raises(RuntimeError):
        make_sync(env, REQUEST_RUNBOOK, links=crashing).handle(event(1))
    assert [i.key for i in env.jira.issues()] == ["HELP-1"]
    assert "jira-bridge" not in env.jira.issue("HELP-1").properties

    lease_over = datetime.now(UTC) + timedelta(minutes=3)  # the redelivery comes after the claim's lease
    monkeypatch.setattr("jira_bridge.incidents.sync.utc_now", lambda: lease_over)
    result = make_sync(env, REQUEST_RUNBOOK, links=crashing).handle(event(1))
    assert result.issue_key == "HELP-1"
    assert "found existing HELP-1" in result.actions
    assert [i.key for i in env.jira.issues()] == ["HELP-1"]
    issue = env.jira.issue("HELP-1")
    assert issue.properties["jira-bridge"]["incidentId"] == "INC-7"
    assert issue.fields["customfield_10040"] == "INC-7"


def test_an_unknown_request_type_is_refused_with_the_ones_there_are(env: LocalEnvironment) -> None:
    with pytest.raises(SyncRefused, match=r"HELP has no request type 'Outage' \(it has: Get IT help, Report"):
        make_sync(env, REQUEST_RUNBOOK.replace("Report a system problem", "Outage")).handle(event(1))
    assert env.jira.issues() == []


# ----- Jira -> incident, through the whole local stack (signed webhooks, queue, JiraChangesFunction) --------


def stack_event(sequence: int, change: dict[str, Any], custom_fields: dict[str, str]) -> dict[str, Any]:
    entry = incident_event(sequence, "triggered", change)
    entry["Detail"]["incident"]["custom_fields"] = custom_fields
    return entry


def internal_comment(env: LocalEnvironment, email: str, key: str, text: str) -> dict[str, Any]:
    """An agent's internal note, as Jira's agent view writes it (the sd.public.comment property)."""
    return env.jira.as_user(email).comment(key, text, properties={"sd.public.comment": {"internal": True}})


@pytest.fixture
def request_linked(env: LocalEnvironment) -> tuple[LocalEnvironment, str]:
    """Casey's request HELP-1 is linked to incident INC-1042 (opened from it, so linked, not created)."""
    key = customer_request(env)
    env.put_events([stack_event(1, {"kind": "created"}, {"jira_issue_key": key})])
    settle(env)
    return env, key


def test_incident_notes_through_the_stack_are_internal_and_email_nobody(
        request_linked: tuple[LocalEnvironment, str]) -> None:
    env, key = request_linked
    note = {"id": "pd-note-1", "text": "rolled back v42", "created_at": "2026-11-23T03:05:00Z"}
    env.put_events([stack_event(2, {"kind": "note_added", "note": note}, {"jira_issue_key": key})])
    settle(env)
    [comment] = comments_seen_by(env, ALICE_EMAIL, key)
    assert not is_public(env, comment)
    assert "rolled back v42" in to_plain_text(comment["body"])
    assert env.jira.customer_emails() == []


def test_agents_comments_become_notes_saying_which_and_customers_do_not(
        request_linked: tuple[LocalEnvironment, str]) -> None:
    env, key = request_linked
    internal = internal_comment(env, ALICE_EMAIL, key, "Checking the VPN concentrator.")
    public = env.jira.as_user(ALICE_EMAIL).comment(key, "We are investigating.")
    env.jira.as_user(CUSTOMER_EMAIL).comment(key, "Still broken for me!")
    notes = [r["note"] for r in settle(env) if r["note"]]
    assert notes == [
        {"text": "Checking the VPN concentrator.", "jira_comment_id": internal["id"],
         "author_name": "Alice Oncall", "jira_visibility": "internal"},
        {"text": "We are investigating.", "jira_comment_id": public["id"],
         "author_name": "Alice Oncall", "jira_visibility": "public"},
    ]


def test_edited_comments_are_classified_like_new_ones(request_linked: tuple[LocalEnvironment, str]) -> None:
    """An edit of an internal note is mirrored, saying it is internal; a customer's edit is not."""
    env, key = request_linked
    internal = internal_comment(env, ALICE_EMAIL, key, "Concentrator rebooted.")
    customer = env.jira.as_user(CUSTOMER_EMAIL).comment(key, "Still broken for me!")
    assert [(r["note"]["text"], r["note"]["jira_visibility"]) for r in settle(env) if r["note"]] == [
        ("Concentrator rebooted.", "internal")]
    for email, comment, text in ((ALICE_EMAIL, internal, "Concentrator rebooted twice."),
                                 (CUSTOMER_EMAIL, customer, "Still broken, and I am angry!")):
        session = env.jira.as_user(email)
        session.call("PUT", f"/rest/api/3/issue/{key}/comment/{comment['id']}", json={"body": session._text(text)})
    notes = [(r["note"]["text"], r["note"].get("jira_visibility")) for r in settle(env) if r["note"]]
    assert notes == [("(edited) Concentrator rebooted twice.", "internal")]


def test_customer_replies_are_mirrored_when_the_runbooks_ask(env: LocalEnvironment) -> None:
    key = customer_request(env)
    runbooks = RUNBOOKS + "inbound: {jsm_comments: [customer]}\n"
    sync = make_sync(env, runbooks)
    sync.handle(event(1, jira_issue=key))
    published = RecordingPublisher()
    changes = JiraChangeSync(sync.runbooks, sync.links, sync.site_named, published)
    for author, text in ((CUSTOMER_EMAIL, "Still broken for me!"), (ALICE_EMAIL, "Looking.")):
        env.jira.as_user(author).comment(key, text)
    issue = env.jira.issue(key)
    for comment in comments_seen_by(env, ALICE_EMAIL, key):  # each as its comment_created webhook carries it
        changes.apply(JiraDelivery("default", JiraWebhookPayload.model_validate(
            {"webhookEvent": "comment_created", "issue": {"id": issue.id, "key": key}, "comment": comment})))
    assert [(u.note.text, u.note.jira_visibility) for u in published.updates if u.note] == [
        ("Still broken for me!", "customer")]


# ----- test-connection and lint ------------------------------------------------------------------------------


def test_connection_test_names_the_missing_agent_role(env: LocalEnvironment) -> None:
    agent = run_connection_test(jira_client_for(connector_as(env)), ["HELP", "OPS"])
    assert agent.check("service desk agent in HELP").ok
    assert [c.name for c in agent.checks if c.name.startswith("service desk")] == ["service desk agent in HELP"]

    carol = run_connection_test(jira_client_for(connector_as(env, CAROL_EMAIL)), ["HELP"])
    check = carol.check("service desk agent in HELP")
    who = CAROL_EMAIL if env.jira.flavour == "cloud" else site_user_id(env, CAROL_EMAIL)  # how each site logs in
    assert check.status == "fail"
    assert f"{who} is not one of its agents" in check.detail
    assert check.fix is not None
    assert f"Add {who} to the 'Service Desk Team' role of HELP" in check.fix
    if env.jira.flavour == "datacenter":  # the agent licence is a group on Data Center
        assert "the 'jira-servicedesk-users' group, which gives the Jira Service Management agent licence" in check.fix
    else:
        assert "Jira Service Management product access as an agent (admin.atlassian.com" in check.fix
        assert "jira-servicedesk-users" not in check.fix
    assert f"fix: Add {who} to the 'Service Desk Team' role" in carol.to_text()


def test_lint_checks_request_type_names_against_jira(env: LocalEnvironment, tmp_path: Path) -> None:
    client = jira_client_for(connector_as(env))
    good = tmp_path / "good.yaml"
    good.write_text(REQUEST_RUNBOOK)
    assert [str(p) for p in lint_file(good, client)] == []

    bad = tmp_path / "bad.yaml"
    bad.write_text(REQUEST_RUNBOOK.replace("Report a system problem", "Outage").replace(
        "- name: notes", "- name: ops\n    trigger: {type: created}\n    actions:\n"
        "      - create_issue: {project: OPS, issue_type: Task, summary: x, request_type: Get IT help}\n"
        "  - name: notes"))
    problems = [p.message for p in lint_file(bad, client)]
    assert problems == [
        "HELP has no request type 'Outage' (it has: Get IT help, Report a system problem)",
        "OPS is a software project: request_type only applies to Jira Service Management projects",
    ]


def test_lint_says_when_a_request_type_cannot_be_checked_against_jira(env: LocalEnvironment, tmp_path: Path) -> None:
    templated = tmp_path / "templated.yaml"
    templated.write_text(REQUEST_RUNBOOK.replace("project: HELP", 'project: "{{ incident.service }}"'))
    problems = lint_file(templated, jira_client_for(connector_as(env)))
    assert [(p.message, p.warning) for p in problems if "request_type" in p.message] == [
        ("request_type 'Report a system problem' was not checked: its project is a template, known only per "
         "incident; name the project to check it", True)]


def test_reconciliation_tells_internal_notes_from_customer_replies(env: LocalEnvironment) -> None:
    """A missed webhook is replayed from GET comments (jsdPublic or the comment's property, the author's
    account type): same kinds, same choice."""
    key = customer_request(env)
    sync = make_sync(env, RUNBOOKS)
    sync.handle(event(1, jira_issue=key))
    internal_comment(env, ALICE_EMAIL, key, "Concentrator rebooted.")
    env.jira.as_user(CUSTOMER_EMAIL).comment(key, "Works now, thanks")
    published = RecordingPublisher()
    changes = JiraChangeSync(sync.runbooks, sync.links, sync.site_named, published)
    checkpoints = MemoryCheckpoints()
    checkpoints.set("default", datetime.now(UTC) - timedelta(minutes=10))
    Reconciler(sync.links, sync.site_named, changes, checkpoints).run("default", ["HELP"])
    assert [(u.note.text, u.note.jira_visibility) for u in published.updates if u.note] == [
        ("Concentrator rebooted.", "internal")]


@pytest.mark.parametrize("failing", ["comment", "transitions"])
def test_a_transition_with_a_comment_that_failed_midway_is_done_once_on_the_redelivery(
        env: LocalEnvironment, failing: str) -> None:
    """The comment goes first and is recorded under the event: a failed comment leaves the issue unmoved
    (had the move gone first, the redelivery would find it moved and the comment would be lost), and a
    failed move after the comment does not write the comment twice."""
    key = customer_request(env)
    sync = make_sync(env, RUNBOOKS)
    sync.handle(event(1, jira_issue=key))
    env.jira.faults.server_error(503, count=None, method="POST", path=f"{api(env)}/issue/*/{failing}")
    with pytest.raises(JiraError):
        sync.handle(event(3, "field_changed", state="acknowledged"))
    env.jira.faults.clear()
    assert env.jira.issue(key).status_id != "3"
    sync.handle(event(3, "field_changed", state="acknowledged"))  # the redelivery
    assert env.jira.issue(key).status_id == "3"
    comments = comments_seen_by(env, ALICE_EMAIL, key)
    assert [to_plain_text(c["body"]) for c in comments] == ["Incident is now acknowledged"]
    assert not is_public(env, comments[0])
    assert env.jira.customer_emails() == []

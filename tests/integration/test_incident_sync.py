"""Incident -> Jira against the Jira simulator and DynamoDB (moto server) from template.yaml."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from jira_bridge.adapters import jira_client_for
from jira_bridge.connectors.model import Connector
from jira_bridge.incidents.errors import ClaimInProgress, SyncRefused
from jira_bridge.incidents.events import IncidentChanged
from jira_bridge.incidents.jira_metadata import JiraMetadata
from jira_bridge.incidents.runbooks import RunbookSet
from jira_bridge.incidents.sync import IncidentSync, JiraSite
from jira_bridge.links.model import IssueLink, LinkState, SyncStatus
from jira_bridge.links.store import DynamoLinkStore, LinkStore, StaleLink
from jira_sim.adf import to_plain_text
from jira_sim.seed import ALICE_EMAIL, BOB_EMAIL, CAROL_EMAIL
from local_runtime.environment import LocalEnvironment
from tests.integration.conftest import BOTH_SITES, api, connector_as, is_rich_text, site_user_id, user_of

pytestmark = [pytest.mark.integration, BOTH_SITES]  # every test runs against Cloud and Data Center

MAPPINGS = """
mappings:
  status: {triggered: To Do, acknowledged: In Progress, resolved: Done, mitigated: Blocked}
  severity: {SEV1: Highest, SEV2: High, SEV3: Medium}
workflows:
  OPS:
    initial: To Do
    statuses: {To Do: new, In Progress: indeterminate, In Review: indeterminate, Done: done, "Won't Do": done}
    transitions:
      - {id: "11", name: Start Progress, from: [To Do], to: In Progress}
      - {id: "21", name: Request Review, from: [In Progress], to: In Review}
      - {id: "31", name: Done, from: [In Review], to: Done, required: [resolution]}
      - {id: "41", name: Stop Progress, from: [In Progress], to: To Do}
      - {id: "51", name: Back to In Progress, from: [In Review], to: In Progress}
      - {id: "61", name: Reopen, from: [Done], to: To Do}
      - {id: "91", name: "Won't Do", to: "Won't Do", required: [resolution]}
"""
CREATE = MAPPINGS + """
runbooks:
  - name: open
    trigger: {type: created}
    actions:
      - create_issue:
          project: OPS
          issue_type: Incident
          summary: "[[incident.severity]] {{ incident.title }}"
          description: "{{ incident.description }}"
          priority: {map: severity, from: severity}
          assignee: {user: "{{ incident.owner.email }}"}
          labels: [incident, "svc-[incident.service]"]
          fields:
            customfield_10040: "[incident.id]"
            customfield_10041: "{{ incident.severity }}"
            customfield_10042: "api, web"
            customfield_10043: "{{ incident.custom_fields.customers }}"
            customfield_10044: "Impact: [incident.description]"
            customfield_10045: "[incident.url]"
            customfield_10046: {user: "[incident.owner.email]"}
"""
FOLLOW = CREATE + """
  - name: follow-state
    trigger: {type: field_changed, field: state}
    actions:
      - transition:
          to: {map: status, from: state}
          comment: "Now [incident.state] by {{ actor.name }}"
          fields: {resolution: {name: Done}}
  - name: follow-severity
    trigger: {type: field_changed, field: severity, to: [SEV1, SEV2, SEV3]}
    actions:
      - update_fields:
          fields:
            priority: {map: severity, from: severity}
            customfield_10041: "[incident.severity]"
  - name: notes
    trigger: {type: note_added}
    actions:
      - add_comment: {body: "{{ change.note.text }} ({{ change.note.author.name }})"}
"""


def event(sequence: int, kind: str = "created", *, state: str = "triggered", severity: str = "SEV2",
          field: str | None = None, old: Any = None, new: Any = None, note: dict[str, Any] | None = None,
          incident_id: str = "INC-1", owner: str = "ALICE@example.com") -> IncidentChanged:
    change: dict[str, Any] = {"kind": kind}
    if kind == "field_changed":
        change.update(field=field, old_value=old, new_value=new)
    if note is not None:
        change["note"] = note
    return IncidentChanged.model_validate({
        "event_id": f"e-{incident_id}-{sequence}-{kind}", "sequence": sequence,
        "occurred_at": datetime.now(UTC).isoformat(), "actor": {"name": "Dana"},
        "incident": {"id": incident_id, "title": "Checkout down", "description": "502s on checkout",
                     "state": state, "severity": severity, "service": "checkout",
                     "owner": {"name": "Alice", "email": owner}, "url": "https://inc.example.com/1",
                     "custom_fields": {"customers": "42"}},
        "change": change,
    })


def link_store(env: LocalEnvironment) -> DynamoLinkStore:
    return DynamoLinkStore(env.stack.physical_name("LinkTable"), lambda: env.aws.client("dynamodb"))


def make_sync(env: LocalEnvironment, runbooks: str, connector: Connector | None = None,
              links: LinkStore | None = None) -> IncidentSync:
    client = jira_client_for(connector or connector_as(env))
    site = JiraSite(connector="default", client=client, metadata=JiraMetadata(client))
    return IncidentSync(
        runbooks=RunbookSet.model_validate(yaml.safe_load(runbooks)),
        links=links or link_store(env),
        site_for_project=lambda _project: site,
        site_named=lambda _name: site,
    )


def view(env: LocalEnvironment, key: str) -> dict[str, Any]:
    issue: dict[str, Any] = env.jira.as_user(ALICE_EMAIL).call(
        "GET", f"/rest/api/3/issue/{key}", params={"properties": "jira-bridge"})
    return issue


def issue_count(env: LocalEnvironment) -> int:
    return len(env.jira.issues())


# ----- actions ---------------------------------------------------------------------------------------


def test_create_issue_fills_every_field_kind_in_one_request(env: LocalEnvironment) -> None:
    sync = make_sync(env, CREATE)
    sync.handle(event(1))  # warm the metadata cache (fields, users) so the second create is minimal
    env.jira.reset_log()
    result = sync.handle(event(1, incident_id="INC-2"))

    assert result.issue_key == "OPS-2"
    assert env.jira.count("POST", f"{api(env)}/issue") == 1
    assert env.jira.count() == 1, "with metadata cached, creating an issue is exactly one request"
    fields = view(env, "OPS-2")["fields"]
    alice = site_user_id(env, ALICE_EMAIL)
    assert fields["summary"] == "[SEV2] Checkout down"
    assert fields["priority"]["name"] == "High"
    assert user_of(fields["assignee"]) == alice  # matched case-insensitively by email
    assert set(fields["labels"]) == {"incident", "svc-checkout", "jira-bridge-INC-2"}
    assert fields["customfield_10040"] == "INC-2"
    assert fields["customfield_10041"]["value"] == "SEV2"
    assert [o["value"] for o in fields["customfield_10042"]] == ["api", "web"]
    assert fields["customfield_10043"] == 42
    assert is_rich_text(env, fields["customfield_10044"])
    assert fields["customfield_10045"] == "https://inc.example.com/1"
    assert user_of(fields["customfield_10046"]) == alice
    assert is_rich_text(env, fields["description"])


def test_link_keeps_the_numeric_id_and_marks_the_issue(env: LocalEnvironment) -> None:
    make_sync(env, CREATE).handle(event(1))
    link = link_store(env).get_by_incident("INC-1")
    assert link is not None
    assert link.state is LinkState.LINKED
    issue = view(env, "OPS-1")
    assert link.issue_id == issue["id"]
    assert issue["properties"]["jira-bridge"]["incidentId"] == "INC-1"
    by_issue = link_store(env).get_by_issue("default", issue["id"])
    assert by_issue is not None
    assert by_issue.incident_id == "INC-1"


def test_update_fields_on_severity_change(env: LocalEnvironment) -> None:
    sync = make_sync(env, FOLLOW)
    sync.handle(event(1))
    sync.handle(event(2, "field_changed", severity="SEV1", field="severity", old="SEV2", new="SEV1"))
    fields = view(env, "OPS-1")["fields"]
    assert fields["priority"]["name"] == "Highest"
    assert fields["customfield_10041"]["value"] == "SEV1"
    link = link_store(env).get_by_incident("INC-1")
    assert link is not None
    assert link.written.fields["priority"] == {"name": "Highest"}


def test_transition_walks_three_hops_and_comments_once(env: LocalEnvironment) -> None:
    sync = make_sync(env, FOLLOW)
    sync.handle(event(1))
    result = sync.handle(event(2, "field_changed", state="resolved", field="state", old="triggered", new="resolved"))

    issue = view(env, "OPS-1")
    assert issue["fields"]["status"]["name"] == "Done"
    assert issue["fields"]["resolution"]["name"] == "Done"
    assert [c.author for c in env.jira.issue("OPS-1").comments] == [env.jira.user("jira-bridge@example.com").account_id]
    assert "To Do -> In Progress -> In Review -> Done" in " ".join(result.actions)
    link = link_store(env).get_by_incident("INC-1")
    assert link is not None
    assert link.written.statuses[-3:] == ["In Progress", "In Review", "Done"]


def test_already_in_target_status_is_a_no_op(env: LocalEnvironment) -> None:
    sync = make_sync(env, FOLLOW)
    sync.handle(event(1))
    env.jira.reset_log()
    result = sync.handle(event(2, "field_changed", state="triggered", field="state", old="acknowledged",
                               new="triggered"))
    assert env.jira.count("POST") == 0
    assert any("already in To Do" in s for s in result.skipped)


def test_workflow_knowledge_is_cached_per_container(env: LocalEnvironment) -> None:
    sync = make_sync(env, FOLLOW)
    sync.handle(event(1))
    sync.handle(event(2, "field_changed", state="resolved", field="state", old="triggered", new="resolved"))
    sync.handle(event(1, incident_id="INC-2"))
    env.jira.reset_log()
    sync.handle(event(2, "field_changed", state="resolved", field="state", old="triggered", new="resolved",
                      incident_id="INC-2"))
    assert env.jira.count("GET", f"{api(env)}/issue/10001/transitions") == 0
    assert env.jira.count("POST", f"{api(env)}/issue/10001/transitions") == 3


def test_a_resolved_incident_gets_its_issue_in_the_done_status(env: LocalEnvironment) -> None:
    make_sync(env, FOLLOW).handle(event(1, state="resolved"))
    assert view(env, "OPS-1")["fields"]["status"]["name"] == "Done"


def test_notes_become_comments_once(env: LocalEnvironment) -> None:
    sync = make_sync(env, FOLLOW)
    sync.handle(event(1))
    note = {"id": "n-1", "text": "Rolled back", "author": {"name": "Alice"}}
    sync.handle(event(2, "note_added", note=note))
    sync.handle(event(2, "note_added", note=note))
    comments = env.jira.issue("OPS-1").comments
    assert len(comments) == 1
    link = link_store(env).get_by_incident("INC-1")
    assert link is not None
    assert link.written.comment_ids == [comments[0].id]
    assert link.written.mirrored_notes == ["n-1"]


def test_templates_after_the_create_name_the_issue_it_made(env: LocalEnvironment) -> None:
    # One event renders templates before its issue exists and after: the later ones see the new link.
    sync = make_sync(env, CREATE + '      - add_comment: {body: "Tracked as [jira.key] for [incident.id]"}\n')
    sync.handle(event(1, incident_id="INC-1"))
    sync.handle(event(1, incident_id="INC-2"))
    assert comment_texts(env, "OPS-1") == ["Tracked as OPS-1 for INC-1"]
    assert comment_texts(env, "OPS-2") == ["Tracked as OPS-2 for INC-2"]


def test_field_change_trigger_needs_a_real_change(env: LocalEnvironment) -> None:
    sync = make_sync(env, FOLLOW)
    sync.handle(event(1))
    result = sync.handle(event(2, "field_changed", severity="SEV2", field="severity", old="SEV2", new="sev2"))
    assert result.runbooks == []


def test_unknown_owner_uses_the_mapping_table_then_leaves_unassigned(env: LocalEnvironment) -> None:
    bob = site_user_id(env, BOB_EMAIL)  # hidden email on Cloud: Jira's user search cannot find him
    mapped = CREATE.replace("mappings:", f"mappings:\n  users: {{accounts: {{'{BOB_EMAIL}': {bob}}}}}")
    make_sync(env, mapped).handle(event(1, owner=BOB_EMAIL.upper()))
    assert user_of(view(env, "OPS-1")["fields"]["assignee"]) == bob
    make_sync(env, CREATE).handle(event(1, owner="nobody@example.com", incident_id="INC-2"))
    assert view(env, "OPS-2")["fields"]["assignee"] is None


# ----- exactly one issue per incident ---------------------------------------------------------------


def test_duplicate_delivery_creates_one_issue(env: LocalEnvironment) -> None:
    sync = make_sync(env, CREATE)
    sync.handle(event(1))
    env.jira.reset_log()
    sync.handle(event(1))
    assert issue_count(env) == 1
    assert env.jira.count("POST") == 0


def test_racing_invocations_create_one_issue(env: LocalEnvironment) -> None:
    syncs = [make_sync(env, CREATE) for _ in range(4)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(syncs))

    def run(sync: IncidentSync) -> None:
        barrier.wait()
        try:
            sync.handle(event(1))
            outcomes.append("handled")
        except (ClaimInProgress, StaleLink):  # both fail the record: SQS redelivers it
            outcomes.append("retry later")

    threads = [threading.Thread(target=run, args=(s,)) for s in syncs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert issue_count(env) == 1
    assert outcomes.count("handled") >= 1
    for sync in syncs:  # the redelivered losers find the link
        sync.handle(event(1))
    assert issue_count(env) == 1


class CrashAfterCreate:
    """A link store whose first write of an issue id fails: the process died after Jira's create."""

    def __init__(self, inner: LinkStore) -> None:
        self.inner = inner
        self.crashed = False

    def claim(self, link: IssueLink) -> Any:
        return self.inner.claim(link)

    def save(self, link: IssueLink) -> IssueLink:
        if link.issue_id and not self.crashed:
            self.crashed = True
            raise RuntimeError("Lambda timed out")
        return self.inner.save(link)

    def get_by_incident(self, incident_id: str) -> IssueLink | None:
        return self.inner.get_by_incident(incident_id)

    def get_by_issue(self, connector: str, issue_id: str) -> IssueLink | None:
        return self.inner.get_by_issue(connector, issue_id)


def test_crash_between_create_and_link_finds_the_issue_again(env: LocalEnvironment) -> None:
    crashing = CrashAfterCreate(link_store(env))
    with pytest.raises(RuntimeError):
        make_sync(env, CREATE, links=crashing).handle(event(1))
    assert issue_count(env) == 1

    result = make_sync(env, CREATE, links=crashing).handle(event(1))  # the SQS redelivery
    assert issue_count(env) == 1
    assert result.issue_key == "OPS-1"
    assert "found existing OPS-1" in result.actions


class CrashBeforeRemembering(CrashAfterCreate):
    """A link store whose first write of an event's sequence fails: the process died after the create was linked
    and settled, before the event's incident values were recorded."""

    def save(self, link: IssueLink) -> IssueLink:
        if link.last_sequence is not None and not self.crashed:
            self.crashed = True
            raise RuntimeError("Lambda timed out")
        return self.inner.save(link)


def test_a_create_applied_but_not_remembered_is_remembered_on_redelivery(env: LocalEnvironment) -> None:
    crashing = CrashBeforeRemembering(link_store(env))
    with pytest.raises(RuntimeError):
        make_sync(env, CREATE, links=crashing).handle(event(1, state="acknowledged"))

    result = make_sync(env, CREATE, links=crashing).handle(event(1, state="acknowledged"))  # the SQS redelivery

    assert issue_count(env) == 1
    assert result.skipped  # not applied twice
    link = link_store(env).get_by_incident("INC-1")
    assert link is not None
    assert link.last_sequence == 1
    assert link.incident_values.get("state") == "acknowledged"  # what Jira's webhooks are compared with


@pytest.mark.parametrize(("status", "searched"), [(503, False), (429, False), (502, True)])
def test_a_create_that_failed_is_retried_with_a_marker_search_only_if_it_may_have_landed(
        env: LocalEnvironment, status: int, searched: bool) -> None:
    """503 and 429 are "not processed": the retry creates at once. A 502 on a POST may have been
    applied: the retry first looks for the issue by its marker, so it never creates a second one."""
    path = f"{api(env)}/issue"
    if status == 429:
        env.jira.faults.rate_limit_fraction(1.0, retry_after=60, method="POST", path=path)
    else:
        env.jira.faults.server_error(status, count=None, method="POST", path=path)
    sync = make_sync(env, CREATE)
    with pytest.raises(Exception) as failed:  # noqa: PT011 - the transient kinds differ; all are retryable
        sync.handle(event(1))
    assert getattr(failed.value, "retryable", False)
    env.jira.faults.clear()
    env.jira.reset_log()
    result = make_sync(env, CREATE).handle(event(1))  # the SQS redelivery
    assert result.issue_key == "OPS-1"
    assert issue_count(env) == 1
    searches = [r for r in env.jira.requests if r.path.removeprefix(api(env)) in ("/search", "/search/jql")]
    assert bool(searches) is searched, [(r.method, r.path) for r in env.jira.requests]


# ----- ordering ----------------------------------------------------------------------------------------


def test_out_of_order_events_never_roll_back(env: LocalEnvironment) -> None:
    sync = make_sync(env, FOLLOW)
    sync.handle(event(1))
    sync.handle(event(3, "field_changed", state="resolved", field="state", old="acknowledged", new="resolved"))
    env.jira.reset_log()
    result = sync.handle(event(2, "field_changed", state="acknowledged", field="state", old="triggered",
                               new="acknowledged"))
    assert view(env, "OPS-1")["fields"]["status"]["name"] == "Done"
    assert env.jira.count("POST") == 0
    assert result.skipped


# ----- refusals --------------------------------------------------------------------------------------


def refused(env: LocalEnvironment, runbooks: str, *events: IncidentChanged,
            connector: Connector | None = None) -> tuple[str, IssueLink]:
    sync = make_sync(env, runbooks, connector=connector)
    *setup, last = events
    for e in setup:
        sync.handle(e)
    with pytest.raises(SyncRefused) as caught:
        sync.handle(last)
    link = link_store(env).get_by_incident(last.incident.id)
    assert link is not None
    assert link.sync_status is SyncStatus.FAILED
    assert link.last_error
    return str(caught.value), link


def test_missing_required_field_is_recorded_with_jiras_message(env: LocalEnvironment) -> None:
    runbooks = CREATE.replace('customfield_10041: "{{ incident.severity }}"', "")
    message, link = refused(env, runbooks, event(1))
    assert "customfield_10041" in message
    assert "customfield_10041" in (link.last_error or "")
    assert issue_count(env) == 0


def test_field_not_on_the_create_screen_is_refused(env: LocalEnvironment) -> None:
    runbooks = CREATE.replace("customfield_10040:", "customfield_10047: root cause\n            customfield_10040:")
    message, _ = refused(env, runbooks, event(1))
    assert "customfield_10047" in message


def test_missing_transition_permission_is_refused(env: LocalEnvironment) -> None:
    carol = connector_as(env, CAROL_EMAIL)
    message, link = refused(env, FOLLOW, event(1), event(2, "field_changed", state="acknowledged", field="state",
                                                         old="triggered", new="acknowledged"), connector=carol)
    assert link.issue_key == "OPS-1"
    assert "transition" in message.lower()


def test_unreachable_status_names_what_is_reachable(env: LocalEnvironment) -> None:
    message, _ = refused(env, FOLLOW, event(1), event(2, "field_changed", state="mitigated", field="state",
                                                      old="triggered", new="mitigated"))
    assert "'Blocked'" in message
    assert "In Progress" in message
    assert "In Review" in message


def test_transition_needing_a_field_the_runbook_lacks_says_which(env: LocalEnvironment) -> None:
    runbooks = FOLLOW.replace("fields: {resolution: {name: Done}}", "fields: {}")
    message, _ = refused(env, runbooks, event(1), event(2, "field_changed", state="resolved", field="state",
                                                         old="triggered", new="resolved"))
    assert "requires resolution" in message


def test_a_refused_incident_does_not_block_the_next(env: LocalEnvironment) -> None:
    runbooks = CREATE.replace('customfield_10041: "{{ incident.severity }}"',
                              'customfield_10041: "{{ incident.severity }}"\n'
                              '            customfield_10043: "{{ incident.custom_fields.customers }}"')
    sync = make_sync(env, runbooks)
    bad = event(1, incident_id="INC-BAD").model_copy(deep=True)
    bad.incident.custom_fields["customers"] = "many"
    with pytest.raises(SyncRefused, match="number"):
        sync.handle(bad)
    sync.handle(event(1, incident_id="INC-GOOD"))
    assert [i.key for i in env.jira.issues()] == ["OPS-1"]


def test_replaying_a_half_done_create_finishes_it(env: LocalEnvironment) -> None:
    resolved = event(1, state="resolved")
    with pytest.raises(SyncRefused, match="requires resolution"):
        make_sync(env, CREATE).handle(resolved)  # created, but its runbooks cannot fill the Done screen
    assert view(env, "OPS-1")["fields"]["status"]["name"] != "Done"

    make_sync(env, FOLLOW).handle(resolved)  # replayed from the DLQ once the runbook is fixed
    assert issue_count(env) == 1
    assert view(env, "OPS-1")["fields"]["status"]["name"] == "Done"
    link = link_store(env).get_by_incident("INC-1")
    assert link is not None
    assert link.settled
    assert link.sync_status is SyncStatus.OK


def test_a_change_that_overtakes_its_created_event_is_not_lost(env: LocalEnvironment) -> None:
    sync = make_sync(env, FOLLOW)
    sync.handle(event(2, "field_changed", state="acknowledged", field="state", old="triggered",
                      new="acknowledged"))  # published concurrently, delivered first
    assert issue_count(env) == 0
    sync.handle(event(1))  # the "created" event, with its older snapshot
    assert issue_count(env) == 1
    assert view(env, "OPS-1")["fields"]["status"]["name"] == "In Progress"


def note(n: int) -> dict[str, Any]:
    return {"id": f"n-{n}", "text": f"note {n}", "author": {"name": "Alice"}}


def comment_texts(env: LocalEnvironment, key: str) -> list[str]:
    return [to_plain_text(c.body) for c in env.jira.issue(key).comments]


def test_notes_behind_a_parked_created_event_wait_for_the_issue_in_order(env: LocalEnvironment) -> None:
    """The 40-minute-outage replay: 'created' parked, its notes applied first; nothing lost or reordered."""
    broken = CREATE.replace('customfield_10041: "{{ incident.severity }}"', "") + FOLLOW[len(CREATE):]
    with pytest.raises(SyncRefused):
        make_sync(env, broken).handle(event(1))  # parked: the runbook misses a required field
    sync = make_sync(env, FOLLOW)
    for n in (3, 2, 4):  # arrive while "created" is parked, and not in order
        result = sync.handle(event(n, "note_added", note=note(n)))
        assert any("kept until the incident's issue exists" in s for s in result.skipped)
    assert issue_count(env) == 0

    result = sync.handle(event(1))  # replayed after the runbook was fixed
    assert result.issue_key == "OPS-1"
    assert [t.split(" (")[0] for t in comment_texts(env, "OPS-1")] == ["note 2", "note 3", "note 4"]
    link = link_store(env).get_by_incident("INC-1")
    assert link is not None
    assert link.deferred_events == []

    for n in (1, 2, 3, 4):  # replaying everything again changes nothing
        sync.handle(event(n, "note_added", note=note(n)) if n > 1 else event(1))
    assert len(comment_texts(env, "OPS-1")) == 3


def test_a_kept_event_refused_once_the_issue_exists_is_handed_back_for_parking(env: LocalEnvironment) -> None:
    runbooks = FOLLOW.replace("fields: {resolution: {name: Done}}", "fields: {}")
    sync = make_sync(env, runbooks)
    resolved = event(2, "field_changed", state="resolved", field="state", old="triggered", new="resolved")
    sync.handle(resolved)  # overtakes "created"; kept
    sync.handle(event(3, "note_added", note=note(3)))
    result = sync.handle(event(1))
    assert [(kept.event_id, "requires resolution" in reason) for kept, reason in result.refused_deferred] == [
        (resolved.event_id, True)]
    assert [t.split(" (")[0] for t in comment_texts(env, "OPS-1")] == ["note 3"]  # the next one still went on

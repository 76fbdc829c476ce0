"""Sync semantics through the whole local stack, both directions (issue 10).

The incident side is played by the test: it receives what the bridge publishes ("Incident Update
Requested", captured by `env.incident_requests()`), applies it, and reports the result as an ordinary
"Incident Changed" on the bus, as a real incident tool does. Jira is the simulator with the OPS
workflow (no direct move to Done, a required Resolution on the last hop); the config is
`config/runbooks.yaml`, as shipped.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jira_bridge.links.model import IssueLink
from jira_bridge.links.store import DynamoLinkStore
from jira_bridge_cli.status_command import render_status
from jira_sim.adf import to_plain_text
from jira_sim.seed import ALICE_EMAIL
from local_runtime.environment import LocalEnvironment

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION_USER = {"name": "Jira Bridge", "email": "jira-bridge@example.com"}  # config/runbooks.yaml


class IncidentTool:
    """The incident side: publishes Incident Changed for INC-1042, keeping its snapshot current."""

    def __init__(self, env: LocalEnvironment) -> None:
        self.env = env
        sample = json.loads((ROOT / "events" / "incident-created.eventbridge.json").read_text())
        self.source, self.detail_type = sample["source"], sample["detail-type"]
        self.incident: dict[str, Any] = sample["detail"]["incident"]
        self.sequence = 0

    def publish(self, change: dict[str, Any], *, actor: dict[str, Any] | None = None,
                correlation_id: str | None = None, **snapshot: Any) -> None:
        self.sequence += 1
        self.incident.update(snapshot)
        detail = {"event_id": f"evt-{self.sequence}", "sequence": self.sequence,
                  "occurred_at": "2026-12-04T10:00:00Z", "source": "custom",
                  "actor": actor or {"name": "Dana Responder", "email": "dana@example.com"},
                  "incident": self.incident, "change": change}
        if correlation_id is not None:
            detail["correlation_id"] = correlation_id
        self.env.put_events([{"Source": self.source, "DetailType": self.detail_type, "Detail": detail,
                              "EventBusName": str(self.env.stack.resolve({"Ref": "IncidentBus"}))}])

    def add_note(self, note_id: str, text: str, **kwargs: Any) -> None:
        author = kwargs.get("actor") or {"name": "Dana Responder", "email": "dana@example.com"}
        self.publish({"kind": "note_added", "note": {"id": note_id, "text": text, "author": author}}, **kwargs)

    def set_field(self, name: str, value: Any, **kwargs: Any) -> None:
        old = self.incident.get(name)
        self.publish({"kind": "field_changed", "field": name, "old_value": old, "new_value": value},
                     **{name: value}, **kwargs)


def settle(env: LocalEnvironment) -> list[dict[str, Any]]:
    """Let Jira deliver its webhooks, run every queue, and return what the incident tool received."""
    for _ in range(3):
        env.jira.webhooks.wait_idle(timeout=5)
        env.drain()
    return [r["detail"] for r in env.incident_requests()]


def link(env: LocalEnvironment, incident_id: str = "INC-1042") -> IssueLink:
    store = DynamoLinkStore(env.stack.physical_name("LinkTable"), lambda: env.aws.client("dynamodb"))
    found = store.get_by_incident(incident_id)
    assert found is not None
    return found


def comments(env: LocalEnvironment, key: str) -> list[str]:
    answer = env.jira.as_user(ALICE_EMAIL).call("GET", f"/rest/api/3/issue/{key}/comment")
    return [to_plain_text(c["body"]) for c in answer["comments"]]


def jira_writes(env: LocalEnvironment) -> list[str]:
    return [f"{r.method} {r.path}" for r in env.jira.requests if r.method in {"POST", "PUT", "DELETE"}]


def parked(env: LocalEnvironment) -> int:
    attributes = env.sqs.get_queue_attributes(QueueUrl=env.stack.queue_urls["IncidentEventsDLQ"],
                                              AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@pytest.fixture
def tool(env: LocalEnvironment) -> IncidentTool:
    """INC-1042 is open and acknowledged, and OPS-1 follows it (all made by the bridge)."""
    tool = IncidentTool(env)
    tool.publish({"kind": "created"}, state="triggered")
    tool.set_field("state", "acknowledged")
    settle(env)
    assert link(env).issue_key == "OPS-1"
    return tool


# ----- 1. echo through the incident side ---------------------------------------------------------------


def test_a_jira_comment_made_a_note_is_not_posted_back_when_the_tool_echoes_the_request_id(
    env: LocalEnvironment, tool: IncidentTool
) -> None:
    env.jira.as_user(ALICE_EMAIL).comment("OPS-1", "Customer confirms recovery.")
    [request] = settle(env)
    assert request["note"]["text"] == "Customer confirms recovery."
    before = comments(env, "OPS-1")
    env.jira.reset_log()
    # The tool adds the note and reports it, authored by someone the bridge was not told about, but
    # with the request's id echoed: recognised by id.
    tool.add_note("tool-note-1", "Customer confirms recovery. (Alice Oncall in OPS-1)",
                  actor={"name": "Some Bot", "email": "bot@tool.example"}, correlation_id=request["request_id"])
    assert settle(env) == []
    assert comments(env, "OPS-1") == before  # one comment in Jira, not two
    assert jira_writes(env) == []
    shown = render_status(link(env))
    assert "echo" in shown
    assert request["request_id"] in shown


def test_a_state_change_the_bridge_requested_is_not_written_back(env: LocalEnvironment, tool: IncidentTool) -> None:
    alice = env.jira.as_user(ALICE_EMAIL)
    alice.move_to("OPS-1", "Done")
    alice.edit("OPS-1", {"priority": {"name": "Low"}})
    requested = settle(env)
    assert sorted((r["state"] or "-", r["priority"] or "-") for r in requested) == [("-", "P4"), ("resolved", "-")]
    alice.move_to("OPS-1", "To Do")  # Alice reopens it before the incident tool catches up
    settle(env)
    env.jira.reset_log()
    for request in requested:  # the tool applies both requests and reports them, echoing their ids
        for name in ("state", "priority"):
            if request[name]:
                tool.set_field(name, request[name], correlation_id=request["request_id"],
                               actor={"name": "Some Bot", "email": "bot@tool.example"})
    assert settle(env) == []
    assert jira_writes(env) == []  # no move back to Done, no edit, no "Incident is now ..." comment
    issue = alice.call("GET", "/rest/api/3/issue/OPS-1")
    assert issue["fields"]["status"]["name"] == "To Do"
    assert issue["fields"]["priority"]["name"] == "Low"
    assert "state=resolved: correlation id" in render_status(link(env))


def test_without_a_correlation_id_the_integration_user_is_recognised(env: LocalEnvironment, tool: IncidentTool) -> None:
    env.jira.as_user(ALICE_EMAIL).comment("OPS-1", "Rolled back.")
    settle(env)
    before = comments(env, "OPS-1")
    tool.add_note("tool-note-2", "Rolled back. (Alice Oncall in OPS-1)", actor=INTEGRATION_USER)
    assert settle(env) == []
    assert comments(env, "OPS-1") == before
    assert "integration user" in render_status(link(env))


def test_the_same_text_from_a_person_is_posted_echoes_are_never_judged_by_text(
    env: LocalEnvironment, tool: IncidentTool
) -> None:
    env.jira.as_user(ALICE_EMAIL).comment("OPS-1", "Rolled back.")
    settle(env)
    tool.add_note("tool-note-3", "Rolled back.")  # Dana typed the same words: a new note
    settle(env)
    assert comments(env, "OPS-1")[-1].startswith("Rolled back.")
    assert len([c for c in comments(env, "OPS-1") if c.startswith("Rolled back.")]) == 2


def test_an_unknown_correlation_id_from_a_person_still_applies(env: LocalEnvironment, tool: IncidentTool) -> None:
    env.jira.reset_log()
    tool.set_field("state", "resolved", correlation_id="not-one-of-ours")
    settle(env)
    issue = env.jira.as_user(ALICE_EMAIL).call("GET", "/rest/api/3/issue/OPS-1")
    assert issue["fields"]["status"]["name"] == "Done"


# ----- 2. workflow knowledge before moving --------------------------------------------------------------


@pytest.fixture
def config(env: LocalEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        Callable[[Callable[[str], str]], None]]:
    """Run the stack on an edited copy of the shipped config (what a team changes in its own repo)."""
    from jira_bridge import adapters
    from jira_bridge.settings import load_settings

    def use(edit: Callable[[str], str]) -> None:
        for source in (ROOT / "config").iterdir():
            shutil.copy(source, tmp_path / source.name)
        shipped = (ROOT / "config" / "runbooks.yaml").read_text()
        edited = edit(shipped)
        assert edited != shipped, "the edit changed nothing"
        (tmp_path / "runbooks.yaml").write_text(edited)
        parameters = {**env.runner.env_overrides.get("Parameters", {}), "CONFIG_DIR": str(tmp_path)}
        monkeypatch.setitem(env.runner.env_overrides, "Parameters", parameters)
        load_settings.cache_clear()  # a new container: settings and adapters read again
        adapters.reset()

    yield use
    monkeypatch.undo()
    load_settings.cache_clear()
    adapters.reset()


def without_workflows(text: str) -> str:
    return text[:text.index("workflows:")] + text[text.index("runbooks:"):]


def bridge_transitions(env: LocalEnvironment) -> list[str]:
    return [str((r.body or {}).get("transition", {}).get("id")) for r in env.jira.requests
            if r.method == "POST" and r.path.endswith("/transitions")]


def test_resolving_walks_the_planned_path_filling_the_resolution(env: LocalEnvironment, tool: IncidentTool) -> None:
    env.jira.reset_log()
    tool.set_field("state", "resolved")
    settle(env)
    assert bridge_transitions(env) == ["21", "31"]  # Request Review, Done; never the global Won't Do
    issue = env.jira.as_user(ALICE_EMAIL).call("GET", "/rest/api/3/issue/OPS-1")
    assert issue["fields"]["status"]["name"] == "Done"
    assert issue["fields"]["resolution"]["name"] == "Done"
    assert sum("is now resolved" in c for c in comments(env, "OPS-1")) == 1
    assert "In Progress -> In Review -> Done" in render_status(link(env))


def test_an_unknown_workflow_is_never_explored_by_moving_the_issue(
    env: LocalEnvironment, config: Callable[[Callable[[str], str]], None]
) -> None:
    config(without_workflows)
    tool = IncidentTool(env)
    tool.publish({"kind": "created"}, state="triggered")
    tool.set_field("state", "acknowledged")  # To Do -> In Progress: offered from To Do, so known
    settle(env)
    env.jira.reset_log()
    tool.set_field("state", "resolved")  # In Progress -> ? -> Done: In Review's transitions are unknown
    settle(env)
    assert bridge_transitions(env) == []
    issue = env.jira.as_user(ALICE_EMAIL).call("GET", "/rest/api/3/issue/OPS-1")
    assert issue["fields"]["status"]["name"] == "In Progress"
    shown = render_status(link(env))
    assert "The transitions leaving In Review are not known" in shown
    assert "the issue was not moved" in shown


def test_no_path_out_of_a_terminal_status_changes_nothing_and_says_so(
    env: LocalEnvironment, tool: IncidentTool
) -> None:
    env.jira.as_user(ALICE_EMAIL).move_to("OPS-1", "Won't Do")
    settle(env)
    env.jira.reset_log()
    tool.set_field("state", "resolved")  # Done is not reachable from Won't Do
    settle(env)
    assert bridge_transitions(env) == []
    issue = env.jira.as_user(ALICE_EMAIL).call("GET", "/rest/api/3/issue/OPS-1")
    assert issue["fields"]["status"]["name"] == "Won't Do"
    shown = render_status(link(env))
    assert "no workflow path from \"Won't Do\" to 'Done'" in shown
    assert "the issue was not moved" in shown


# ----- 4. moved and deleted issues ----------------------------------------------------------------------


def test_a_moved_issue_keeps_its_link_under_the_new_key(env: LocalEnvironment, tool: IncidentTool) -> None:
    new_key = env.jira.move_issue("OPS-1", "PAY", by=ALICE_EMAIL)
    assert new_key == "PAY-1"
    settle(env)
    assert link(env).issue_key == "PAY-1"
    assert "OPS-1 -> PAY-1" in render_status(link(env))
    tool.add_note("n-after-move", "Mitigation deployed.")
    settle(env)
    assert comments(env, "PAY-1")[-1].startswith("Mitigation deployed.")
    env.jira.as_user(ALICE_EMAIL).comment("PAY-1", "Confirmed on PAY.")
    [request] = settle(env)
    assert request["origin"]["issue_key"] == "PAY-1"


def test_a_deleted_issue_ends_the_link_as_history_and_the_next_create_makes_a_new_one(
    env: LocalEnvironment, tool: IncidentTool
) -> None:
    env.jira.as_user(ALICE_EMAIL).call("DELETE", "/rest/api/3/issue/OPS-1")
    [request] = settle(env)
    assert request["note"]["text"] == "Jira issue OPS-1 was deleted."
    ended = link(env)
    assert (ended.state.value, ended.issue_key) == ("ended", None)
    assert "earlier    OPS-1" in render_status(ended)
    tool.add_note("n-after-delete", "Still investigating.")  # nothing to write to: said, not parked
    settle(env)
    assert parked(env) == 0
    assert link(env).state.value == "ended"
    tool.publish({"kind": "created"})  # the incident tool opens it again (or a reopen asks for a new issue)
    settle(env)
    current = link(env)
    assert current.issue_key == "OPS-2"
    assert [p.issue_key for p in current.history] == ["OPS-1"]
    assert "OPS-2" in render_status(current)


def test_a_404_on_update_ends_the_link_instead_of_parking_every_later_event(
    env: LocalEnvironment, tool: IncidentTool
) -> None:
    for webhook in list(env.jira.webhooks.registrations()):  # the deletion is never announced
        env.jira.webhooks.unregister(webhook.id)
    env.jira.as_user(ALICE_EMAIL).call("DELETE", "/rest/api/3/issue/OPS-1")
    tool.set_field("state", "resolved")
    tool.add_note("n-1", "Resolved by rollback.")
    settle(env)
    assert parked(env) == 0
    ended = link(env)
    assert ended.state.value == "ended"
    assert "Jira answered 404 for OPS-1" in render_status(ended)
    tool.publish({"kind": "created"})
    settle(env)
    assert link(env).issue_key == "OPS-2"


# ----- 3. reopen as configuration --------------------------------------------------------------------------


def with_reopen(setting: str) -> Callable[[str], str]:
    return lambda text: text.replace("\nrunbooks:\n", f"\nreopen: {setting}\n\nrunbooks:\n", 1)


def resolved_then_retriggered(env: LocalEnvironment) -> IncidentTool:
    tool = IncidentTool(env)
    tool.publish({"kind": "created"}, state="triggered")
    tool.set_field("state", "resolved")
    settle(env)
    assert env.jira.as_user(ALICE_EMAIL).call("GET", "/rest/api/3/issue/OPS-1")["fields"]["status"]["name"] == "Done"
    tool.set_field("state", "triggered")  # it fires again
    settle(env)
    return tool


def test_reopen_by_transition_moves_the_closed_issue_to_the_configured_status(
    env: LocalEnvironment, config: Callable[[Callable[[str], str]], None]
) -> None:
    config(with_reopen('{mode: transition, status: "In Progress"}'))
    resolved_then_retriggered(env)
    issue = env.jira.as_user(ALICE_EMAIL).call("GET", "/rest/api/3/issue/OPS-1")
    assert issue["fields"]["status"]["name"] == "In Progress"
    assert len(env.jira.issues()) == 1
    shown = render_status(link(env))
    assert "reopen.mode transition, moving it to In Progress" in shown
    assert "Done -> To Do -> In Progress" in shown


def test_reopen_as_new_issue_keeps_the_closed_one_as_history(
    env: LocalEnvironment, config: Callable[[Callable[[str], str]], None]
) -> None:
    config(with_reopen("{mode: new_issue}"))
    tool = resolved_then_retriggered(env)
    alice = env.jira.as_user(ALICE_EMAIL)
    assert alice.call("GET", "/rest/api/3/issue/OPS-1")["fields"]["status"]["name"] == "Done"
    assert alice.call("GET", "/rest/api/3/issue/OPS-2")["fields"]["status"]["name"] == "To Do"
    current = link(env)
    assert current.issue_key == "OPS-2"
    assert [p.issue_key for p in current.history] == ["OPS-1"]
    assert "reopen.mode new_issue, OPS-2 opened, OPS-1 kept as history" in render_status(current)
    # the old issue no longer speaks for the incident; the new one does
    alice.comment("OPS-1", "Post-mortem notes.")
    assert settle(env) == []
    tool.add_note("n-new", "Paging database team.")
    settle(env)
    assert comments(env, "OPS-2")[-1].startswith("Paging database team.")


# ----- 5. templates ------------------------------------------------------------------------------------------


def adf_types(node: Any) -> list[str]:
    found = [node.get("type")] if isinstance(node, dict) else []
    for child in (node.get("content") or []) if isinstance(node, dict) else []:
        found.extend(adf_types(child))
    return [str(t) for t in found]


def test_templates_render_unknown_names_empty_one_line_summaries_and_markdown_as_adf(
    env: LocalEnvironment, config: Callable[[Callable[[str], str]], None], tmp_path: Path
) -> None:
    from jira_bridge.incidents.lint import lint_file

    config(lambda text: text.replace('summary: "[[incident.severity]] {{ incident.title }}"',
                                     'summary: "[[incident.severity]] {{ incident.title }}{{ incident.regoin }}"'))
    problems = lint_file(tmp_path / "runbooks.yaml")
    assert [(p.warning, "regoin" in p.message, "runbooks.yaml:" in p.where) for p in problems] == [(True, True, True)]
    tool = IncidentTool(env)
    tool.publish({"kind": "created"}, state="triggered",
                 title="Checkout down\non eu-west-1 {{ 7*7 }} " + "x" * 300,
                 description="Impact:\n- checkout\n- payments\n\n1. roll back\n2. page DBA\n\n```\nHTTP 502\n```\n"
                             "See [runbook](https://wiki.example.com/rb) and `kubectl get pods`.")
    tool.add_note("n-md", "Steps taken:\n- restarted **api**\n- drained node-3")
    settle(env)
    issue = env.jira.as_user(ALICE_EMAIL).call("GET", "/rest/api/3/issue/OPS-1")
    summary = issue["fields"]["summary"]
    assert summary.startswith("[SEV1] Checkout down on eu-west-1 {{ 7*7 }} xxx")  # data is never a template
    assert "\n" not in summary
    assert len(summary) == 255
    description = issue["fields"]["description"]
    assert {"bulletList", "orderedList", "codeBlock"} <= set(adf_types(description))
    marks = [m["type"] for n in _texts(description) for m in n.get("marks", [])]
    assert {"link", "code"} <= set(marks)
    note = env.jira.as_user(ALICE_EMAIL).call("GET", "/rest/api/3/issue/OPS-1/comment")["comments"][-1]["body"]
    assert "bulletList" in adf_types(note)


def _texts(node: Any) -> list[dict[str, Any]]:
    if not isinstance(node, dict):
        return []
    found = [node] if node.get("type") == "text" else []
    for child in node.get("content") or []:
        found.extend(_texts(child))
    return found


# ----- 6. newest snapshot wins on create ---------------------------------------------------------------------


def test_a_change_that_overtakes_created_shapes_the_new_issue(env: LocalEnvironment) -> None:
    tool = IncidentTool(env)
    created = {**tool.incident, "severity": "SEV2", "title": "Checkout slow"}
    newer = {**created, "severity": "SEV1", "title": "Checkout down"}
    entries = []
    bus = str(env.stack.resolve({"Ref": "IncidentBus"}))
    for sequence, snapshot, change in (
        (2, newer, {"kind": "field_changed", "field": "severity", "old_value": "SEV2", "new_value": "SEV1"}),
        (1, created, {"kind": "created"}),  # published concurrently: the change is delivered first
    ):
        entries.append({"Source": tool.source, "DetailType": tool.detail_type, "EventBusName": bus,
                        "Detail": {"event_id": f"evt-{sequence}", "sequence": sequence, "source": "custom",
                                   "occurred_at": "2026-12-04T10:00:00Z", "incident": snapshot, "change": change}})
    env.put_events(entries[:1])
    env.put_events(entries[1:])
    settle(env)
    issue = env.jira.as_user(ALICE_EMAIL).call("GET", "/rest/api/3/issue/OPS-1")
    assert issue["fields"]["summary"] == "[SEV1] Checkout down"
    assert issue["fields"]["priority"]["name"] == "Highest"
    assert issue["fields"]["customfield_10041"]["value"] == "SEV1"
    assert len(env.jira.issues()) == 1
    assert link(env).deferred_events == []


# ----- 7. timeline feedback ------------------------------------------------------------------------------------


def timeline(env: LocalEnvironment) -> list[str]:
    return [n["detail"]["text"] for n in env.incident_notes() if n["detail-type"] == "Incident Note Requested"]


def test_a_refusal_reaches_the_incident_timeline_once_and_status_shows_it(
    env: LocalEnvironment, tool: IncidentTool
) -> None:
    env.incident_notes()
    env.jira.as_user(ALICE_EMAIL).move_to("OPS-1", "Won't Do")
    settle(env)
    assert timeline(env) == [
        "From Jira: Jira status \"Won't Do\" has no mapping back to the incident (mappings.status)."]
    tool.set_field("state", "resolved")  # no path from Won't Do: refused, parked
    settle(env)
    [note] = timeline(env)
    assert "no workflow path from \"Won't Do\" to 'Done'" in note
    assert "the issue was not moved" in note
    assert "timeline" in render_status(link(env))
    tool.set_field("state", "resolved")  # the same cause again (a replay, a duplicate): not told twice
    settle(env)
    assert timeline(env) == []


def test_jira_changes_that_cannot_reach_the_incident_are_told_once(env: LocalEnvironment, tool: IncidentTool) -> None:
    env.incident_notes()
    alice = env.jira.as_user(ALICE_EMAIL)
    alice.move_to("OPS-1", "In Review")  # In Review has no incident state
    settle(env)
    alice.move_to("OPS-1", "In Progress")
    alice.move_to("OPS-1", "In Review")
    settle(env)
    notes = timeline(env)
    assert notes == ["From Jira: Jira status 'In Review' has no mapping back to the incident (mappings.status)."]


def test_an_owner_without_a_jira_account_is_told(env: LocalEnvironment, tool: IncidentTool) -> None:
    env.incident_notes()
    tool.set_field("owner", {"name": "Zed", "email": "zed@nowhere.example"})
    settle(env)
    [note] = timeline(env)
    assert "zed@nowhere.example has no Jira account" in note


def test_unassigning_works_both_ways(env: LocalEnvironment, tool: IncidentTool) -> None:
    alice = env.jira.as_user(ALICE_EMAIL)
    assert alice.call("GET", "/rest/api/3/issue/OPS-1")["fields"]["assignee"]["emailAddress"] == ALICE_EMAIL
    alice.edit("OPS-1", {"assignee": None})  # Jira -> incident: the incident loses its owner too
    [request] = settle(env)
    assert (request["owner_email"], request["owner_cleared"]) == (None, True)
    tool.set_field("owner", None, correlation_id=request["request_id"])  # the tool applies it: an echo
    assert settle(env) == []
    alice.edit("OPS-1", {"assignee": {"accountId": env.jira.user(ALICE_EMAIL).account_id}})
    [request] = settle(env)
    assert request["owner_email"] == ALICE_EMAIL
    tool.set_field("owner", {"name": "Alice Oncall", "email": ALICE_EMAIL}, correlation_id=request["request_id"])
    settle(env)
    tool.set_field("owner", None)  # incident -> Jira: Dana removes the owner, the issue is unassigned
    settle(env)
    assert alice.call("GET", "/rest/api/3/issue/OPS-1")["fields"]["assignee"] is None


def test_runbook_labels_are_added_and_removed_never_replaced(
    env: LocalEnvironment, config: Callable[[Callable[[str], str]], None]
) -> None:
    config(lambda text: text.replace(
        "            priority: {map: severity, from: severity}\n            customfield_10041:",
        "            priority: {map: severity, from: severity}\n"
        "            labels: {add: [\"sev-[incident.severity]\"], remove: [\"sev-{{ change.old_value }}\"]}\n"
        "            customfield_10041:", 1))
    tool = IncidentTool(env)
    tool.publish({"kind": "created"}, state="triggered", severity="SEV2")
    settle(env)
    env.jira.as_user(ALICE_EMAIL).edit("OPS-1", update={"labels": [{"add": "customer-visible"}]})
    settle(env)
    tool.set_field("severity", "SEV1")
    tool.set_field("severity", "SEV3")
    settle(env)
    labels = env.jira.as_user(ALICE_EMAIL).call("GET", "/rest/api/3/issue/OPS-1")["fields"]["labels"]
    assert "jira-bridge-INC-1042" in labels  # the marker the bridge finds its issues by
    assert "customer-visible" in labels  # a person's label
    assert "sev-SEV3" in labels
    assert "sev-SEV1" not in labels


def test_a_jql_rule_never_misses_an_issue_the_search_index_has_not_caught_up_with(
    env: LocalEnvironment, config: Callable[[Callable[[str], str]], None]
) -> None:
    config(lambda text: text + (
        "\njira_rules:\n  - name: customer-outage\n    jql: 'project = PAY AND priority = Highest'\n"
        "    incident: {title: \"[jira] {{ issue.fields.summary }}\", priority: P1}\n"))
    env.jira.search_index_lag(3600)  # nothing created in the last hour is searchable without reconcileIssues
    key = env.jira.as_user(ALICE_EMAIL).create_issue("PAY", "Card payments failing", "Task",
                                                     priority={"name": "Highest"})
    assert env.jira.as_user(ALICE_EMAIL).call("POST", "/rest/api/3/search/jql",
                                              json={"jql": f"key = {key}"})["issues"] == []
    [request] = settle(env)
    assert (request["rule"], request["title"], request["origin"]["issue_key"]) == (
        "customer-outage", "[jira] Card payments failing", key)
    env.jira.as_user(ALICE_EMAIL).edit(key, {"summary": "Card payments failing (EU)"})
    assert settle(env) == []  # still exactly one incident per issue


def test_an_edited_comment_reaches_the_incident_once_marked_as_edited(
    env: LocalEnvironment, tool: IncidentTool
) -> None:
    alice = env.jira.as_user(ALICE_EMAIL)
    comment = alice.comment("OPS-1", "Root cause: DNS.")
    [first] = settle(env)
    assert first["note"]["text"] == "Root cause: DNS."
    alice.call("PUT", f"/rest/api/3/issue/OPS-1/comment/{comment['id']}",
               json={"body": {"type": "doc", "version": 1, "content": [
                   {"type": "paragraph", "content": [{"type": "text", "text": "Root cause: expired certificate."}]}]}})
    [edited] = settle(env)
    assert edited["note"]["text"] == "(edited) Root cause: expired certificate."
    assert edited["note"]["jira_comment_id"].startswith(f"{comment['id']}@")
    delivery = next(d for d in reversed(env.jira.webhooks.deliveries) if d.event == "comment_updated")
    assert post_again(env, delivery) == 202
    assert settle(env) == []  # the same edit, redelivered under a new id: not sent twice


def post_again(env: LocalEnvironment, delivery: Any) -> int:
    import requests

    headers = {**delivery.headers, "X-Atlassian-Webhook-Identifier": "redelivered-edit"}
    return requests.post(env.api.url("/webhooks/jira"), data=delivery.body, headers=headers, timeout=10).status_code

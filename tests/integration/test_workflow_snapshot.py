"""`jira-bridge workflow snapshot`: the workflow as Jira shows it, written into runbooks.yaml, accepted by
lint, and enough for the first resolve of a new deployment to ask Jira nothing about transitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from jira_bridge.incidents.runbooks import load_runbooks
from jira_bridge_cli.main import main
from jira_sim.seed import ALICE_EMAIL
from local_runtime.environment import REPO_ROOT, LocalEnvironment
from tests.integration.conftest import BOTH_SITES
from tests.integration.test_incident_sync import FOLLOW, event, make_sync

pytestmark = pytest.mark.integration

STATUSES = ("To Do", "In Progress", "In Review", "Done", "Won't Do")


def without_workflows(text: str) -> str:
    """The sync tests' runbooks without their hand-written snapshot (and without a status the seeded
    workflow does not have: lint checks mapped statuses against the snapshot)."""
    text = text.replace(", mitigated: Blocked", "")
    return text[:text.index("workflows:")] + text[text.index("runbooks:"):]


def issues_in_every_status(env: LocalEnvironment, statuses: tuple[str, ...] = STATUSES) -> None:
    alice = env.jira.as_user(ALICE_EMAIL)
    for status in statuses:
        key = alice.create_issue("OPS", f"sample in {status}", issue_type="Incident",
                                 customfield_10041={"value": "SEV3"})  # the Incident screen requires it
        if status != "To Do":
            alice.move_to(key, status)


def snapshot(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["workflow", "snapshot", "--project", "OPS", "--issue-type", "Incident", "--file", str(path),
                 "--local", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


@BOTH_SITES
def test_the_snapshot_is_the_workflow_jira_shows_and_the_first_resolve_reads_no_transitions(
        env: LocalEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "runbooks.yaml"
    config.write_text(without_workflows(FOLLOW))
    # Without it, the bridge knows only what To Do offers and refuses to guess (it never moves to find out)
    bare = make_sync(env, config.read_text())
    bare.handle(event(1))
    with pytest.raises(Exception, match="workflow snapshot"):
        bare.handle(event(2, "field_changed", state="resolved", field="state", old="triggered", new="resolved"))

    issues_in_every_status(env)
    code, out, err = snapshot(capsys, config)
    assert code == 0, err
    assert "workflows.OPS/Incident written (5 statuses, 7 transitions)" in out
    written = load_runbooks(config).workflow_snapshot("OPS", "Incident")
    assert written is not None
    assert written.initial == "To Do"
    assert dict(written.statuses) == {"To Do": "new", "In Progress": "indeterminate", "In Review": "indeterminate",
                                      "Done": "done", "Won't Do": "done"}
    assert {(t.id, t.name, tuple(t.from_statuses), t.to, tuple(t.required)) for t in written.transitions} == {
        ("11", "Start Progress", ("To Do",), "In Progress", ()),
        ("21", "Request Review", ("In Progress",), "In Review", ()),
        ("31", "Done", ("In Review",), "Done", ("resolution",)),
        ("41", "Stop Progress", ("In Progress",), "To Do", ()),
        ("51", "Back to In Progress", ("In Review",), "In Progress", ()),
        ("61", "Reopen", ("Done",), "To Do", ()),
        ("91", "Won't Do", (), "Won't Do", ("resolution",)),  # global: offered from every status
    }
    assert main(["lint", str(config)]) == 0

    sync = make_sync(env, config.read_text())
    sync.handle(event(1, incident_id="INC-2"))
    env.jira.reset_log()
    sync.handle(event(2, "field_changed", state="resolved", field="state", old="triggered", new="resolved",
                      incident_id="INC-2"))
    sent = [(r.method, r.path.rsplit("/", 1)[-1]) for r in env.jira.requests if "/project/" not in r.path]
    assert sent == [("POST", "transitions")] * 3, "no GET transitions, no GET issue: one POST per hop"


def test_the_file_keeps_its_comments_and_other_entries_and_statuses_nobody_is_in_are_named(
        env: LocalEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = (REPO_ROOT / "config" / "runbooks.yaml").read_text()
    config = tmp_path / "runbooks.yaml"
    config.write_text(shipped)
    issues_in_every_status(env, ("To Do", "In Progress", "In Review"))  # nobody in Done or Won't Do
    code, _, err = snapshot(capsys, config)
    assert code == 0, err
    assert "is in Done, Won't Do: the transitions leaving them are not read from Jira" in err
    text = config.read_text()
    assert text.startswith(shipped[:shipped.index("workflows:")]), "everything before workflows: is untouched"
    assert text.endswith(shipped[shipped.index("\nrunbooks:"):]), "everything after it too"
    assert "  OPS:\n" in text, "the project-wide entry stays beside the new one"
    reopen = next(t for t in load_runbooks(config).workflows["OPS/Incident"].transitions if t.id == "61")
    assert reopen.from_statuses == ["Done"], "kept from the file for a status no issue is in"
    code, _, err = snapshot(capsys, config)  # again: the entry is replaced, not added twice
    assert code == 0, err
    assert config.read_text().count("  OPS/Incident:") == 1


def test_a_project_without_that_issue_type_is_a_clear_error(
        env: LocalEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "runbooks.yaml"
    config.write_text(FOLLOW)
    code, _, err = snapshot(capsys, config, "--issue-type", "Epic Saga")
    assert code == 2
    assert "project OPS has no issue type 'Epic Saga' (it has:" in err
    assert config.read_text() == FOLLOW

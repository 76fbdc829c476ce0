"""`jira-bridge workflow snapshot`: a project's workflow, read from Jira, written into runbooks.yaml.

With the snapshot in `workflows:`, every move is planned before its first request and the first
resolve of a new deployment asks Jira nothing about transitions.

What it reads, all with the connector's own account (Browse Projects; no admin rights):
* the statuses of the issue type and their categories: ``GET /project/{key}/statuses``;
* the transitions leaving each status, with their screens (required fields included): for each
  status, one issue of that type sitting in it (a search) and ``GET /issue/{id}/transitions
  ?expand=transitions.fields``. A global transition (``isGlobal``) is written with an empty ``from``.

Jira Cloud's workflow API (``POST /rest/api/3/workflows``) would list every transition, but it needs
Administer Jira (or Administer projects) and still does not give screen fields; Data Center has no
REST equivalent. So statuses that no issue sits in keep the transitions already configured for them,
and the command names them: create an issue there (or edit the file) and run it again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from jira_bridge.errors import ConfigurationError
from jira_bridge.incidents.workflow import SnapshotTransition, WorkflowSnapshot
from jira_bridge.jira.client import JiraClient

CATEGORIES = {"new": "new", "indeterminate": "indeterminate", "done": "done"}


def add_workflow_commands(commands: Any) -> None:
    from jira_bridge_cli.dlq_commands import where_arguments

    workflow = commands.add_parser("workflow", help="read Jira workflows into runbooks.yaml (workflows:)")
    verbs = workflow.add_subparsers(dest="workflow_command", required=True)
    snapshot = verbs.add_parser("snapshot", help="write a project's workflow into runbooks.yaml, so moves are "
                                                 "planned without asking Jira", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    snapshot.add_argument("--connector", default="default", help="the connector whose account reads Jira")
    snapshot.add_argument("--project", required=True, help="Jira project key, e.g. OPS")
    snapshot.add_argument("--issue-type", help="issue type (default: the project's only workflow; the snapshot "
                                               "is then keyed PROJECT, else PROJECT/Issue type)")
    snapshot.add_argument("--file", type=Path, default=Path("config/runbooks.yaml"))
    snapshot.add_argument("--print", action="store_true", help="print the snapshot instead of writing the file")
    where_arguments(snapshot)
    snapshot.set_defaults(run=run_workflow_snapshot)


def run_workflow_snapshot(args: argparse.Namespace) -> int:
    from jira_bridge.adapters import jira_client_for
    from jira_bridge.connectors.model import parse_connector_secret
    from jira_bridge.incidents.runbooks import load_runbooks
    from jira_bridge_cli.dlq_commands import resources_for
    from jira_bridge_cli.secret_commands import read_connector

    secret_id, payload = read_connector(resources_for(args), args.connector)
    client = jira_client_for(parse_connector_secret(args.connector, secret_id, payload))
    key = f"{args.project.upper()}/{args.issue_type}" if args.issue_type else args.project.upper()
    # what the bridge uses now for this project and type (this entry, else the project-wide one)
    existing = (load_runbooks(args.file).workflow_snapshot(args.project, args.issue_type or "")
                if args.file.exists() else None)
    snapshot, notes = read_workflow(client, args.project.upper(), args.issue_type, existing)
    entry = render_entry(key, snapshot)
    if args.print:
        print(entry, end="")
    else:
        write_entry(args.file, key, entry)
        print(f"{args.file}: workflows.{key} written ({len(snapshot.statuses)} statuses, "
              f"{len(snapshot.transitions)} transitions); `jira-bridge lint` accepts it")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def read_workflow(client: JiraClient, project: str, issue_type: str | None,
                  existing: WorkflowSnapshot | None = None) -> tuple[WorkflowSnapshot, list[str]]:
    """The workflow of `project`'s `issue_type` as Jira shows it to the connector's account."""
    types = client.project_statuses(project)
    if issue_type is not None:
        chosen = [t for t in types if t.name.lower() == issue_type.lower()]
        if not chosen:
            raise ConfigurationError(f"project {project} has no issue type {issue_type!r} "
                                     f"(it has: {', '.join(t.name for t in types)})")
    else:
        distinct = {tuple(sorted(t.statuses.items())) for t in types}
        if len(distinct) != 1:
            raise ConfigurationError(f"the issue types of {project} have different workflows: name one with "
                                     f"--issue-type ({', '.join(t.name for t in types)})")
        chosen = types
    statuses = {name: CATEGORIES.get(category, "indeterminate") for name, category in chosen[0].statuses.items()}
    type_clause = f' AND issuetype = "{chosen[0].name}"' if issue_type else ""
    found: dict[str, dict[str, Any]] = {}
    unseen: list[str] = []
    for status in statuses:
        jql = f'project = "{project}"{type_clause} AND status = "{status}" ORDER BY updated DESC'
        page = client.search_jql(jql, fields=["status"], max_results=1)
        if not page.issues:
            unseen.append(status)
            continue
        for offered in client.get_transitions(str(page.issues[0]["id"])):
            if not offered.to_status_name or offered.to_status_name not in statuses:
                continue
            entry = found.setdefault(offered.id, {
                "id": offered.id, "name": offered.name, "to": offered.to_status_name, "from": [],
                "required": list(offered.required_fields), "screen": sorted(offered.fields),
                "global": bool(offered.raw.get("isGlobal"))})
            if status not in entry["from"]:
                entry["from"].append(status)
    notes: list[str] = []
    if unseen:
        kept = [t for t in (existing.transitions if existing else [])
                if t.id not in found and any(f in unseen for f in t.from_statuses)]
        for transition in kept:
            found[transition.id] = {"id": transition.id, "name": transition.name, "to": transition.to,
                                    "from": list(transition.from_statuses), "required": list(transition.required),
                                    "screen": list(transition.screen), "global": False}
        notes.append(f"no {issue_type or ''} issue of {project} is in {', '.join(unseen)}: the transitions leaving "
                     f"{'them' if len(unseen) > 1 else 'it'} are not read from Jira"
                     + (f" ({len(kept)} kept from {'the file'})" if kept else "")
                     + "; create an issue there (or edit the file) and run this again")
    initial = existing.initial if existing and existing.initial in statuses else None
    new = [name for name, category in statuses.items() if category == "new"]
    if initial is None and len(new) == 1:
        initial = new[0]
        notes.append(f"initial status taken to be {initial} (the only status in the To Do category); Jira shows "
                     "where a workflow starts only to administrators: correct `initial:` if it is not")
    transitions = [SnapshotTransition.model_validate({
        "id": t["id"], "name": t["name"], "to": t["to"], "from": [] if t["global"] else t["from"],
        "required": t["required"], "screen": [] if t["screen"] == t["required"] else t["screen"]})
        for t in sorted(found.values(), key=lambda t: (int(t["id"]) if str(t["id"]).isdigit() else 0, t["id"]))]
    snapshot = WorkflowSnapshot.model_validate({"initial": initial, "statuses": statuses, "transitions": transitions})
    return snapshot, notes


def render_entry(key: str, snapshot: WorkflowSnapshot) -> str:
    """The snapshot in the file's own style: one flow mapping per transition."""
    def flow(value: Any) -> str:
        dumped = yaml.safe_dump([value], default_flow_style=True, width=10_000, sort_keys=False, allow_unicode=True)
        return dumped.strip()[1:-1]  # one flow value (a scalar alone would end with a document marker)

    lines = [f"  {key if re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9_/ .-]*', key) else json.dumps(key)}:"]
    if snapshot.initial:
        lines.append(f"    initial: {flow(snapshot.initial)}")
    lines.append(f"    statuses: {flow(dict(snapshot.statuses))}")
    lines.append("    transitions:")
    for transition in snapshot.transitions:
        data: dict[str, Any] = {"id": transition.id, "name": transition.name}
        if transition.from_statuses:
            data["from"] = list(transition.from_statuses)
        data["to"] = transition.to
        if transition.required:
            data["required"] = list(transition.required)
        if transition.screen:
            data["screen"] = list(transition.screen)
        lines.append(f"      - {flow(data)}")
    return "\n".join(lines) + "\n"


_TOP_LEVEL = re.compile(r"^[^\s#]")


def write_entry(path: Path, key: str, entry: str) -> None:
    """Replace (or add) `workflows.<key>` in `path`, leaving every other line (and comment) as it was;
    the result must pass lint before it replaces the file."""
    from jira_bridge.incidents.lint import lint_file

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^workflows:\s*(#.*)?$", line)), None)
    if start is None:
        before = next((i for i, line in enumerate(lines) if re.match(r"^runbooks:", line)), len(lines))
        lines[before:before] = ["workflows:\n", entry, "\n"]
    else:
        end = next((i for i in range(start + 1, len(lines)) if _TOP_LEVEL.match(lines[i])), len(lines))
        wanted = re.compile(r"^  ['\"]?" + re.escape(key) + r"['\"]?:\s*(#.*)?$", re.IGNORECASE)
        at = next((i for i in range(start + 1, end) if wanted.match(lines[i])), None)
        if at is None:
            while end > start + 1 and not lines[end - 1].strip():
                end -= 1
            lines[end:end] = [entry]
        else:
            stop = next((i for i in range(at + 1, end) if lines[i].strip() and len(lines[i]) - len(lines[i].lstrip())
                         <= 2), end)
            while stop > at + 1 and not lines[stop - 1].strip():
                stop -= 1
            lines[at:stop] = [entry]
    fd, temporary = tempfile.mkstemp(prefix=".runbooks-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(lines))
        already = {p.message for p in lint_file(path) if not p.warning} if path.exists() else set()
        problems = [p for p in lint_file(Path(temporary)) if not p.warning and p.message not in already]
        if problems:
            raise ConfigurationError(f"{path}: not written, the snapshot would make it fail lint: "
                                     + "; ".join(str(p) for p in problems))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)

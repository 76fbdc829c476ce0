"""`jira-bridge status INCIDENT-ID|ISSUE-KEY`: an incident's link, last actions, last error and parked events.

Where: ``--stack NAME [--region R] [--profile P]`` (the link table and the dead-letter queues from the
stack, as ``jira-bridge dlq``), ``--local`` (the stack ``jira-bridge local start`` runs), or only
``--table NAME`` / ``$LINK_TABLE_NAME`` (no parked events then: the queues are not known).

The argument is looked up as an incident id first (one GetItem); if no incident has that id and it
looks like an issue key (``OPS-12``), the table is scanned for the link naming that issue key (links
are keyed by the issue's stable numeric id, not its key, which changes when an issue moves project).
``--issue`` skips the incident lookup. Exit codes: 0 found, 1 no link, otherwise as every command.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from typing import Any

from jira_bridge.errors import ConfigurationError
from jira_bridge_cli.dlq_commands import Resources, parked_for_incident, resources_for

ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-[1-9][0-9]*$")


def add_status_command(commands: Any) -> None:
    status = commands.add_parser("status", help="an incident's link, last actions, last error and parked events",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    status.add_argument("id", metavar="INCIDENT-ID|ISSUE-KEY")
    status.add_argument("--issue", action="store_true", help="the argument is a Jira issue key")
    status.add_argument("--json", action="store_true", help="the link and parked events as one JSON object")
    where = status.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the local stack (`jira-bridge local start`)")
    where.add_argument("--stack", help="deployed CloudFormation stack name")
    where.add_argument("--table", help="only the link table (default: $LINK_TABLE_NAME); no parked events")
    status.add_argument("--region", help="AWS region of --stack")
    status.add_argument("--profile", help="AWS profile for --stack")
    status.set_defaults(run=run_status)


def run_status(args: argparse.Namespace) -> int:
    from jira_bridge.links.store import DynamoLinkStore

    resources: Resources | None = None
    if args.local or args.stack:
        resources = resources_for(args)
        table = resources.output("LinkTableName")
        client = resources.client("dynamodb")
    else:
        table = args.table or os.environ.get("LINK_TABLE_NAME")
        if not table:
            raise ConfigurationError("name the stack: --stack NAME [--region R] [--profile P] "
                                     "(or --table NAME / LINK_TABLE_NAME for the link alone)")
        import boto3

        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        client = session.client("dynamodb")
    if not table:
        raise ConfigurationError("the stack has no LinkTableName output (is it a Jira Bridge stack?)")
    store = DynamoLinkStore(table, lambda: client)
    link = None if args.issue else store.get_by_incident(args.id)
    if link is None and (args.issue or ISSUE_KEY.match(args.id)):
        link = find_by_issue_key(client, table, args.id.upper())
    parked = parked_for_incident(resources, link.incident_id if link else args.id) if resources else None
    if args.json:
        print(json.dumps({"link": link.model_dump(mode="json") if link else None, "parked": parked}, default=str))
        return 0 if link else 1
    if link is None:
        what = "issue" if args.issue else "incident (or issue key)"
        print(f"{what} {args.id}: no link (no runbook has created or linked an issue for it)")
    else:
        print(render_status(link))
    if parked is not None:
        print(render_parked(parked))
    return 0 if link else 1


def find_by_issue_key(client: Any, table: str, issue_key: str) -> Any:
    """The link naming `issue_key` (a filtered Scan: an operator lookup, not a hot path)."""
    from jira_bridge.links.model import IssueLink

    pages = client.get_paginator("scan").paginate(
        TableName=table, FilterExpression="issue_key = :key", ExpressionAttributeValues={":key": {"S": issue_key}},
        ProjectionExpression="#r", ExpressionAttributeNames={"#r": "record"})
    for page in pages:
        for item in page.get("Items", []):
            return IssueLink.model_validate_json(item["record"]["S"])
    return None


def render_status(link: Any) -> str:
    lines = [
        f"incident   {link.incident_id}",
        f"issue      {link.issue_key or '(none yet)'}  id={link.issue_id or '-'}  connector={link.connector}",
        f"state      {link.state.value}  sync={link.sync_status.value}  version={link.version}",
        f"updated    {link.updated_at:%Y-%m-%d %H:%M:%S}Z",
    ]
    if link.last_error:
        lines.append(f"last error {link.last_error}")
    if link.deferred_events:
        lines.append(f"waiting    {len(link.deferred_events)} event(s) kept until the issue exists")
    for past in getattr(link, "history", []):
        lines.append(f"earlier    {past.issue_key or '-'}  id={past.issue_id}  ended {past.ended_at:%Y-%m-%d %H:%M}Z: "
                     f"{past.reason}")
    lines.append("actions:")
    lines.extend(f"  {a.at:%H:%M:%S} {a.action:<28} {a.outcome:<7} {a.detail}" for a in link.actions[-10:])
    return "\n".join(lines)


def render_parked(parked: list[dict[str, Any]]) -> str:
    if not parked:
        return "parked     none"
    lines = [f"parked     {len(parked)} message(s): replay with `jira-bridge dlq replay --incident ID ...`"]
    lines.extend(f"  {p['queue']:<18} {p['message_id']}  seq={p.get('sequence')}  {p.get('reason') or ''}"
                 for p in parked)  # fmt: skip
    return "\n".join(lines)

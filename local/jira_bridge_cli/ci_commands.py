"""`jira-bridge keys` and `jira-bridge approval`: the CI flow from a terminal or a pipeline step.

* ``keys TEXT... [--project KEY]`` prints the issue keys a commit message, PR title or branch name
  would link, one per line (exit 1 when there are none), with exactly the bridge's rules.
* ``approval ISSUE-KEY`` answers approved / rejected / waiting, either by asking a deployed (or
  ``local start``) bridge (``--url`` and an API key) or directly with the connector secrets and
  ``config/ci.yaml`` (``--secret-prefix``). With ``--pipeline/--environment/--deployment`` the answer
  is Jira's deployment gating status. ``--wait SECONDS`` polls until the answer is not "waiting".
  Exit codes: 0 approved, 1 rejected, 3 still waiting; 2 a configuration error, 4 AWS unreachable,
  5 the bridge or Jira unreachable (a network error is never "rejected").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jira_bridge.errors import ConfigurationError

EXIT_FOR = {"approved": 0, "rejected": 1, "waiting": 3}


def add_ci_commands(commands: Any) -> None:
    """Register the CI subcommands on the `jira-bridge` parser (``commands`` is its subparsers)."""
    keys = commands.add_parser("keys", help="print the Jira issue keys found in commit messages, PR titles, branches")
    keys.add_argument("text", nargs="+", help="texts to search, e.g. a commit message and a branch name")
    keys.add_argument("--project", help="keep only this project's keys (like PROJECT in a notification)")
    keys.set_defaults(run=run_keys)

    approval = commands.add_parser("approval", help="approved / rejected / waiting for an issue (exit 0 / 1 / 3)")
    approval.add_argument("issue_key")
    approval.add_argument("--url", help="the bridge's API base URL, e.g. https://ID.execute-api.REGION.amazonaws.com/v1")
    approval.add_argument("--api-key", help="a CI caller's API key (default: $JIRA_BRIDGE_API_KEY)")
    approval.add_argument("--secret-prefix",
                          help="or ask Jira directly: connector secret prefix jira-bridge/STACK/connectors/")
    approval.add_argument("--config-dir", type=Path, default=Path("config"),
                          help="with --secret-prefix (default: config)")
    approval.add_argument("--pipeline", help="Jira's gating status: the pipeline id the deployment was reported with")
    approval.add_argument("--environment", help="... the environment name it was reported with")
    approval.add_argument("--deployment", type=int, help="... and its deployment (build) number")
    approval.add_argument("--wait", type=float, default=0.0, help="poll up to SECONDS until not waiting")
    approval.add_argument("--interval", type=float, default=15.0, help="seconds between polls (default 15)")
    approval.add_argument("--json", action="store_true", help="print the answer as JSON")
    approval.set_defaults(run=run_approval)


def run_keys(args: argparse.Namespace) -> int:
    from jira_bridge.ci.issue_keys import find_issue_keys

    keys = find_issue_keys(args.text, project=args.project)
    for key in keys:
        print(key)
    if not keys:
        where = f" of project {args.project.upper()}" if args.project else ""
        print(f"no issue keys{where} found: Jira would not link this", file=sys.stderr)
        return 1
    return 0


def run_approval(args: argparse.Namespace) -> int:
    gating = [args.pipeline, args.environment, args.deployment]
    if any(v is not None for v in gating) and not all(v is not None for v in gating):
        raise ConfigurationError("Jira's gating status needs --pipeline, --environment and --deployment together")
    ask = _ask_bridge(args) if args.url else _ask_jira(args)
    deadline = time.monotonic() + max(args.wait, 0.0)
    answer = ask()
    while answer.get("decision") == "waiting" and time.monotonic() + args.interval <= deadline:
        time.sleep(args.interval)
        answer = ask()
    if args.json:
        print(json.dumps(answer))
    else:
        print(f"{answer.get('issueKey', args.issue_key)}: {answer.get('decision')} ({answer.get('reason')})")
    return EXIT_FOR.get(str(answer.get("decision")), 2)


def _ask_bridge(args: argparse.Namespace) -> Callable[[], dict[str, Any]]:
    import requests

    api_key = args.api_key or os.environ.get("JIRA_BRIDGE_API_KEY")
    if not api_key:
        raise ConfigurationError("--url needs a CI caller's API key: --api-key KEY or JIRA_BRIDGE_API_KEY")
    url = f"{args.url.rstrip('/')}/ci/approval/{args.issue_key}"
    params = (
        {"pipeline": args.pipeline, "environment": args.environment, "deployment": str(args.deployment)}
        if args.pipeline is not None else None
    )

    def ask() -> dict[str, Any]:
        response = requests.get(url, params=params, headers={"X-Api-Key": api_key}, timeout=30)
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200:
            from jira_bridge_cli.errors import EXIT_NETWORK, Unreachable

            message = f"{url} answered {response.status_code}: {body.get('message', response.text[:200])}"
            if response.status_code >= 500:  # the bridge or Jira is down: not a "rejected", not bad input
                raise Unreachable(message + " (try again later)", EXIT_NETWORK)
            raise ConfigurationError(message)
        return body

    return ask


def _ask_jira(args: argparse.Namespace) -> Callable[[], dict[str, Any]]:
    from jira_bridge.adapters import build_ci_site
    from jira_bridge.ci.approval import ApprovalGate, GatedDeployment
    from jira_bridge.ci.config import load_ci_config
    from jira_bridge.ci.errors import NotAnIssueKey
    from jira_bridge.connectors.registry import ConnectorRegistry
    from jira_bridge.connectors.routing import load_routing
    from jira_bridge.connectors.secrets import SecretsManagerConnectors
    from jira_bridge.jira.errors import JiraError

    if not args.secret_prefix:
        raise ConfigurationError(
            "ask the bridge (--url URL --api-key KEY) or Jira (--secret-prefix jira-bridge/STACK/connectors/)"
        )
    registry = ConnectorRegistry(load_routing(args.config_dir / "connectors.yaml"),
                                 SecretsManagerConnectors(args.secret_prefix, max_age=0))
    gate = ApprovalGate(load_ci_config(args.config_dir / "ci.yaml").approval,
                        lambda project: build_ci_site(registry.for_project(project)))
    gated = GatedDeployment(args.pipeline, args.environment, args.deployment) if args.pipeline is not None else None

    def ask() -> dict[str, Any]:
        try:
            return gate.decide(args.issue_key, gated).as_dict()
        except (NotAnIssueKey, JiraError) as error:
            raise ConfigurationError(str(error)) from None

    return ask

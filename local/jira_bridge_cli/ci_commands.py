"""`jira-bridge keys`, `jira-bridge ci notify|approval`: the CI flow from a terminal or a pipeline step.

* ``keys TEXT... [--project KEY]`` prints the issue keys a commit message, PR title or branch name
  would link, one per line (exit 1 when there are none), with exactly the bridge's rules.
* ``approval ISSUE-KEY`` answers approved / rejected / waiting, either by asking a deployed (or
  ``local start``) bridge (``--url`` and an API key) or directly with the connector secrets and
  ``config/ci.yaml`` (``--secret-prefix``). With ``--pipeline/--environment/--deployment`` the answer
  is Jira's deployment gating status; with ``--criteria`` the step's own criteria decide.
  ``ci approval --wait --timeout SECONDS`` (or ``approval --wait SECONDS``) polls until the answer
  is not "waiting", retrying an unavailable bridge as ``Retry-After`` asks (``bridge_client``).
  Exit codes: 0 approved, 1 rejected, 3 still waiting (at the timeout); 2 a configuration error,
  4 AWS unreachable, 5 the bridge or Jira unreachable (a network error is never "rejected").
* ``ci notify`` is the ``plugins/jira`` drop-in (:mod:`jira_bridge_cli.plugin_env`): it reads the
  step's ``PLUGIN_*`` settings and the CI's ``DRONE_*``/``CI_*`` variables and posts the notification
  (API key or HMAC-signed). Exit 0 reported (or skipped: no key), 1 Jira refused something, 2 bad
  settings, 5 the bridge unreachable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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
    _approval_arguments(approval)
    approval.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                          help="poll up to SECONDS until not waiting (as `ci approval --wait --timeout SECONDS`)")
    approval.set_defaults(run=run_approval)

    ci = commands.add_parser("ci", help="pipeline steps: notify Jira (plugins/jira drop-in), wait for an approval")
    ci_commands = ci.add_subparsers(dest="ci_command", required=True)
    notify = ci_commands.add_parser(
        "notify", help="report this build/deployment from the plugins/jira settings (PLUGIN_*, DRONE_*, CI_*)")
    _bridge_arguments(notify)
    notify.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                        help="retry an unavailable bridge for up to SECONDS (default 120)")
    notify.add_argument("--dry-run", action="store_true", help="print the notification, send nothing")
    notify.set_defaults(run=run_notify)
    ci_approval = ci_commands.add_parser("approval", help="approved / rejected / waiting (exit 0 / 1 / 3)")
    _approval_arguments(ci_approval)
    ci_approval.add_argument("--wait", action="store_true", help="poll until approved or rejected, or --timeout")
    ci_approval.add_argument("--timeout", type=float, default=3600.0, metavar="SECONDS",
                             help="with --wait: give up after SECONDS (default 3600; exit 3)")
    ci_approval.set_defaults(run=run_ci_approval)


def _bridge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="the bridge's API base URL (default: $JIRA_BRIDGE_URL or $PLUGIN_BRIDGE_URL), "
                                      "e.g. https://ID.execute-api.REGION.amazonaws.com/v1")
    parser.add_argument("--api-key", help="a CI caller's API key (default: $JIRA_BRIDGE_API_KEY or $PLUGIN_API_KEY)")
    parser.add_argument("--caller", help="or an HMAC caller's name (default: $JIRA_BRIDGE_CALLER or $PLUGIN_CALLER), "
                                         "its secret in $JIRA_BRIDGE_HMAC_SECRET (or $PLUGIN_HMAC_SECRET)")


def _approval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("issue_key")
    _bridge_arguments(parser)
    parser.add_argument("--secret-prefix",
                        help="or ask Jira directly: connector secret prefix jira-bridge/STACK/connectors/")
    parser.add_argument("--config-dir", type=Path, default=Path("config"),
                        help="with --secret-prefix (default: config)")
    parser.add_argument("--pipeline", help="Jira's gating status: the pipeline id the deployment was reported with")
    parser.add_argument("--environment", help="... the environment name it was reported with")
    parser.add_argument("--deployment", type=int, help="... and its deployment (build) number")
    parser.add_argument("--criteria", help="this step's approval/rejection criteria: JSON, or @FILE "
                                           "(POST /ci/approval; e.g. '{\"approved\": {\"jql\": \"status = Done\"}}')")
    parser.add_argument("--interval", type=float, default=15.0, help="seconds between polls (default 15)")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")


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
    """`jira-bridge approval KEY --wait SECONDS`: the same as `ci approval --wait --timeout SECONDS`."""
    args.timeout = max(args.wait, 0.0)
    args.wait = args.timeout > 0
    return run_ci_approval(args)


def run_ci_approval(args: argparse.Namespace) -> int:
    from jira_bridge_cli.bridge_client import wait_for_decision

    gating = [args.pipeline, args.environment, args.deployment]
    if any(v is not None for v in gating) and not all(v is not None for v in gating):
        raise ConfigurationError("Jira's gating status needs --pipeline, --environment and --deployment together")
    if args.criteria and args.pipeline is not None:
        raise ConfigurationError("--criteria and --pipeline/--environment/--deployment ask different questions: "
                                 "give one of them")
    if args.timeout < 0 or args.interval <= 0:
        raise ConfigurationError("--timeout must be 0 or more and --interval more than 0 seconds")
    url = _bridge_url(args)
    ask = _ask_bridge(args, url) if url else _ask_jira(args)
    answer, timed_out = wait_for_decision(ask, timeout=args.timeout if args.wait else 0.0, interval=args.interval)
    if args.json:
        print(json.dumps(answer))
    else:
        print(f"{answer.get('issueKey', args.issue_key)}: {answer.get('decision')} ({answer.get('reason')})")
    if timed_out:
        print(f"jira-bridge: {args.issue_key} is still waiting after {args.timeout:g} s (--timeout): no decision",
              file=sys.stderr)
    return EXIT_FOR.get(str(answer.get("decision")), 2)


def _env(*names: str) -> str | None:
    from jira_bridge_cli.plugin_env import first

    return first(os.environ, *names)


def _bridge_url(args: argparse.Namespace) -> str | None:
    return str(args.url) if args.url else _env("JIRA_BRIDGE_URL", "PLUGIN_BRIDGE_URL")


def _bridge(args: argparse.Namespace, url: str) -> Any:
    from jira_bridge_cli.bridge_client import BridgeClient, Credentials

    credentials = Credentials.from_values(
        args.api_key or _env("JIRA_BRIDGE_API_KEY", "PLUGIN_API_KEY"),
        args.caller or _env("JIRA_BRIDGE_CALLER", "PLUGIN_CALLER"),
        _env("JIRA_BRIDGE_HMAC_SECRET", "PLUGIN_HMAC_SECRET"),
    )
    return BridgeClient(url, credentials)


def _criteria(value: str) -> bytes:
    from jira_bridge_cli.bridge_client import dumps

    text = Path(value[1:]).read_text() if value.startswith("@") else value
    try:
        return dumps(json.loads(text))
    except ValueError as error:
        raise ConfigurationError(f"--criteria is not JSON: {error}") from None


def _ask_bridge(args: argparse.Namespace, url: str) -> Callable[[float], dict[str, Any]]:
    from urllib.parse import quote

    client = _bridge(args, url)
    path = f"/ci/approval/{quote(args.issue_key, safe='')}"
    params = (
        {"pipeline": args.pipeline, "environment": args.environment, "deployment": str(args.deployment)}
        if args.pipeline is not None else None
    )
    body = _criteria(args.criteria) if args.criteria else None

    def ask(deadline: float) -> dict[str, Any]:
        if body is not None:
            answer = client.call("POST", path, body=body, deadline=deadline)
        else:
            answer = client.call("GET", path, params=params, deadline=deadline)
        if answer.status != 200:
            message = f"{url}{path} answered {answer.status}: {answer.message}"
            if answer.status >= 500:  # the bridge is broken: not a "rejected", not bad input
                from jira_bridge_cli.errors import EXIT_NETWORK, Unreachable

                raise Unreachable(message, EXIT_NETWORK)
            raise ConfigurationError(message)
        result: dict[str, Any] = answer.body
        return result

    return ask


def _ask_jira(args: argparse.Namespace) -> Callable[[float], dict[str, Any]]:
    from jira_bridge.adapters import build_ci_site
    from jira_bridge.ci.approval import ApprovalGate, GatedDeployment, parse_approval_request
    from jira_bridge.ci.config import load_ci_config
    from jira_bridge.ci.errors import CriteriaInvalid, NotAnIssueKey
    from jira_bridge.connectors.registry import ConnectorRegistry
    from jira_bridge.connectors.routing import load_routing
    from jira_bridge.connectors.secrets import SecretsManagerConnectors
    from jira_bridge.jira.errors import JiraError

    if not args.secret_prefix:
        raise ConfigurationError(
            "ask the bridge (--url URL, or JIRA_BRIDGE_URL, and --api-key KEY) or Jira (--secret-prefix "
            "jira-bridge/STACK/connectors/)"
        )
    registry = ConnectorRegistry(load_routing(args.config_dir / "connectors.yaml"),
                                 SecretsManagerConnectors(args.secret_prefix, max_age=0))
    gate = ApprovalGate(load_ci_config(args.config_dir / "ci.yaml").approval,
                        lambda project: build_ci_site(registry.for_project(project)))
    gated = GatedDeployment(args.pipeline, args.environment, args.deployment) if args.pipeline is not None else None
    request = parse_approval_request(_criteria(args.criteria)) if args.criteria else None

    def ask(_deadline: float) -> dict[str, Any]:
        try:
            return gate.decide(args.issue_key, gated, None, request).as_dict()
        except (NotAnIssueKey, CriteriaInvalid, JiraError) as error:
            raise ConfigurationError(str(error)) from None

    return ask


# ----- ci notify: the plugins/jira drop-in ---------------------------------------------------------------


def run_notify(args: argparse.Namespace) -> int:
    from jira_bridge_cli.bridge_client import CLOCK, dumps
    from jira_bridge_cli.plugin_env import notification_from_env, wants_debug

    body, notes = notification_from_env(os.environ)
    for note in notes:
        print(f"jira-bridge: {note}", file=sys.stderr)
    if args.dry_run:
        print(json.dumps(body, indent=2))
        return 0
    url = _bridge_url(args)
    if not url:
        raise ConfigurationError("no bridge URL: set PLUGIN_BRIDGE_URL (the step's `bridge_url` setting) or "
                                 "JIRA_BRIDGE_URL, or pass --url (stack output ApiUrl)")
    answer = _bridge(args, url).call("POST", "/ci/notify", body=dumps(body), deadline=CLOCK[0]() + args.timeout)
    if wants_debug(os.environ):
        print(json.dumps(answer.body, indent=2))
    for result in answer.body.get("results") or []:
        keys = ", ".join(result.get("issueKeys") or result.get("issue_keys") or []) or "no issue keys"
        print(f"{result.get('kind', 'run')} {result.get('status')}: {result.get('reason') or keys}")
    if answer.status in (200, 202):
        return 0
    if answer.status == 422:  # Jira refused something: its messages are in the results above
        return 1
    message = f"{url}/ci/notify answered {answer.status}: {answer.message}"
    if answer.status >= 500:
        from jira_bridge_cli.errors import EXIT_NETWORK, Unreachable

        raise Unreachable(message, EXIT_NETWORK)
    raise ConfigurationError(message)

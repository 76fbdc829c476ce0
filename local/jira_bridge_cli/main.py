"""`jira-bridge`: run the bundle locally, set up and test a deployed stack, and operate it.

Every failure is printed as one `jira-bridge: ...` line on stderr naming what is wrong and how to fix
it, never a stack trace. Exit codes: 0 success; 1 the command ran and found a problem (no link, a
failed check, approval rejected, `dlq replay` kept messages); 2 bad input or configuration;
3 `approval`: still waiting; 4 AWS unreachable or refused (region, credentials, stack, permission);
5 Jira, the bridge's API or a URL unreachable; 70 an unexpected error (a bug).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jira_bridge.errors import ConfigurationError

Command = Callable[[argparse.Namespace], int]
SCHEMAS = {
    "incident-changed": "jira_bridge.incidents.events:IncidentChanged",
    "incident-update-requested": "jira_bridge.incidents.updates:IncidentUpdateRequested",
    "incident-create-requested": "jira_bridge.incidents.updates:IncidentCreateRequested",
    "incident-note-requested": "jira_bridge.incidents.updates:IncidentNoteRequested",
    "ci-notification": "jira_bridge.ci.sources.generic:CiNotificationBody",
}


def build_parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one flat list of every command and flag
    parser = argparse.ArgumentParser(prog="jira-bridge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="run the bundle on this machine (simulator + moto)")
    local_commands = local.add_subparsers(dest="local_command", required=True)

    invoke = local_commands.add_parser("invoke", help="invoke one function, like `sam local invoke`")
    invoke.add_argument("logical_id", help="function logical id in template.yaml, e.g. CiNotifyFunction")
    invoke.add_argument("-e", "--event", type=Path, required=True, help="event JSON file ('-' for stdin)")
    invoke.add_argument("--env-vars", type=Path, help="JSON file of environment overrides (sam's shape)")
    invoke.add_argument("-t", "--template", type=Path, default=None)
    invoke.set_defaults(run=_local_invoke)

    start = local_commands.add_parser("start", help="start simulator, AWS and the API routes on loopback")
    start.add_argument("--port", type=int, default=3000, help="API port (default 3000, 0 = any)")
    start.add_argument("--env-vars", type=Path)
    start.set_defaults(run=_local_start)

    put_event = local_commands.add_parser("put-event", help="publish an incident event on the local incident bus")
    put_event.add_argument("file", type=Path, help="an EventBridge event JSON (events/*.eventbridge.json), '-' = stdin")
    put_event.set_defaults(run=_local_put_event)

    demo = local_commands.add_parser("demo", help="tell the whole story end to end, in under a minute")
    demo.add_argument("--site", choices=["cloud", "datacenter"], default="cloud",
                      help="the kind of Jira the simulator plays (default: cloud)")
    demo.set_defaults(run=_local_demo)

    test_connection = commands.add_parser(
        "test-connection", help="check a connector's credentials, permissions and projects"
    )
    test_connection.add_argument("--connector", default=None, help="connector name (default: all)")
    test_connection.add_argument("--project", action="append", default=[], help="Jira project key to check")
    test_connection.add_argument("--secret-prefix", help="connector secret prefix, e.g. jira-bridge/STACK/connectors/")
    test_connection.add_argument("--config-dir", type=Path, default=Path("config"))
    test_connection.add_argument("--local", action="store_true", help="run against the local simulator")
    test_connection.add_argument("--stack", help="deployed stack: its connector secrets (instead of --secret-prefix)")
    test_connection.add_argument("--region", help="AWS region of --stack")
    test_connection.add_argument("--profile", help="AWS profile for --stack")
    test_connection.add_argument("--json", action="store_true", help="one JSON object per connector")
    test_connection.add_argument("--site", choices=["cloud", "datacenter"], default="cloud",
                                 help="with --local: the simulator's kind of Jira")
    test_connection.add_argument("--dc-version", default="10.3.19", help="with --local --site datacenter")
    test_connection.add_argument("--webhook-url", help="also check the site's admin webhook to this URL "
                                                       "(stack output JiraWebhookUrl), as `webhooks check` does")
    test_connection.set_defaults(run=_test_connection)

    lint = commands.add_parser("lint", help="validate runbooks and mappings (offline, or against Jira), or "
                                            "pagerduty.yaml (the PagerDuty accounts)")
    lint.add_argument("file", nargs="?", type=Path, default=Path("config/runbooks.yaml"))
    lint.add_argument("--connector", help="also check against this connector's Jira (projects, fields, ...)")
    lint.add_argument("--secret-prefix", help="connector secret prefix, e.g. jira-bridge/STACK/connectors/")
    lint.add_argument("--local", action="store_true", help="check against the local simulator")
    lint.set_defaults(run=_lint)

    from jira_bridge_cli.status_command import add_status_command

    add_status_command(commands)

    schema = commands.add_parser("schema", help="print the JSON Schema of a published event")
    schema.add_argument("name", choices=sorted(SCHEMAS))
    schema.set_defaults(run=_schema)

    from jira_bridge_cli.ci_commands import add_ci_commands

    add_ci_commands(commands)

    from jira_bridge_cli.dlq_commands import add_dlq_commands

    add_dlq_commands(commands)

    from jira_bridge_cli.secret_commands import add_secret_commands

    add_secret_commands(commands)
    from jira_bridge_cli.webhook_commands import add_webhook_commands

    add_webhook_commands(commands)
    from jira_bridge_cli.workflow_commands import add_workflow_commands

    add_workflow_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import os

    from jira_bridge_cli.errors import describe

    args = build_parser().parse_args(argv)
    run: Command = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the CLI's one boundary: one line and an exit code, never a traceback
        if os.environ.get("JIRA_BRIDGE_DEBUG") and not isinstance(error, ConfigurationError):
            raise
        message, code = describe(error)
        print(f"jira-bridge: {message}", file=sys.stderr)
        return code


# ----- local -------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    text = sys.stdin.read() if str(path) == "-" else _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{path}: not valid JSON (line {error.lineno}: {error.msg})") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"{path}: cannot read ({error.strerror})") from None


def _env_overrides(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return {}
    data = _read_json(path)
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigurationError(
            f"{path}: expected sam's --env-vars shape "
            '{"FunctionLogicalId": {"VAR": "value"}, "Parameters": {"VAR": "value"}}'
        )
    return {name: {k: str(v) for k, v in values.items()} for name, values in data.items()}


def _local_invoke(args: argparse.Namespace) -> int:
    from local_runtime.environment import TEMPLATE, LocalEnvironment

    event = _read_json(args.event)
    with LocalEnvironment(
        template=args.template or TEMPLATE, env_overrides=_env_overrides(args.env_vars), with_api=False
    ) as env:
        if args.logical_id not in env.runner.specs:
            known = ", ".join(sorted(env.runner.specs))
            raise ConfigurationError(f"{args.logical_id!r} is not a function in template.yaml (known: {known})")
        try:
            result = env.runner.invoke(args.logical_id, event)
        except ConfigurationError:
            raise
        except Exception as error:  # noqa: BLE001 - report like `sam local invoke` does
            print(json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}))
            return 1
        env.drain()
    print(json.dumps(result, indent=2, default=str))
    return 0


def _local_start(args: argparse.Namespace) -> int:
    import threading

    from local_runtime.environment import LocalEnvironment

    env = LocalEnvironment(env_overrides=_env_overrides(args.env_vars), with_api=False)
    env.start()
    env.api.start(port=args.port)
    env.with_api = True
    env.configure()
    stop = threading.Event()
    print(f"Jira simulator   {env.jira.base_url}/  (state: {env.jira.base_url}/_sim/state)")
    print(f"AWS (moto)       {env.aws.endpoint_url}")
    for method, path, function in env.api.routes:
        print(f"API {method:<5}      {env.api.url(path)}  -> {function}")
    print(f"incident bus     {env.stack.physical_name(_bus_id(env))}")
    print(local_start_help(env))
    print("Ctrl-C to stop.")
    try:
        while not stop.wait(0.5):
            env.drain()
    finally:
        env.stop()
    return 0


def local_start_help(env: Any) -> str:
    """The credentials every local route and the local AWS accept, and commands ready to paste."""
    from local_runtime.environment import LOCAL_CI_API_KEY, LOCAL_INCIDENT_API_KEY, LOCAL_WEBHOOK_SECRET
    from local_runtime.local_aws import LOCAL_CREDENTIALS

    aws = " ".join(f"{k}={v}" for k, v in {"AWS_ENDPOINT_URL": env.aws.endpoint_url, **LOCAL_CREDENTIALS,
                                           "AWS_REGION": env.stack.region}.items())  # fmt: skip
    approval = env.api.url("/ci/approval/OPS-1")
    return "\n".join([
        "",
        "credentials (local only):",
        f"  CI caller API key      {LOCAL_CI_API_KEY}   (caller local-ci; header X-Api-Key)",
        f"  Jira webhook secret    {LOCAL_WEBHOOK_SECRET}   (X-Hub-Signature: sha256=HMAC of the raw body)",
        f"  incident tool API key  {LOCAL_INCIDENT_API_KEY}   (caller local-tool; POST /incidents)",
        f"  AWS (moto)             export {aws}",
        "try:",
        f"  curl -sS -H 'X-Api-Key: {LOCAL_CI_API_KEY}' {approval}",
        f"  jira-bridge ci approval OPS-1 --url {env.api.url('')} --api-key {LOCAL_CI_API_KEY} --wait --timeout 600",
        "  jira-bridge local put-event events/incident-created.eventbridge.json   (in another shell, with the export)",
        "  jira-bridge dlq list --local ; jira-bridge status INC-1042 --local",
    ])


def _bus_id(env: Any) -> str:
    buses = list(env.stack.of_type("AWS::Events::EventBus"))
    return buses[0] if buses else "default"


def _local_put_event(args: argparse.Namespace) -> int:
    """PutEvents to the bus `local start` runs (AWS_ENDPOINT_URL from its output), as an incident tool would."""
    from jira_bridge_cli.dlq_commands import local_resources

    event = _read_json(args.file)
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        raise ConfigurationError(f"{args.file}: expected an EventBridge event with source, detail-type and detail "
                                 "(see events/incident-created.eventbridge.json)")
    resources = local_resources()
    bus = resources.output("IncidentBusName")
    entry = {"Source": str(event.get("source", "incident.tool")),
             "DetailType": str(event.get("detail-type", "Incident Changed")),
             "Detail": json.dumps(event["detail"]), "EventBusName": bus}  # fmt: skip
    answer = resources.client("events").put_events(Entries=[entry])
    if answer.get("FailedEntryCount"):
        failed = answer["Entries"][0]
        raise ConfigurationError(f"PutEvents refused it: {failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
    print(f"published {entry['DetailType']} ({answer['Entries'][0]['EventId']}) on {bus}")
    return 0


def _local_demo(args: argparse.Namespace) -> int:
    from local_runtime.demo import run_demo

    return run_demo(args.site)


# ----- connection test ---------------------------------------------------------------------------


def _test_connection(args: argparse.Namespace) -> int:
    from jira_bridge_cli.connection import run_connection_test_command

    prefix = args.secret_prefix
    if args.stack and not args.local:
        from jira_bridge_cli.dlq_commands import resources_for
        from jira_bridge_cli.secret_commands import connector_prefix

        use_aws_session(args.region, args.profile)
        prefix = connector_prefix(resources_for(args))
    return run_connection_test_command(
        connector=args.connector,
        projects=args.project,
        secret_prefix=prefix,
        config_dir=args.config_dir,
        local=args.local,
        as_json=args.json,
        site=args.site,
        dc_version=args.dc_version,
        webhook_url=args.webhook_url,
    )


def use_aws_session(region: str | None, profile: str | None) -> None:
    """--region/--profile for the layer's own clients (Powertools parameters, adapters), as the AWS CLI's."""
    import os

    if profile:
        os.environ["AWS_PROFILE"] = profile
    if region:
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region


# ----- runbooks -----------------------------------------------------------------------------------


def _lint(args: argparse.Namespace) -> int:
    from jira_bridge.incidents.lint import lint_file
    from jira_bridge.pagerduty.accounts import FILE_NAME, lint_pagerduty_accounts

    if args.file.name == FILE_NAME:  # the PagerDuty accounts (offline only: nothing to ask Jira)
        accounts_problems = lint_pagerduty_accounts(args.file)
        for line in accounts_problems:
            print(line)
        if accounts_problems:
            print(f"{len(accounts_problems)} problem(s) in {args.file}", file=sys.stderr)
            return 1
        print(f"{args.file}: ok")
        return 0
    if args.local or args.connector:
        from jira_bridge_cli.connection import open_client

        with open_client(args.connector or "default", args.secret_prefix, local=args.local) as client:
            problems = lint_file(args.file, client)
        checked = " (checked against Jira)"
    else:
        problems, checked = lint_file(args.file), ""
    for problem in problems:
        print(problem)
    errors = [p for p in problems if not getattr(p, "warning", False)]
    if errors:
        print(f"{len(errors)} problem(s) in {args.file}", file=sys.stderr)
        return 1
    warned = f", {len(problems)} warning(s)" if problems else ""
    print(f"{args.file}: ok{checked}{warned}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(event_schema(args.name), indent=2))
    return 0


def event_schema(name: str) -> dict[str, Any]:
    import importlib

    module_name, _, class_name = SCHEMAS[name].partition(":")
    model = getattr(importlib.import_module(module_name), class_name)
    schema: dict[str, Any] = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://github.com/jira-bridge/schemas/{name}.schema.json"
    return schema


if __name__ == "__main__":
    sys.exit(main())

"""`jira-bridge connector|ci-caller|incident-caller set|show|list|test`: the stack's secrets without foot-guns.

Writing a secret with `aws secretsmanager put-secret-value` replaces the whole JSON: pasting the
README's example over the connector secret used to drop the ``webhook_secret`` the stack generated,
and every Jira webhook was then a 401. These commands read the secret, merge what you give, keep
everything else (generated values included, unless ``--regenerate-webhook-secret``), validate the
result with the same models the functions use, and only then write it. Secret values come from stdin
(``-``) or a file, never from the command line (argv is visible in ``ps`` and shell history), and
``show`` masks them unless one is asked for by name with ``--reveal KEY``.

Where the secrets are comes from the stack (``--stack NAME [--region R] [--profile P]``, its outputs
``DefaultConnectorSecretName`` and ``CiCallersSecretName``) or the local stack (``--local``, with
``AWS_ENDPOINT_URL`` set to what ``jira-bridge local start`` printed), through the same resolution
as ``jira-bridge dlq``.

Exit codes: 0 done; 1 ``test`` found a problem; 2 bad input; 4 the stack/secret cannot be reached (AWS).
"""

from __future__ import annotations

import argparse
import json
import secrets
import string
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jira_bridge.errors import ConfigurationError
from jira_bridge_cli.dlq_commands import Resources, resources_for, where_arguments
from jira_bridge_cli.errors import aws_guarded

if TYPE_CHECKING:
    from jira_bridge.ci.sites import CiSite
    from jira_bridge.jira.connection_test import CheckResult

# Values shown in clear by `show` (names, URLs, ids); everything else is masked.
PLAIN_KEYS = frozenset({"site_url", "email", "oauth_client_id", "connect_app_key", "cloud_id", "api_gateway_url",
                        "auth_url", "projects"})  # fmt: skip
GENERATED_LENGTH = 64  # as the stack's GenerateSecretString (alphanumeric)


def generate_secret() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(GENERATED_LENGTH))


def mask(value: Any) -> Any:
    """`abcd…(64 chars)` for a secret string: enough to tell two apart, not enough to use."""
    if isinstance(value, dict):
        return {k: (v if k in PLAIN_KEYS else mask(v)) for k, v in value.items()}
    if isinstance(value, str):
        if value.startswith("CHANGE-ME"):
            return value  # a placeholder is not a secret, and seeing it is the point
        return f"****({len(value)} chars)"
    return value


def read_value(source: str, what: str) -> str:
    """A secret value from a file, or stdin for `-`; surrounding whitespace (the newline) dropped."""
    if source == "-":
        if sys.stdin.isatty():
            print(f"{what}: paste it and press Ctrl-D", file=sys.stderr)
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigurationError(f"{what}: cannot read {source} ({error.strerror})") from None
    value = text.strip()
    if not value:
        raise ConfigurationError(f"{what}: {source if source != '-' else 'stdin'} is empty")
    return value


# ----- the secrets' store -------------------------------------------------------------------------


class SecretStore:
    """Read, write, list and create secrets through the stack's Secrets Manager client."""

    def __init__(self, resources: Resources) -> None:
        self._client = resources.client("secretsmanager")

    def read(self, secret_id: str) -> dict[str, Any] | None:
        try:
            text = self._client.get_secret_value(SecretId=secret_id)["SecretString"]
        except self._client.exceptions.ResourceNotFoundException:
            return None
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            raise ConfigurationError(f"{secret_id} is not JSON: fix it with `set ... --replace`") from None
        if not isinstance(payload, dict):
            raise ConfigurationError(f"{secret_id} is not a JSON object")
        return payload

    def write(self, secret_id: str, payload: dict[str, Any], exists: bool, description: str) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        if exists:
            self._client.put_secret_value(SecretId=secret_id, SecretString=text)
        else:
            self._client.create_secret(Name=secret_id, SecretString=text, Description=description)

    def names(self, prefix: str) -> list[str]:
        found: list[str] = []
        for page in self._client.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
            found.extend(s["Name"] for s in page["SecretList"] if s["Name"].startswith(prefix))
        return sorted(found)


def connector_prefix(resources: Resources) -> str:
    default = resources.output("DefaultConnectorSecretName")
    if not default or not default.endswith("/default"):
        raise ConfigurationError("the stack has no DefaultConnectorSecretName output (is it a Jira Bridge stack?)")
    return default.removesuffix("default")


def callers_secret(resources: Resources, output: str = "CiCallersSecretName") -> str:
    """The CI callers (CiCallersSecretName) or incident callers (IncidentCallersSecretName) secret."""
    name = resources.output(output)
    if not name:
        raise ConfigurationError(f"the stack has no {output} output (is it a Jira Bridge stack, deployed lately?)")
    return name


# ----- connector -----------------------------------------------------------------------------------


# What decides which Jira account a connector acts as; changing any of them forgets the recorded account_id.
IDENTITY_KEYS = ("site_url", "email", "api_token", "username", "password", "personal_access_token")


def merge_connector(current: dict[str, Any] | None, args: argparse.Namespace) -> dict[str, Any]:
    merged = dict(current or {})
    for key in ("site_url", "email", "oauth_client_id", "connect_app_key", "cloud_id"):
        value = getattr(args, key, None)
        if value is not None:
            merged[key] = value
    for key in ("api_token", "oauth_client_secret", "connect_shared_secret", "webhook_secret"):
        source = getattr(args, f"{key}_file", None)
        if source is not None:
            merged[key] = read_value(source, f"--{key.replace('_', '-')}-file")
    if any(merged.get(key) != (current or {}).get(key) for key in IDENTITY_KEYS):
        merged.pop("account_id", None)  # another account: `connector test` records the new one
    if merged.get("site_url") != (current or {}).get("site_url") and getattr(args, "cloud_id", None) is None:
        merged.pop("cloud_id", None)  # another site: `connector test` records its cloud id
    for key in args.unset or []:
        if key in {"site_url", "email", "api_token"}:
            raise ConfigurationError(f"--unset {key}: a connector needs site_url, email and api_token")
        merged.pop(key, None)
    if args.regenerate_webhook_secret or not merged.get("webhook_secret"):
        # a new connector gets one as the stack's does; an existing one keeps its own (Jira holds a copy)
        merged["webhook_secret"] = generate_secret()
    return merged


def webhook_secret_fate(current: dict[str, Any] | None, merged: dict[str, Any]) -> str:
    before = (current or {}).get("webhook_secret")
    if before and before == merged["webhook_secret"]:
        return "kept"
    return "replaced" if before else "generated"


def run_connector_set(args: argparse.Namespace) -> int:
    from jira_bridge.connectors.model import parse_connector_secret

    resources = resources_for(args)
    store = SecretStore(resources)
    secret_id = connector_prefix(resources) + args.name
    current = store.read(secret_id)
    if current is None and not args.create:
        raise ConfigurationError(f"connector {args.name!r}: no secret {secret_id}; add --create to create it "
                                 "(then map a project to it in config/connectors.yaml)")
    merged = merge_connector(current, args)
    parse_connector_secret(args.name, secret_id, merged)  # the functions' own validation, before writing
    store.write(secret_id, merged, current is not None, f"Jira Bridge connector {args.name}")
    fate = webhook_secret_fate(current, merged)
    print(f"{secret_id}: written ({', '.join(sorted(merged))}); webhook_secret {fate}")
    if fate != "kept":
        print(f"set the Jira webhook's secret to the new value: jira-bridge connector show {args.name} "
              f"{_where(args)} --reveal webhook_secret", file=sys.stderr)
    return 0


def read_connector(resources: Resources, name: str) -> tuple[str, dict[str, Any]]:
    """The connector's secret id and payload, or a ConfigurationError naming the secret that is missing."""
    secret_id = connector_prefix(resources) + name
    payload = SecretStore(resources).read(secret_id)
    if payload is None:
        raise ConfigurationError(f"connector {name!r}: no secret {secret_id} (`jira-bridge connector list`)")
    return secret_id, payload


def run_connector_show(args: argparse.Namespace) -> int:
    secret_id, payload = read_connector(resources_for(args), args.name)
    return _show(secret_id, payload, args.reveal)


def run_connector_list(args: argparse.Namespace) -> int:
    resources = resources_for(args)
    store = SecretStore(resources)
    prefix = connector_prefix(resources)
    rows = []
    for secret_id in store.names(prefix):
        payload = store.read(secret_id) or {}
        placeholders = sorted(k for k, v in payload.items() if isinstance(v, str) and v.startswith("CHANGE-ME"))
        rows.append({"name": secret_id.removeprefix(prefix), "secret": secret_id, "site_url": payload.get("site_url"),
                     "email": payload.get("email"), "webhook_secret": bool(payload.get("webhook_secret")),
                     "placeholders": placeholders})  # fmt: skip
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        pending = [str(key) for key in row["placeholders"]]  # type: ignore[union-attr]
        state = f"placeholders: {', '.join(pending)}" if pending else "configured"
        webhook = "webhook secret set" if row["webhook_secret"] else "NO webhook secret"
        print(f"{row['name']:<16} {row['site_url']!s:<36} {row['email']!s:<28} {webhook:<18} {state}")
    if not rows:
        print(f"no connector secrets under {prefix}", file=sys.stderr)
    return 0


def run_connector_test(args: argparse.Namespace) -> int:
    from jira_bridge.connectors.model import parse_connector_secret
    from jira_bridge.jira.connection_test import CheckResult, run_connection_test

    resources = resources_for(args)
    secret_id, payload = read_connector(resources, args.name)
    webhook = webhook_secret_check(payload, args.name, _where(args))
    connector = parse_connector_secret(args.name, secret_id, payload)
    from jira_bridge.adapters import build_ci_site

    site = build_ci_site(connector)
    report = run_connection_test(site.platform, args.project, site.software)
    checks: list[CheckResult] = [*report.checks, webhook]
    # What the functions would otherwise ask Jira on a cold start, recorded with the connector
    recorded: dict[str, str] = {}
    if report.account_id and payload.get("account_id") != report.account_id:
        # The bridge's own account, so the functions recognise their own changes without asking Jira
        recorded["account_id"] = report.account_id
        checks.append(CheckResult("account id", "pass", f"recorded account_id {report.account_id} in {secret_id}"))
    if connector.credentials.kind == "cloud" and not payload.get("cloud_id"):
        cloud = cloud_id_check(site, args.name, secret_id, _where(args))
        checks.append(cloud[0])
        if cloud[1]:
            recorded["cloud_id"] = cloud[1]
    if recorded:
        SecretStore(resources).write(secret_id, {**payload, **recorded}, True, f"Jira Bridge connector {args.name}")
    failed = [c for c in checks if c.status == "fail"]
    if args.json:
        print(json.dumps({"connector": args.name, **report.to_dict(), "ok": not failed,
                          "checks": [{"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix}
                                     for c in checks]}))  # fmt: skip
    else:
        verdict = "all checks passed" if not failed else f"{len(failed)} check(s) failed"
        print(f"connector {args.name} ({connector.credentials.site}) as {report.identity}: {verdict}")
        for check in checks:
            print(check.line())
    return 1 if failed else 0


def cloud_id_check(site: CiSite, name: str, secret_id: str, where: str) -> tuple[CheckResult, str | None]:
    """The site's cloud id (the builds/deployments gateway's path), to record in the secret, so that no
    container looks it up: the check, and the id when found."""
    from jira_bridge.jira.connection_test import CheckResult
    from jira_bridge.jira.errors import JiraError

    try:
        cloud_id = site.cloud_id()
    except JiraError as error:
        needed = site.software is not None and site.software.mode == "oauth"
        return CheckResult(
            "cloud id", "fail" if needed else "skip",
            f"not found ({error}); {'builds/deployments need it' if needed else 'only CI reporting uses it'}",
            f"jira-bridge connector set {name} {where} --cloud-id ID ({site.site_url}/_edge/tenant_info shows it "
            "in a browser)"), None  # fmt: skip
    return CheckResult("cloud id", "pass", f"recorded cloud_id {cloud_id} in {secret_id}"), cloud_id


def webhook_secret_check(payload: dict[str, Any], name: str, where: str) -> Any:
    """Jira webhooks to this connector are verified with its webhook_secret: it must be there and real."""
    from jira_bridge.jira.connection_test import CheckResult

    value = payload.get("webhook_secret")
    fix = (f"jira-bridge connector set {name} {where} --regenerate-webhook-secret, then paste "
           f"`jira-bridge connector show {name} {where} --reveal webhook_secret` into the Jira webhook's Secret")
    if not isinstance(value, str) or not value:
        return CheckResult("webhook secret", "fail", "the connector has no webhook_secret: every Jira webhook "
                           "is answered 401", fix)  # fmt: skip
    if value.startswith("CHANGE-ME") or len(value) < 16:
        return CheckResult("webhook secret", "fail", "webhook_secret is a placeholder or shorter than 16 characters",
                           fix)  # fmt: skip
    return CheckResult("webhook secret", "pass",
                       f"present ({len(value)} characters); Jira's copy cannot be read back, so a 401 in the "
                       "access log means the Jira webhook's Secret differs")


# ----- CI callers ----------------------------------------------------------------------------------


def run_caller_set(args: argparse.Namespace) -> int:
    from jira_bridge.ci.callers import parse_callers_secret

    resources = resources_for(args)
    store = SecretStore(resources)
    secret_id = callers_secret(resources, args.callers_output)
    current = store.read(secret_id)
    if current is None:
        raise ConfigurationError(f"no secret {secret_id}: deploy the stack first")
    callers = dict(current.get("callers") or {})
    entry = dict(callers.get(args.name) or {})
    generated = None
    if args.api_key_file:
        entry = {**{k: v for k, v in entry.items() if k != "hmac_secret"},
                 "api_key": read_value(args.api_key_file, "--api-key-file")}  # fmt: skip
    elif args.hmac_secret_file:
        entry = {**{k: v for k, v in entry.items() if k != "api_key"},
                 "hmac_secret": read_value(args.hmac_secret_file, "--hmac-secret-file")}  # fmt: skip
    elif args.generate:
        key = "api_key" if args.generate == "api-key" else "hmac_secret"
        generated = generate_secret()
        entry = {**{k: v for k, v in entry.items() if k not in {"api_key", "hmac_secret"}}, key: generated}
    elif not entry:
        raise ConfigurationError(f"ci-caller {args.name!r} is new: give --api-key-file, --hmac-secret-file "
                                 "or --generate api-key|hmac")
    if args.project:
        entry["projects"] = [p.upper() for p in args.project]
    if args.all_projects:
        entry.pop("projects", None)
    callers[args.name] = entry
    merged = {**current, "callers": callers}  # github_webhook_secret and every other caller kept
    parse_callers_secret(secret_id, merged)
    store.write(secret_id, merged, True, "")
    kept = " and github_webhook_secret" if "github_webhook_secret" in current else ""
    print(f"{secret_id}: caller {args.name} written ({', '.join(sorted(entry))}); "
          f"{len(callers) - 1} other caller(s){kept} kept")
    if generated:
        print(generated)  # the one time it is printed unasked: the CI system needs it
    return 0


def run_caller_show(args: argparse.Namespace) -> int:
    resources = resources_for(args)
    secret_id = callers_secret(resources, args.callers_output)
    payload = SecretStore(resources).read(secret_id) or {}
    if args.name is None:
        return _show(secret_id, payload, args.reveal)
    entry = (payload.get("callers") or {}).get(args.name)
    if entry is None:
        raise ConfigurationError(f"no CI caller {args.name!r} in {secret_id} (`jira-bridge ci-caller list`)")
    return _show(f"{secret_id} caller {args.name}", entry, args.reveal)


def run_caller_list(args: argparse.Namespace) -> int:
    resources = resources_for(args)
    secret_id = callers_secret(resources, args.callers_output)
    payload = SecretStore(resources).read(secret_id) or {}
    rows = [{"name": name, "auth": "api_key" if "api_key" in entry else "hmac_secret",
             "projects": entry.get("projects") or "all"}
            for name, entry in sorted((payload.get("callers") or {}).items())]  # fmt: skip
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            projects = row["projects"] if isinstance(row["projects"], str) else ",".join(row["projects"])
            print(f"{row['name']:<24} {row['auth']:<12} projects: {projects}")
        if args.callers_output == "CiCallersSecretName":
            print(f"github_webhook_secret: {'set' if payload.get('github_webhook_secret') else 'MISSING'}",
                  file=sys.stderr)
    return 0


def run_caller_test(args: argparse.Namespace) -> int:
    from jira_bridge.ci.callers import parse_callers_secret

    resources = resources_for(args)
    secret_id = callers_secret(resources, args.callers_output)
    payload = SecretStore(resources).read(secret_id) or {}
    problems = []
    try:
        parsed = parse_callers_secret(secret_id, payload)
    except ConfigurationError as error:
        problems.append(str(error))
        parsed = None
    if parsed is not None:
        if args.name not in parsed.callers:
            problems.append(f"no caller {args.name!r}: add it with `jira-bridge ci-caller set {args.name} ...`")
        if parsed.github_webhook_secret is None and args.callers_output == "CiCallersSecretName":
            problems.append("github_webhook_secret is missing: GitHub webhooks without ?caller= are all 401")
    for problem in problems:
        print(f"FAIL {problem}")
    if not problems:
        print(f"PASS caller {args.name}: credentials valid, projects {parsed.callers[args.name].projects or 'all'}"  # type: ignore[union-attr]
              )
    return 1 if problems else 0


# ----- shared ----------------------------------------------------------------------------------------


def _show(title: str, payload: dict[str, Any], reveal: str | None) -> int:
    if reveal:
        if reveal not in payload:
            raise ConfigurationError(f"{title} has no {reveal!r} (keys: {', '.join(sorted(payload))})")
        print(payload[reveal] if isinstance(payload[reveal], str) else json.dumps(payload[reveal]))
        return 0
    print(f"{title}:")
    print(json.dumps(mask(payload), indent=2))
    return 0


def _where(args: argparse.Namespace) -> str:
    if args.local:
        return "--local"
    return " ".join(f"--{k} {v}" for k in ("stack", "region", "profile") if (v := getattr(args, k, None)))


def add_secret_commands(commands: Any) -> None:
    connector = commands.add_parser("connector", help="set, show, list and test connector secrets (merged, masked)",
                                    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = connector.add_subparsers(dest="connector_command", required=True)

    # allow_abbrev=False: `--api-token VALUE` must be an error, not an abbreviation of --api-token-file
    set_ = verbs.add_parser("set", help="merge values into a connector secret (keeps webhook_secret)",
                            allow_abbrev=False)
    set_.add_argument("name", help="connector name (default = the stack's organisation-level connector)")
    set_.add_argument("--site-url", dest="site_url", help="https://ORG.atlassian.net")
    set_.add_argument("--email", help="the Jira account the bridge acts as")
    set_.add_argument("--api-token-file", metavar="FILE|-", help="that account's API token, from a file or stdin")
    set_.add_argument("--oauth-client-id", dest="oauth_client_id")
    set_.add_argument("--oauth-client-secret-file", metavar="FILE|-")
    set_.add_argument("--connect-app-key", dest="connect_app_key")
    set_.add_argument("--connect-shared-secret-file", metavar="FILE|-")
    set_.add_argument("--cloud-id", dest="cloud_id")
    set_.add_argument("--webhook-secret-file", metavar="FILE|-", help="use this webhook secret instead of the kept one")
    set_.add_argument("--regenerate-webhook-secret", action="store_true",
                      help="replace the webhook secret with a new random one (update Jira's webhook too)")
    set_.add_argument("--unset", action="append", metavar="KEY", help="remove an optional key (repeatable)")
    set_.add_argument("--create", action="store_true", help="create the secret if it does not exist yet")
    set_.set_defaults(run=aws_guarded(run_connector_set))

    show = verbs.add_parser("show", help="a connector secret, values masked")
    show.add_argument("name")
    show.add_argument("--reveal", metavar="KEY", help="print only this key's value, in clear (e.g. webhook_secret)")
    show.set_defaults(run=aws_guarded(run_connector_show))

    listing = verbs.add_parser("list", help="every connector secret of the stack: site, account, state")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=aws_guarded(run_connector_list))

    test = verbs.add_parser("test", help="credentials, permissions, projects and the webhook secret")
    test.add_argument("name")
    test.add_argument("--project", action="append", default=[], help="Jira project key to check (repeatable)")
    test.add_argument("--json", action="store_true")
    test.set_defaults(run=aws_guarded(run_connector_test))
    for parser in (set_, show, listing, test):
        where_arguments(parser)
    _add_caller_commands(commands, "ci-caller", "CiCallersSecretName",
                         "CI callers (/ci/notify, /ci/approval, /ci/issues)")
    _add_caller_commands(commands, "incident-caller", "IncidentCallersSecretName", "incident tools (POST /incidents)")


def _add_caller_commands(commands: Any, command: str, output: str, who: str) -> None:
    caller = commands.add_parser(command, help=f"set, show, list and test {who} (merged, masked)",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    caller.set_defaults(callers_output=output)
    cverbs = caller.add_subparsers(dest="caller_command", required=True)
    cset = cverbs.add_parser("set", help="add or change one caller; every other caller and the GitHub secret kept",
                             allow_abbrev=False)
    cset.add_argument("name")
    cset.set_defaults(callers_output=output)
    credentials = cset.add_mutually_exclusive_group()
    credentials.add_argument("--api-key-file", metavar="FILE|-")
    credentials.add_argument("--hmac-secret-file", metavar="FILE|-")
    credentials.add_argument("--generate", choices=["api-key", "hmac"], help="generate one and print it once")
    scope = cset.add_mutually_exclusive_group()
    scope.add_argument("--project", action="append", help="only this Jira project (repeatable)")
    scope.add_argument("--all-projects", action="store_true", help="drop the project restriction")
    cset.set_defaults(run=aws_guarded(run_caller_set))
    cshow = cverbs.add_parser("show", help="the callers secret, or one caller, masked")
    cshow.add_argument("name", nargs="?")
    cshow.add_argument("--reveal", metavar="KEY", help="print only this key's value, in clear")
    cshow.set_defaults(run=aws_guarded(run_caller_show))
    clist = cverbs.add_parser("list", help="every caller: how it authenticates, which projects")
    clist.add_argument("--json", action="store_true")
    clist.set_defaults(run=aws_guarded(run_caller_list))
    ctest = cverbs.add_parser("test", help="the callers secret is valid and has this caller")
    ctest.add_argument("name")
    ctest.set_defaults(run=aws_guarded(run_caller_test))
    for parser in (cset, cshow, clist, ctest):
        where_arguments(parser)

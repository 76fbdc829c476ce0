"""`jira-bridge webhooks check|register`: the "Check webhooks" button, for Cloud and both Data Center APIs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jira_bridge.adapters import jira_client_for
from jira_bridge.connectors.model import Connector
from jira_bridge.jira.admin_webhooks import check_webhooks, webhook_api
from jira_bridge.jira.errors import JiraError
from jira_bridge_cli.connection import local_connector, open_connector

LOCAL_URL = "http://127.0.0.1:3000/webhooks/jira"


def add_webhook_commands(commands: Any) -> None:
    webhooks = commands.add_parser("webhooks", help="check or register the Jira admin webhook this stack needs")
    actions = webhooks.add_subparsers(dest="webhooks_command", required=True)
    for name, run, text in (("check", _check, "does a webhook send this stack its events, signed?"),
                            ("register", _register, "create the webhook (needs a Jira administrator)")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--connector", default="default", help="connector name (default: default)")
        action.add_argument("--url", help="this stack's webhook URL (stack output JiraWebhookUrl), "
                                          "?connector=NAME included for a non-default connector")
        action.add_argument("--secret-prefix", help="connector secret prefix, e.g. jira-bridge/STACK/connectors/")
        action.add_argument("--local", action="store_true", help="against a fresh local simulator")
        action.add_argument("--site", choices=["cloud", "datacenter"], default="cloud", help="local simulator kind")
        action.add_argument("--dc-version", default="10.3.19", help="local Data Center version (default 10.3.19)")
        action.set_defaults(run=run)


@contextmanager
def _connector(args: argparse.Namespace) -> Iterator[Connector]:
    if args.local:
        with local_connector(args.site, args.dc_version) as connector:
            yield connector
        return
    yield open_connector(args.connector, args.secret_prefix)


def _url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url)
    if args.local:
        return LOCAL_URL
    print("jira-bridge: name the stack's webhook URL with --url (stack output JiraWebhookUrl)", file=sys.stderr)
    raise SystemExit(2)


def print_webhook_check(connector: Connector, url: str) -> int:
    client = jira_client_for(connector)
    credentials = connector.credentials
    try:
        report = check_webhooks(client, url, has_secret=credentials.webhook_secret is not None,
                                webhook_auth=credentials.webhook_auth, connector=connector.name)
    except JiraError as error:
        print(f"connector {connector.name}: cannot list the site's webhooks: {error}")
        print("fix: the connector's account must be a Jira administrator to read admin webhooks "
              "(or check them in Jira: System > WebHooks)")
        return 1
    print(f"connector {connector.name} ({credentials.site})")
    print(report.to_text())
    return 0 if report.ok else 1


def _check(args: argparse.Namespace) -> int:
    with _connector(args) as connector:
        return print_webhook_check(connector, _url(args))


def _register(args: argparse.Namespace) -> int:
    url = _url(args)
    with _connector(args) as connector:
        client = jira_client_for(connector)
        secret = connector.credentials.webhook_secret
        try:
            api = webhook_api(client)
            created = api.register(client, url, secret.get_secret_value() if secret and api.signs else None)
        except JiraError as error:
            print(f"connector {connector.name}: Jira refused to create the webhook: {error}")
            print("fix: a Jira administrator must create it (System > WebHooks), or run this as one")
            return 1
        print(f"created webhook {created.id} '{created.name}' -> {created.url} ({api.describe})")
        return print_webhook_check(connector, url)

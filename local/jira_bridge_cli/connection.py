"""Connectors from the CLI: read from Secrets Manager (the deployed stack) or from the local simulator."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from jira_bridge.adapters import jira_client_for, software_client_for
from jira_bridge.connectors.model import Connector, parse_connector_secret
from jira_bridge.connectors.routing import load_routing
from jira_bridge.connectors.secrets import SecretsManagerConnectors
from jira_bridge.errors import ConfigurationError
from jira_bridge.jira.client import JiraClient
from jira_bridge.jira.connection_test import run_connection_test

LocalSite = Literal["cloud", "datacenter"]


def parse_version(text: str) -> tuple[int, int, int]:
    """``10.3.19`` -> (10, 3, 19), with a clear error for anything else."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ConfigurationError(f"--dc-version must look like 10.3.19, got {text!r}")
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return numbers[0], numbers[1], numbers[2]


@contextmanager
def local_connector(site: LocalSite = "cloud", dc_version: str = "10.3.19") -> Iterator[Connector]:
    """A connector pointing at a freshly started simulator (a Cloud site, or a Data Center site of
    ``dc_version``), as the local stack configures it."""
    from jira_sim import JiraSimulator
    from local_runtime.environment import CONTRACTS_DIR, simulator_connector_secret

    with JiraSimulator(contracts_dir=CONTRACTS_DIR if CONTRACTS_DIR.exists() else None, flavour=site,
                       dc_version=parse_version(dc_version)) as simulator:
        yield parse_connector_secret("default", "(local simulator)", simulator_connector_secret(simulator))


def _secrets(prefix: str | None) -> SecretsManagerConnectors:
    if not prefix:
        raise ConfigurationError(
            "name the connector secrets: --secret-prefix jira-bridge/<stack>/connectors/ (or use --local)"
        )
    return SecretsManagerConnectors(prefix, max_age=0)


def open_connector(name: str, prefix: str | None) -> Connector:
    """The deployed connector `name`, read from its secret."""
    return _secrets(prefix).get(name)


@contextmanager
def open_client(name: str, prefix: str | None, local: bool) -> Iterator[JiraClient]:
    """A client for connector `name`: the deployed secret, or the local simulator's account."""
    if local:
        with local_connector() as connector:
            yield jira_client_for(connector)
        return
    yield jira_client_for(_secrets(prefix).get(name))


def run_connection_test_command(
    connector: str | None, projects: list[str], secret_prefix: str | None, config_dir: Path, local: bool,
    as_json: bool = False, site: LocalSite = "cloud", dc_version: str = "10.3.19", webhook_url: str | None = None,
) -> int:
    routing = load_routing(config_dir / "connectors.yaml")
    if local:
        with local_connector(site, dc_version) as local_one:
            return _report([local_one], projects or ["OPS"], as_json, webhook_url)
    source = _secrets(secret_prefix)
    names = [connector] if connector else sorted(routing.connector_names())
    connectors = [source.get(name) for name in names]
    return _report(connectors, projects, as_json, webhook_url)


def _report(connectors: list[Connector], projects: list[str], as_json: bool, webhook_url: str | None = None) -> int:
    from dataclasses import replace

    from jira_bridge_cli.secret_commands import webhook_secret_check

    failed = False
    for connector in connectors:
        client = jira_client_for(connector)
        report = run_connection_test(client, projects, software_client_for(connector, client))
        # Jira webhooks to this connector are verified with its webhook_secret: a flow needs it too
        webhook = connector.credentials.webhook_secret
        check = webhook_secret_check({"webhook_secret": webhook.get_secret_value() if webhook else None},
                                     connector.name, "--stack STACK")
        report = replace(report, checks=(*report.checks, check))
        failed = failed or not report.ok
        if as_json:
            print(json.dumps({"connector": connector.name, **report.to_dict()}))
        else:
            print(f"connector {connector.name} ({connector.credentials.site})")
            print(report.to_text())
        if webhook_url and not as_json:
            from jira_bridge_cli.webhook_commands import print_webhook_check

            failed = print_webhook_check(connector, webhook_url) != 0 or failed
    if failed:
        print("some checks failed: apply the fixes above and run again", file=sys.stderr)
    return 1 if failed else 0

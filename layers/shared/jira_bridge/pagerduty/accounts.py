"""Several PagerDuty accounts in one stack: `pagerduty.yaml` (in ConfigLayer) and one secret per account.

The stack's own secret, `jira-bridge/<stack>/pagerduty`, is the ``default`` account: a stack with no
`pagerduty.yaml` (or an empty ``accounts``) works exactly as a single-account stack always did. Each
further account has its own secret, `jira-bridge/<stack>/pagerduty/<account>` (same JSON as the
default's), and its own webhook URL, `POST /webhooks/pagerduty/<account>`, verified with that
account's `webhook_secrets` only.

Which account an incident belongs to:
* a V3 webhook: the account its URL names (its signature proves it);
* PagerDuty's EventBridge integration: the account whose ``event_sources`` lists the event's partner
  source, else the one whose ``services`` lists the incident's service id, else ``default``;
* a Jira -> PagerDuty write (status, priority, assignee, note): the account the incident came from,
  recorded on its link; a create from Jira: the account whose ``services`` lists the request's
  ``service``, else ``default``.

Example::

    accounts:
      emea:
        services: [PABC123, PDEF456]            # PagerDuty service ids
        event_sources: [aws.partner/pagerduty.com/acme-emea-jira]
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jira_bridge.config_files import YamlDocument, explain, read_yaml
from jira_bridge.errors import ConfigurationError
from jira_bridge.incidents.events import INCIDENT_ACCOUNT_FIELD, IncidentChanged

DEFAULT_ACCOUNT = "default"
FILE_NAME = "pagerduty.yaml"
# Lower case, digits and '-', 1..32: safe in a URL path segment, a secret name and a log line as is.
ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_SERVICE_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_EVENT_SOURCE = re.compile(r"^aws\.partner/pagerduty\.com/[A-Za-z0-9._/-]+$")


def is_account_name(name: str) -> bool:
    return bool(ACCOUNT_NAME.match(name))


def account_secret_name(default_secret_name: str, account: str) -> str:
    """`jira-bridge/<stack>/pagerduty` for ``default``, `jira-bridge/<stack>/pagerduty/<account>` otherwise."""
    if not is_account_name(account):
        raise ValueError(f"{account!r} is not a PagerDuty account name (a-z, 0-9, '-', at most 32)")
    return default_secret_name if account == DEFAULT_ACCOUNT else f"{default_secret_name}/{account}"


class PagerDutyAccount(BaseModel):
    # defer_build: the validator is built by the first validation (nested models inside it), not at import
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    services: list[str] = Field(default_factory=list, description="PagerDuty service ids (e.g. PABC123)")
    event_sources: list[str] = Field(
        default_factory=list, description="partner event sources of PagerDuty's EventBridge integration")

    @field_validator("services")
    @classmethod
    def _service_ids(cls, values: list[str]) -> list[str]:
        bad = [value for value in values if not _SERVICE_ID.match(value)]
        if bad:
            raise ValueError(f"not PagerDuty service ids (letters and digits, e.g. PABC123): {', '.join(bad)}")
        return values

    @field_validator("event_sources")
    @classmethod
    def _sources(cls, values: list[str]) -> list[str]:
        bad = [value for value in values if not _EVENT_SOURCE.match(value)]
        if bad:
            raise ValueError(f"not PagerDuty partner event sources (aws.partner/pagerduty.com/...): {', '.join(bad)}")
        return values


class PagerDutyAccounts(BaseModel):
    """`pagerduty.yaml`. Build it with :func:`load_pagerduty_accounts`, which also refuses a bad account
    name and a service or event source routed to two accounts (naming the lines)."""

    # defer_build: the validator is built by the first validation (nested models inside it), not at import
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    accounts: dict[str, PagerDutyAccount] = Field(default_factory=dict)

    def names(self) -> set[str]:
        return {DEFAULT_ACCOUNT, *self.accounts}

    def knows(self, name: str) -> bool:
        return name == DEFAULT_ACCOUNT or name in self.accounts

    def for_service(self, service_id: str | None) -> str | None:
        return next((name for name, account in self.accounts.items() if service_id in account.services), None)

    def for_event_source(self, source: str | None) -> str | None:
        return next((name for name, account in self.accounts.items() if source in account.event_sources), None)

    def for_eventbridge(self, source: str | None, service_id: str | None) -> str:
        """The account of an EventBridge-integration event: by partner source, then by service."""
        return self.for_event_source(source) or self.for_service(service_id) or DEFAULT_ACCOUNT


def _routes(accounts: Mapping[str, Any]) -> Iterator[tuple[str, str, int, str]]:
    """(kind, account, index, value) for every service and event source in the raw document."""
    for name, account in accounts.items():
        if isinstance(account, Mapping):
            for kind in ("services", "event_sources"):
                values = account.get(kind)
                for index, value in enumerate(values if isinstance(values, list) else []):
                    yield kind, str(name), index, str(value)


def document_problems(document: YamlDocument) -> list[str]:
    """`file:line` for each bad account name, and each service id or event source listed under two
    accounts (or twice): what the model alone cannot place on a line."""
    accounts = document.data.get("accounts") if isinstance(document.data, Mapping) else None
    if not isinstance(accounts, Mapping):
        return []
    problems = [
        f"{document.where(('accounts', name))}: accounts.{name}: {name!r} is not an account name (a-z, 0-9 and "
        "'-', at most 32 characters: it is part of a URL and a secret name)"
        for name in accounts if not is_account_name(str(name))]
    first: dict[tuple[str, str], tuple[str, int]] = {}
    for kind, name, index, value in _routes(accounts):
        where = (kind, value)
        if where not in first:
            first[where] = (name, index)
            continue
        other, other_index = first[where]
        other_line = document.line_of(("accounts", other, kind, other_index))
        what = "service" if kind == "services" else "event source"
        problems.append(
            f"{document.where(('accounts', name, kind, index))}: accounts.{name}.{kind}[{index}]: {what} {value} is "
            f"already routed to account {other!r} (line {other_line}); an incident belongs to one account: "
            "keep it under one")
    return problems


def parse_accounts_document(document: YamlDocument) -> PagerDutyAccounts:
    problems: list[str] = []
    accounts = PagerDutyAccounts()
    try:
        accounts = PagerDutyAccounts.model_validate(document.data)
    except ValidationError as error:
        problems.extend(explain(document, error))
    problems.extend(document_problems(document))
    if problems:
        raise ConfigurationError("\n".join(problems))
    return accounts


def load_pagerduty_accounts(path: Path) -> PagerDutyAccounts:
    """Read `pagerduty.yaml`; a missing file means the ``default`` account only."""
    if not path.exists():
        return PagerDutyAccounts()
    return parse_accounts_document(read_yaml(path))


def lint_pagerduty_accounts(path: Path) -> list[str]:
    """`jira-bridge lint config/pagerduty.yaml`: every problem as `file:line: ...`; [] when usable."""
    try:
        load_pagerduty_accounts(path)
    except ConfigurationError as error:
        return str(error).splitlines()
    return []


def with_account(event: IncidentChanged, account: str) -> IncidentChanged:
    """The event marked as coming from ``account`` (not marked for ``default``: unchanged events)."""
    if account == DEFAULT_ACCOUNT:
        return event
    incident = event.incident.model_copy(
        update={"custom_fields": {**event.incident.custom_fields, INCIDENT_ACCOUNT_FIELD: account}})
    return event.model_copy(update={"incident": incident})


def service_id_of(event: IncidentChanged) -> str | None:
    value = event.incident.custom_fields.get("service_id")
    return str(value) if value else None

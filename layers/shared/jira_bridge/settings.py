"""Validated environment settings, one model per function, failing at cold start with a clear message.

Read through :func:`load_settings`, which caches per model so a warm container parses the environment
once. Nothing here runs at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jira_bridge.errors import ConfigurationError


class BaseSettings(BaseModel):
    """What every Jira Bridge function needs; template.yaml sets all of it."""

    # defer_build: a function validates one of these models; building the other six validators at import
    # cost ~6 ms of every cold start (measured in fresh interpreters, bench/cold_import.py).
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)

    service_name: str = Field(alias="POWERTOOLS_SERVICE_NAME", min_length=1)
    link_table_name: str = Field(alias="LINK_TABLE_NAME", min_length=3, max_length=255)
    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=3, max_length=255)
    connector_secret_prefix: str = Field(alias="CONNECTOR_SECRET_PREFIX", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    config_dir: Path = Field(alias="CONFIG_DIR", default=Path("/opt"))
    secret_cache_seconds: int = Field(alias="SECRET_CACHE_SECONDS", default=300, ge=0, le=86_400)
    # How many invocations of this function may call one Jira site at once; each gets that fraction
    # of the site's requests_per_second (connectors.yaml). Unset: the function is not paced.
    jira_request_budget_share: int | None = Field(alias="JIRA_REQUEST_BUDGET_SHARE", default=None, ge=1)


class IncidentEventsSettings(BaseSettings):
    """The router and the incident -> Jira worker: the FIFO queue (one group per incident) and its DLQ."""

    incident_events_queue_url: str = Field(alias="INCIDENT_EVENTS_QUEUE_URL", min_length=1)
    dead_letter_queue_url: str = Field(alias="INCIDENT_EVENTS_DLQ_URL", min_length=1)


class JiraWebhookSettings(BaseSettings):
    """The webhook receiver: verifies, then hands the delivery to the changes queue."""

    changes_queue_url: str = Field(alias="JIRA_CHANGES_QUEUE_URL", min_length=1)


class JiraChangesSettings(BaseSettings):
    """The Jira -> incident worker (and the reconciliation, which replays through it)."""

    delivery_dedup_seconds: int = Field(alias="DELIVERY_DEDUP_SECONDS", default=7200, ge=60)
    # The queue the worker consumes (to back off a failed delivery); unset for the reconciliation.
    changes_queue_url: str | None = Field(alias="JIRA_CHANGES_QUEUE_URL", default=None)
    pagerduty_secret_name: str | None = Field(alias="PAGERDUTY_SECRET_NAME", default=None)
    # Unsigned Data Center webhooks (webhook_auth: hint): at most one re-read per issue this often.
    hint_min_interval_seconds: int = Field(alias="JIRA_HINT_MIN_INTERVAL_SECONDS", default=30, ge=1, le=900)


class PagerDutyWebhookSettings(BaseSettings):
    """PagerDuty V3 webhooks in, canonical "Incident Changed" events out."""

    pagerduty_secret_name: str = Field(alias="PAGERDUTY_SECRET_NAME", min_length=1)


class IncidentWebhookSettings(BaseSettings):
    """POST /incidents: authenticated incident tools in, "Incident Changed" on the bus out."""

    incident_callers_secret_name: str = Field(alias="INCIDENT_CALLERS_SECRET_NAME", min_length=1)


class CiNotifySettings(BaseSettings):
    """The CI -> Jira function."""

    ci_callers_secret_name: str = Field(alias="CI_CALLERS_SECRET_NAME", min_length=1)


def describe_validation_error(error: ValidationError, source: str) -> str:
    """One readable line per problem, naming the variable (alias) rather than the Python field."""
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]) or "(root)"
        if item["type"] == "missing":
            problems.append(f"{name} is missing")
        else:
            problems.append(f"{name}: {item['msg']}")
    return f"{source}: " + "; ".join(problems)


def parse_settings[S: BaseSettings](model: type[S], environ: Mapping[str, str]) -> S:
    try:
        return model.model_validate(dict(environ))
    except ValidationError as error:
        raise ConfigurationError(
            describe_validation_error(error, f"invalid environment for {model.__name__}")
            + " (template.yaml sets these; for local runs pass `--env-vars FILE`)"
        ) from None


@cache
def load_settings[S: BaseSettings](model: type[S]) -> S:
    """Settings of this container, parsed once."""
    return parse_settings(model, os.environ)

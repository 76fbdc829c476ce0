"""The real adapters, built on first use and cached for the container's life.

Handlers ask these factories; domain code receives what they return, so tests can hand the domain
in-memory fakes instead. boto3 is imported here lazily: a cold start pays for it only on first use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from jira_bridge.errors import ConfigurationError
from jira_bridge.settings import (
    BaseSettings,
    CiNotifySettings,
    IncidentEventsSettings,
    IncidentWebhookSettings,
    JiraChangesSettings,
    load_settings,
)

# Adapters and their dependencies (requests, boto3, YAML) load on first use, not at cold import.
if TYPE_CHECKING:
    from jira_bridge.ci.approval import ApprovalGate
    from jira_bridge.ci.callers import SecretsManagerCallers
    from jira_bridge.ci.config import CiConfig
    from jira_bridge.ci.delivery import CiDelivery
    from jira_bridge.ci.issue_steps import IssueSteps
    from jira_bridge.ci.redelivery import IdempotentOnce
    from jira_bridge.ci.reporting import CiReporter
    from jira_bridge.ci.sites import CiSite
    from jira_bridge.connectors.model import Connector
    from jira_bridge.connectors.registry import ConnectorRegistry
    from jira_bridge.incidents.delivery import IncidentQueue
    from jira_bridge.incidents.metadata_store import DynamoMetadataStore, MetadataStore
    from jira_bridge.incidents.runbooks import RunbookSet
    from jira_bridge.incidents.sync import IncidentSync, JiraSite
    from jira_bridge.jira.client import JiraClient
    from jira_bridge.jira.request_budget import RequestBudget
    from jira_bridge.jira.software import JiraSoftwareClient
    from jira_bridge.jira.transport import RequestCounter
    from jira_bridge.links.store import DynamoLinkStore
    from jira_bridge.pagerduty.accounts import PagerDutyAccounts
    from jira_bridge.publishing import UpdatePublisher
    from jira_bridge.webhooks.hints import HintGate
    from jira_bridge.webhooks.jira_changes import JiraChangeSync
    from jira_bridge.webhooks.jira_rules import JiraRuleEngine
    from jira_bridge.webhooks.reconcile import Reconciler


_CLIENT_OVERRIDES: dict[str, Any] = {}
_REAL_CLOCK: list[Any] = [time.monotonic, time.sleep, time.time]  # monotonic, sleep, epoch seconds
_CLOCK: list[Any] = list(_REAL_CLOCK)


def aws_client(service: str) -> Any:
    """The boto3 client of `service` (one per container), or the stand-in a local runtime installed."""
    override = _CLIENT_OVERRIDES.get(service)
    return override if override is not None else _boto3_client(service)


@cache
def _boto3_client(service: str) -> Any:
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]


def get_secret_json(secret_id: str, max_age: int) -> Any:
    """A JSON secret through Powertools' Secrets Manager provider: cached ``max_age`` seconds per container,
    Powertools' errors (``GetParameterError``, ``TransformParameterError``).

    The provider is given the container's shared client: left to build its own, it makes a second boto3
    session, which loads botocore's endpoint rules and service model again (~50 ms of every cold start
    that reads a secret). It is kept with Powertools' default providers, so ``parameters.clear_caches()``
    and :func:`reset` drop it and its cache (a new stack never gets an answer read through an old client).

    One provider per function (``AWS_LAMBDA_FUNCTION_NAME``): in Lambda a process runs a single function,
    so there is one; the local runner runs every function in one process, where each must keep its own
    cache as its containers do (a secret the Jira webhook function read and cached is not what CI notify
    serves after an operator replaced it).
    """
    import os

    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    key = f"secrets:{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', '')}"
    provider = DEFAULT_PROVIDERS.get(key)
    if provider is None:
        provider = DEFAULT_PROVIDERS[key] = SecretsProvider(boto3_client=aws_client("secretsmanager"))
    return provider.get(secret_id, transform="json", max_age=max_age)


def override_clock(monotonic: Callable[[], float], sleep: Callable[[float], None],
                   wall: Callable[[], float] = time.time) -> None:
    """Local runtimes only: Jira transports (retry waits), request budgets and `now()` (``wall``: epoch
    seconds) keep time on this clock (a simulated one) until `reset`."""
    _CLOCK[:] = [monotonic, sleep, wall]


def now() -> float:
    """Epoch seconds: the real time, or a local runtime's simulated one (`override_clock`)."""
    return float(_CLOCK[2]())


def override_aws_client(service: str, client: Any) -> None:
    """Local runtimes and tests only: `aws_client(service)` answers `client` (e.g. the local SQS model,
    which keeps time on a simulated clock) until `reset`. Never called by handlers or the domain."""
    _CLIENT_OVERRIDES[service] = client


def incident_queue(settings: IncidentEventsSettings) -> IncidentQueue:
    """The incident events queue and its DLQ (a small value object over the cached SQS client)."""
    from jira_bridge.incidents.delivery import IncidentQueue

    return IncidentQueue(aws_client("sqs"), settings.incident_events_queue_url, settings.dead_letter_queue_url)


@cache
def link_store(settings: BaseSettings) -> DynamoLinkStore:
    from jira_bridge.links.store import DynamoLinkStore

    return DynamoLinkStore(settings.link_table_name, lambda: aws_client("dynamodb"))


@cache
def metadata_store(settings: BaseSettings) -> DynamoMetadataStore:
    """Site metadata every container shares (items with a TTL in the link table)."""
    from jira_bridge.incidents.metadata_store import DynamoMetadataStore

    return DynamoMetadataStore(settings.link_table_name, lambda: aws_client("dynamodb"))


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


@cache
def connector_registry(settings: BaseSettings) -> ConnectorRegistry:
    from jira_bridge.connectors.registry import ConnectorRegistry
    from jira_bridge.connectors.routing import load_routing
    from jira_bridge.connectors.secrets import SecretsManagerConnectors

    routing = load_routing(settings.config_dir / "connectors.yaml")
    source = SecretsManagerConnectors(settings.connector_secret_prefix, max_age=settings.secret_cache_seconds)
    return ConnectorRegistry(routing, source)


@cache
def idempotency_store(settings: BaseSettings) -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name, boto3_client=aws_client("dynamodb"))




# ----- Jira ------------------------------------------------------------------------------------------

_SITES: dict[tuple[str, str], JiraSite] = {}


_FINGERPRINTS: dict[int, tuple[BaseModel, str]] = {}  # id(secret model) -> (the model, its fingerprint)


def _fingerprint(secret: BaseModel) -> str:
    """Changes when a secret is rotated, so a new token gets a new session; never logged.

    Over the revealed values: a dump of a model masks its SecretStr fields, which would hide exactly
    the rotation this is for. Computed once per model object (a cached secret is the same object from
    one event to the next; a rotated one is a new object).
    """
    known = _FINGERPRINTS.get(id(secret))
    if known is not None and known[0] is secret:
        return known[1]
    if len(_FINGERPRINTS) >= 64:  # rotated secrets' old models: forget them all now and then
        _FINGERPRINTS.clear()
    fingerprint = _compute_fingerprint(secret)
    _FINGERPRINTS[id(secret)] = (secret, fingerprint)
    return fingerprint


def _compute_fingerprint(secret: BaseModel) -> str:
    import hashlib
    import json

    from pydantic import SecretStr

    def reveal(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, dict):
            return {k: reveal(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [reveal(v) for v in value]
        return value

    material = json.dumps(reveal(dict(secret)), sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()


@cache
def request_counter() -> RequestCounter:
    """One counter for every Jira transport of this container (the benchmark reads it)."""
    from jira_bridge.jira.transport import RequestCounter

    return RequestCounter()


def jira_client_for(connector: Connector, counter: RequestCounter | None = None,
                    budget: RequestBudget | None = None) -> JiraClient:
    """The client acting as the connector's account, in its site kind's dialect.

    ``cloud``: REST v3 with basic auth (email + API token). ``datacenter``: REST v2 with a personal
    access token (``Authorization: Bearer``) or basic auth (username + password). The only place that
    looks at the kind: everything after it talks to the :class:`JiraClient` interface.
    """
    from jira_bridge.jira.auth import BasicAuth, BasicLogin, BearerToken
    from jira_bridge.jira.client import JiraClient
    from jira_bridge.jira.datacenter import DataCenterClient
    from jira_bridge.jira.transport import Authenticator, JiraTransport

    c = connector.credentials
    auth: Authenticator
    if c.kind == "datacenter":
        if c.personal_access_token is not None:
            auth = BearerToken(c.personal_access_token.get_secret_value(),
                               label=c.username or f"the personal access token of connector {connector.name}")
        else:
            # the secret's validator ensures username + password here (BasicLogin refuses empty ones)
            auth = BasicLogin(c.username or "", c.password.get_secret_value() if c.password else "")
    else:
        auth = BasicAuth(c.email or "", c.api_token.get_secret_value() if c.api_token else "")
    transport = JiraTransport(c.rest_base, auth, counter=counter, budget=budget, clock=_CLOCK[0], sleep=_CLOCK[1])
    return DataCenterClient(transport) if c.kind == "datacenter" else JiraClient(transport)


def software_client_for(connector: Connector, like: JiraClient,
                        shared: MetadataStore | None = None) -> JiraSoftwareClient | None:
    """The builds/deployments client: OAuth client credentials, else a Connect app; None if neither.
    ``shared``: where a cloud id the secret lacks is looked up first, and kept once looked up."""
    from jira_bridge.jira.software import JiraSoftwareClient

    c = connector.credentials
    if c.oauth_client_id and c.oauth_client_secret:
        return JiraSoftwareClient.with_oauth(
            c.site, c.oauth_client_id, c.oauth_client_secret.get_secret_value(), cloud_id=c.cloud_id,
            api_gateway_url=str(c.api_gateway_url).rstrip("/"), auth_url=str(c.auth_url).rstrip("/"),
            like=like.transport, shared=shared,
        )
    if c.connect_app_key and c.connect_shared_secret:
        return JiraSoftwareClient.with_connect(
            c.site, c.connect_app_key, c.connect_shared_secret.get_secret_value(), like=like.transport
        )
    return None


def jira_site(settings: BaseSettings, connector_name: str) -> JiraSite:
    """The Jira client and metadata cache of a connector, rebuilt only when its secret changes."""
    from jira_bridge.incidents.jira_metadata import JiraMetadata
    from jira_bridge.incidents.sync import JiraSite

    connector = connector_registry(settings).get(connector_name)
    key = (connector.name, _fingerprint(connector.credentials))
    site = _SITES.get(key)
    if site is None:
        budget = None
        if settings.jira_request_budget_share is not None:  # this function's share of the site's budget
            from jira_bridge.jira.request_budget import RequestBudget

            rate = connector_registry(settings).routing.requests_per_second_for(connector.name)
            budget = RequestBudget(rate, settings.jira_request_budget_share, clock=_CLOCK[0], sleep=_CLOCK[1])
        client = jira_client_for(connector, request_counter(), budget)
        c = connector.credentials
        metadata = JiraMetadata(client, shared=metadata_store(settings),
                                scope=f"{connector.name}#{_digest(c.site)}", account_id=c.account_id,
                                identity=key[1][:16])
        site = JiraSite(connector=connector.name, client=client, metadata=metadata)
        _SITES[key] = site
    return site


@cache
def runbooks(settings: BaseSettings) -> RunbookSet:
    """runbooks.yaml, read and validated once per container for every flow that needs it."""
    from jira_bridge.incidents.runbooks import load_runbooks

    return load_runbooks(settings.config_dir / "runbooks.yaml")


# The configuration files and what reads (and validates) each; a function names the ones it uses.
ConfigFile = Literal["runbooks.yaml", "connectors.yaml", "ci.yaml"]
_CONFIG_CHECKED: dict[tuple[BaseSettings, tuple[ConfigFile, ...]], str | None] = {}


def config_problem(settings: BaseSettings, *files: ConfigFile) -> str | None:
    """What is wrong with this function's configuration files, or None when they are usable.

    Read and validated on a container's first invocation (its cold start; never at import), and the
    answer kept: the files are part of the deployment, so it cannot change before the next one. A
    problem is reported once per container, as one error line (what is wrong, file:line, the fix) and
    a `ConfigInvalid` metric (Powertools, in the stack's namespace); the handler then refuses its events visibly.
    """
    key = (settings, files)
    if key not in _CONFIG_CHECKED:
        loaders: dict[ConfigFile, Callable[[BaseSettings], object]] = {
            "runbooks.yaml": runbooks, "connectors.yaml": connector_registry, "ci.yaml": ci_config}
        problems: list[str] = []
        for name in files:
            try:
                loaders[name](settings)
            except ConfigurationError as error:
                problems.extend(line.strip() for line in str(error).splitlines() if line.strip())
        problem = None
        if problems:
            problem = ("configuration invalid: " + "; ".join(problems) + ". Fix: correct the file(s) in config/ "
                       "(`jira-bridge lint` lists every problem) and redeploy; until then this function refuses "
                       "its events")
            from aws_lambda_powertools.metrics import MetricUnit

            from jira_bridge.observability import logger, metrics

            logger.error(problem, extra={"config_files": list(files)})
            metrics.add_metric(name="ConfigInvalid", unit=MetricUnit.Count, value=1)
        _CONFIG_CHECKED[key] = problem
    return _CONFIG_CHECKED[key]


@cache
def incident_sync(settings: BaseSettings) -> IncidentSync:
    from jira_bridge.incidents.sync import IncidentSync

    registry = connector_registry(settings)
    return IncidentSync(
        runbooks=runbooks(settings),
        links=link_store(settings),
        site_for_project=lambda project: jira_site(settings, registry.routing.connector_for(project)),
        site_named=lambda name: jira_site(settings, name),
        notes=timeline_publisher(settings),
    )


def timeline_publisher(settings: BaseSettings) -> UpdatePublisher:
    """Timeline feedback: the bus, and PagerDuty when it is on and this function may read its secret."""
    if runbooks(settings).inbound.pagerduty and not getattr(settings, "pagerduty_secret_name", None):
        from jira_bridge.publishing import EventBridgePublisher

        return EventBridgePublisher(settings.event_bus_name, lambda: aws_client("events"))
    return publisher(settings)


@cache
def publisher(settings: BaseSettings) -> UpdatePublisher:
    """The incident bus, plus PagerDuty when `inbound.pagerduty` is on in runbooks.yaml."""
    from jira_bridge.publishing import EventBridgePublisher, FanOutPublisher

    bus = EventBridgePublisher(settings.event_bus_name, lambda: aws_client("events"))
    if not runbooks(settings).inbound.pagerduty:
        return bus
    secret_name = getattr(settings, "pagerduty_secret_name", None)
    if not secret_name:
        raise ConfigurationError("inbound.pagerduty is on but PAGERDUTY_SECRET_NAME is not set for this function")
    return FanOutPublisher(bus, pagerduty_publisher(settings, secret_name))


@cache
def pagerduty_accounts(settings: BaseSettings) -> PagerDutyAccounts:
    """pagerduty.yaml (several PagerDuty accounts), read and validated once per container."""
    from jira_bridge.pagerduty.accounts import FILE_NAME, load_pagerduty_accounts

    return load_pagerduty_accounts(settings.config_dir / FILE_NAME)


def pagerduty_publisher(settings: BaseSettings, secret_name: str) -> Any:
    """The default account's sinks; with several accounts, each request routed to its incident's account."""
    from jira_bridge.pagerduty.accounts import DEFAULT_ACCOUNT, account_secret_name
    from jira_bridge.publishing import AccountRoutedPublisher

    accounts = pagerduty_accounts(settings)
    if not accounts.accounts:
        return PagerDutyFromSecret(secret_name, settings.secret_cache_seconds)
    sinks: dict[str, PagerDutyFromSecret] = {}

    def sink_for(account: str) -> PagerDutyFromSecret:
        if not accounts.knows(account):
            raise ConfigurationError(
                f"incident's PagerDuty account {account!r} is not in pagerduty.yaml any more; add it back (with "
                f"its secret {account_secret_name(secret_name, account)}) or re-link the incident")
        if account not in sinks:
            sinks[account] = PagerDutyFromSecret(account_secret_name(secret_name, account),
                                                 settings.secret_cache_seconds)
        return sinks[account]

    def account_of(incident_id: str) -> str:
        link = link_store(settings).get_by_incident(incident_id)
        return (link.incident_account if link is not None else None) or DEFAULT_ACCOUNT

    return AccountRoutedPublisher(account_of, lambda service: accounts.for_service(service) or DEFAULT_ACCOUNT,
                                  sink_for)


class PagerDutyFromSecret:
    """The PagerDuty sinks of the secret as it is now: a rotated API token is used within `max_age`."""

    def __init__(self, secret_name: str, max_age: int) -> None:
        self._secret_name = secret_name
        self._max_age = max_age
        self._built: tuple[str, Any] | None = None

    def _current(self) -> Any:
        from jira_bridge.pagerduty.credentials import load_pagerduty_secret
        from jira_bridge.pagerduty.events_sink import PagerDutyEventsSink
        from jira_bridge.pagerduty.rest_sink import PagerDutyRestSink
        from jira_bridge.publishing import PagerDutyPublisher

        secret = load_pagerduty_secret(self._secret_name, max_age=self._max_age)  # cached by Powertools
        fingerprint = _fingerprint(secret)
        if self._built is None or self._built[0] != fingerprint:
            key = secret.events_routing_key.get_secret_value() if secret.events_routing_key else None
            sink = PagerDutyPublisher(PagerDutyRestSink.from_secret(secret), PagerDutyEventsSink.from_secret(secret),
                                      key)
            self._built = (fingerprint, sink)
        return self._built[1]

    def publish_update(self, request: Any) -> None:
        self._current().publish_update(request)

    def publish_create(self, request: Any) -> None:
        self._current().publish_create(request)

    def publish_note(self, request: Any) -> None:
        self._current().publish_note(request)


@cache
def jira_change_sync(settings: BaseSettings) -> JiraChangeSync:
    from jira_bridge.webhooks.jira_changes import JiraChangeSync

    return JiraChangeSync(
        runbooks=runbooks(settings),
        links=link_store(settings),
        site_named=lambda name: jira_site(settings, name),
        publisher=publisher(settings),
    )


@cache
def jira_rule_engine(settings: BaseSettings) -> JiraRuleEngine:
    from jira_bridge.webhooks.jira_rules import JiraRuleEngine
    from jira_bridge.webhooks.rule_state import DynamoRuleState

    return JiraRuleEngine(
        runbooks=runbooks(settings),
        site_named=lambda name: jira_site(settings, name),
        state=DynamoRuleState(settings.link_table_name, lambda: aws_client("dynamodb")),
        publisher=publisher(settings),
    )


@cache
def hint_gate(settings: JiraChangesSettings) -> HintGate:
    """Rate limit of unsigned Data Center webhook hints, per issue (state in the link table)."""
    from jira_bridge.webhooks.hints import DynamoHintState, HintGate

    state = DynamoHintState(settings.link_table_name, lambda: aws_client("dynamodb"))
    return HintGate(state, min_interval=settings.hint_min_interval_seconds, clock=now)


@cache
def reconciler(settings: BaseSettings) -> Reconciler:
    from jira_bridge.webhooks.reconcile import DynamoCheckpoints, Reconciler

    return Reconciler(
        links=link_store(settings),
        site_named=lambda name: jira_site(settings, name),
        changes=jira_change_sync(settings),
        checkpoints=DynamoCheckpoints(settings.link_table_name, lambda: aws_client("dynamodb")),
    )


# ----- CI -> Jira ------------------------------------------------------------------------------------

_CI_SITES: dict[tuple[str, str], CiSite] = {}


def ci_site(settings: BaseSettings, connector_name: str) -> CiSite:
    """A connector's builds/deployments and REST clients, rebuilt only when its secret changes, so the
    OAuth token is fetched once per container rather than per notification, and a cloud id the secret
    lacks once per deployment (the shared metadata cache)."""
    connector = connector_registry(settings).get(connector_name)
    key = (connector.name, _fingerprint(connector.credentials))
    site = _CI_SITES.get(key)
    if site is None:
        site = _CI_SITES[key] = build_ci_site(connector, request_counter(), metadata_store(settings))
    return site


def build_ci_site(connector: Connector, counter: RequestCounter | None = None,
                  shared: MetadataStore | None = None) -> CiSite:
    """A connector's :class:`CiSite` (uncached: :func:`ci_site` caches it per container)."""
    from jira_bridge.ci.sites import CiSite

    platform = jira_client_for(connector, counter)
    datacenter = connector.credentials.kind == "datacenter"  # Jira Software DC has no builds/deployments API
    return CiSite(
        connector=connector.name, site_url=connector.credentials.site, platform=platform,
        software=None if datacenter else software_client_for(connector, platform, shared),
        configured_cloud_id=connector.credentials.cloud_id, remote_links=datacenter, shared=shared,
    )


@cache
def ci_config(settings: BaseSettings) -> CiConfig:
    from jira_bridge.ci.config import load_ci_config

    return load_ci_config(settings.config_dir / "ci.yaml")


@cache
def ci_reporter(settings: BaseSettings) -> CiReporter:
    from jira_bridge.ci.reporting import CiReporter
    from jira_bridge.ci.sites import SiteDirectory

    registry = connector_registry(settings)
    return CiReporter(SiteDirectory(registry.routing.connector_for, lambda name: ci_site(settings, name)))


@cache
def approval_gate(settings: BaseSettings) -> ApprovalGate:
    from jira_bridge.ci.approval import ApprovalGate

    registry = connector_registry(settings)
    return ApprovalGate(
        ci_config(settings).approval, lambda project: ci_site(settings, registry.routing.connector_for(project))
    )


@cache
def ci_callers(settings: CiNotifySettings) -> SecretsManagerCallers:
    from jira_bridge.ci.callers import SecretsManagerCallers

    return SecretsManagerCallers(settings.ci_callers_secret_name, max_age=settings.secret_cache_seconds)


def incident_callers(settings: IncidentWebhookSettings) -> SecretsManagerCallers:
    """Who may POST /incidents: the same scheme (API key or HMAC per caller) as CI callers, its own secret."""
    from jira_bridge.ci.callers import SecretsManagerCallers

    return SecretsManagerCallers(settings.incident_callers_secret_name, max_age=settings.secret_cache_seconds)


@cache
def ci_delivery(settings: BaseSettings) -> CiDelivery:
    """CI runs reported once per delivery, counted and logged."""
    from jira_bridge.ci.delivery import CiDelivery

    return CiDelivery(ci_once(settings), ci_reporter(settings))


@cache
def ci_issue_steps(settings: BaseSettings) -> IssueSteps:
    """Pipeline issue steps (POST /ci/issues), once per caller and idempotency key."""
    from jira_bridge.ci.issue_steps import IssueSteps

    registry = connector_registry(settings)
    return IssueSteps(ci_issue_once(settings),
                      lambda project: jira_site(settings, registry.routing.connector_for(project)),
                      lambda: runbooks(settings))


@cache
def ci_issue_once(settings: BaseSettings) -> IdempotentOnce:
    """A retried issue step is answered from its first outcome (Powertools idempotency, IdempotencyTable)."""
    from jira_bridge.ci.issue_steps import KEY_PREFIX
    from jira_bridge.ci.redelivery import IdempotentOnce

    return IdempotentOnce(idempotency_store(settings), key_prefix=KEY_PREFIX)


@cache
def ci_once(settings: BaseSettings) -> IdempotentOnce:
    """Redelivered CI notifications are reported once (Powertools idempotency, IdempotencyTable)."""
    from jira_bridge.ci.redelivery import IdempotentOnce

    return IdempotentOnce(idempotency_store(settings))


@cache
def pagerduty_once(settings: BaseSettings) -> IdempotentOnce:
    """PagerDuty events are published once per event id (Powertools idempotency, IdempotencyTable)."""
    from jira_bridge.ci.redelivery import IdempotentOnce

    return IdempotentOnce(idempotency_store(settings), key_prefix="pagerduty-event")


def reset() -> None:
    """Forget every cached adapter (tests and the local runner use this between stacks)."""
    from aws_lambda_powertools.utilities import parameters

    _CLIENT_OVERRIDES.clear()
    _CLOCK[:] = _REAL_CLOCK
    for factory in (_boto3_client, link_store, metadata_store, connector_registry, idempotency_store, runbooks,
                    incident_sync, request_counter, publisher, jira_change_sync, jira_rule_engine, reconciler,
                    hint_gate, ci_config, ci_reporter, approval_gate, ci_callers, ci_delivery, ci_issue_steps,
                    ci_issue_once, ci_once, pagerduty_once, pagerduty_accounts):
        factory.cache_clear()
    load_settings.cache_clear()  # a second stack in one process has its own environment (CONFIG_DIR...)
    _SITES.clear()
    _CI_SITES.clear()
    _FINGERPRINTS.clear()
    _CONFIG_CHECKED.clear()
    from jira_bridge.jira.auth import DEFAULT_CLOUD_IDS

    DEFAULT_CLOUD_IDS.clear()  # a fresh stack may point the same site URL at another tenant
    parameters.clear_caches()  # type: ignore[no-untyped-call]

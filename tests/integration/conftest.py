"""The integration tier: handlers and domain in-process against moto server and the Jira simulator.

One LocalEnvironment (moto + simulator + API routes) serves the session; every test starts from a
re-provisioned stack and a re-seeded Jira site.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from jira_bridge.connectors.model import Connector, parse_connector_secret
from jira_bridge.jira.users import user_id
from jira_sim import DeliveryPolicy
from jira_sim.request_log import RecordedRequest
from jira_sim.seed import INTEGRATION_EMAIL
from local_runtime.environment import LocalEnvironment, simulator_connector_secret

pytestmark = pytest.mark.integration

FAST_DELIVERY = DeliveryPolicy(max_attempts=4, backoff_seconds=(0.02, 0.05, 0.1), timeout_seconds=5.0)
QUIET = {"Parameters": {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}}


@pytest.fixture(scope="module")
def model_environment() -> Iterator[LocalEnvironment]:
    """A stack whose queues are the local SQS model on a simulated clock (per module: its time is its own)."""
    from local_runtime.clock import SimClock

    with LocalEnvironment(env_overrides=QUIET, jira_delivery=FAST_DELIVERY, queues="model",
                          clock=SimClock()) as environment:
        yield environment


@pytest.fixture(scope="session")
def local_environment() -> Iterator[LocalEnvironment]:
    with LocalEnvironment(env_overrides=QUIET, jira_delivery=FAST_DELIVERY) as env:
        yield env


SITE_KINDS = ("cloud", "datacenter")
BOTH_SITES = pytest.mark.parametrize("env", SITE_KINDS, indirect=True)
"""Runs a module's tests against a Jira Cloud site and a Jira Data Center site (the same tests)."""


@pytest.fixture
def env(local_environment: LocalEnvironment, request: pytest.FixtureRequest) -> Iterator[LocalEnvironment]:
    """The local stack against a Cloud site (or, under `BOTH_SITES`, each kind in turn). On Data
    Center, every request the bridge made must have been Data Center's dialect."""
    kind = getattr(request, "param", "cloud")
    local_environment.reset(site=kind)
    yield local_environment
    if kind == "datacenter":
        bot = local_environment.jira.user(INTEGRATION_EMAIL).account_id
        problems = [p for r in local_environment.jira.requests if r.principal in (bot, None)
                    for p in datacenter_dialect_problems(r)]
        assert not problems, "requests outside Data Center's dialect:\n" + "\n".join(problems)


RICH_TEXT_FIELDS = ("description", "environment", "customfield_10044", "customfield_10047")


def datacenter_dialect_problems(recorded: RecordedRequest) -> list[str]:
    """What makes a request wrong for Jira Data Center: not REST v2 (or the webhook or JSM APIs), an
    accountId anywhere, or rich text (descriptions, comments, textarea fields) that is not a string."""
    where = f"{recorded.method} {recorded.path}"
    problems = []
    # /rest/servicedeskapi: Jira Service Management's API, the same paths on Data Center (REST v1005)
    if not recorded.path.startswith(("/rest/api/2/", "/rest/webhooks/1.0/", "/rest/jira-webhook/1.0/",
                                     "/rest/servicedeskapi/")):
        problems.append(f"{where}: not a Data Center REST v2 path")
    text = json.dumps(recorded.body) + json.dumps(recorded.query)
    if "accountId" in text:
        problems.append(f"{where}: names a user by accountId")
    body: Any = recorded.body if isinstance(recorded.body, dict) else {}
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    rich = [fields[name] for name in RICH_TEXT_FIELDS if fields.get(name) is not None]
    update = body.get("update") if isinstance(body.get("update"), dict) else {}
    rich += [op["add"].get("body") for op in update.get("comment", []) if isinstance(op.get("add"), dict)]
    if "body" in body:
        rich.append(body["body"])
    problems += [f"{where}: rich text is not wiki markup: {value!r:.80}"
                 for value in rich if not isinstance(value, str)]
    return problems


def api(env: LocalEnvironment) -> str:
    """The REST API the bridge speaks to this site."""
    return "/rest/api/2" if env.jira.flavour == "datacenter" else "/rest/api/3"


def site_user_id(env: LocalEnvironment, email: str) -> str:
    """The id the site's REST API names a user by: accountId (Cloud), username (Data Center)."""
    user = env.jira.user(email)
    return user.username if env.jira.flavour == "datacenter" else user.account_id


def site_user_ref(env: LocalEnvironment, email: str) -> dict[str, str]:
    """How a REST body or webhook names the user on this site: ``{"accountId"}`` or ``{"name"}``."""
    key = "name" if env.jira.flavour == "datacenter" else "accountId"
    return {key: site_user_id(env, email)}


def cloud_hides_emails(env: LocalEnvironment) -> None:
    """Skip on Data Center: the simulated Data Center shows every e-mail (no Cloud profile privacy)."""
    if env.jira.flavour == "datacenter":
        pytest.skip("Jira Cloud's hidden e-mails: the simulated Data Center shows every e-mail")


def user_of(value: Any) -> str | None:
    """Who a user field of a REST answer names (accountId on Cloud, username on Data Center)."""
    return user_id(value)


def is_rich_text(env: LocalEnvironment, value: Any) -> bool:
    """A rich-text value as the site answers it: ADF on Cloud REST v3, a wiki string on Data Center."""
    if env.jira.flavour == "datacenter":
        return isinstance(value, str) and bool(value)
    return isinstance(value, dict) and value.get("type") == "doc"


def connector_as(env: LocalEnvironment, email: str | None = None, token: str | None = None) -> Connector:
    """The default connector, optionally acting as another simulator user."""
    secret = simulator_connector_secret(env.jira)
    if email is not None:
        user = env.jira.user(email)
        if secret.get("kind") == "datacenter":
            secret.update(username=user.username, personal_access_token=token or user.personal_access_token)
        else:
            secret.update(email=user.email, api_token=token or user.api_token)
    return parse_connector_secret("default", "test", secret)

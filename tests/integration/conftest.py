"""The integration tier: handlers and domain in-process against moto server and the Jira simulator.

One LocalEnvironment (moto + simulator + API routes) serves the session; every test starts from a
re-provisioned stack and a re-seeded Jira site.
"""

from collections.abc import Iterator

import pytest

from jira_bridge.connectors.model import Connector, parse_connector_secret
from jira_sim import DeliveryPolicy
from local_runtime.environment import LocalEnvironment, simulator_connector_secret

pytestmark = pytest.mark.integration

FAST_DELIVERY = DeliveryPolicy(max_attempts=4, backoff_seconds=(0.02, 0.05, 0.1), timeout_seconds=5.0)
QUIET = {"Parameters": {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}}


@pytest.fixture(scope="session")
def local_environment() -> Iterator[LocalEnvironment]:
    with LocalEnvironment(env_overrides=QUIET, jira_delivery=FAST_DELIVERY) as env:
        yield env


@pytest.fixture
def env(local_environment: LocalEnvironment) -> LocalEnvironment:
    local_environment.reset()
    return local_environment


def connector_as(env: LocalEnvironment, email: str | None = None, token: str | None = None) -> Connector:
    """The default connector, optionally acting as another simulator user."""
    secret = simulator_connector_secret(env.jira)
    if email is not None:
        user = env.jira.user(email)
        secret.update(email=user.email, api_token=token or user.api_token)
    return parse_connector_secret("default", "test", secret)

"""Pytest plugin: a running Jira simulator (and a webhook receiver) per test.

Register it in ``tests/conftest.py`` with ``pytest_plugins = ["tests.conftest_jira_sim"]``.

``jira_sim`` is function-scoped: every test gets a fresh site (OPS-1 again, no webhooks, faults or
logged requests). Start-up and shutdown take a few milliseconds, so there is no shared server to
reset. Webhook retries use test-sized backoff (tens of milliseconds).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from jira_sim import DeliveryPolicy, JiraSimulator
from jira_sim.receiver import WebhookReceiver

CONTRACTS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "contracts"
FAST_DELIVERY = DeliveryPolicy(max_attempts=4, backoff_seconds=(0.02, 0.05, 0.1), timeout_seconds=2.0)


@pytest.fixture(scope="session")
def jira_contracts_dir() -> Path | None:
    """``../shared/contracts`` when present: switches on strict ADF and software schema checks."""
    return CONTRACTS_DIR if CONTRACTS_DIR.is_dir() else None


@pytest.fixture
def jira_sim(jira_contracts_dir: Path | None) -> Iterator[JiraSimulator]:
    with JiraSimulator(contracts_dir=jira_contracts_dir, delivery_policy=FAST_DELIVERY) as sim:
        yield sim


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver

"""Fixtures for the Jira client unit tests: fake time, a ``responses`` mock, transport factories.

HTTP is faked with the ``responses`` library (no sockets); time is faked so nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from jira_bridge.jira.auth import DEFAULT_CLOUD_IDS, BasicAuth
from jira_bridge.jira.client import JiraClient
from jira_bridge.jira.transport import Authenticator, JiraTransport, RetryPolicy
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import API_TOKEN, EMAIL, SITE, FakeTime, TransportFactory


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mocked() -> Iterator[FakeHttp]:
    with FakeHttp() as rsps:
        yield rsps


@pytest.fixture(autouse=True)
def _fresh_cloud_id_cache() -> Iterator[None]:
    DEFAULT_CLOUD_IDS.clear()
    yield
    DEFAULT_CLOUD_IDS.clear()


@pytest.fixture
def make_transport(fake_time: FakeTime) -> TransportFactory:
    def factory(
        base_url: str = SITE,
        auth: Authenticator | None = None,
        *,
        rand: Callable[[], float] = lambda: 0.5,
        policy: RetryPolicy | None = None,
        remaining_time: Callable[[], float] | None = None,
        basic: bool = True,
    ) -> JiraTransport:
        if auth is None and basic:
            auth = BasicAuth(EMAIL, API_TOKEN)
        return JiraTransport(
            base_url,
            auth,
            policy=policy,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
            rand=rand,
            remaining_time=remaining_time,
        )

    return factory


@pytest.fixture
def client(make_transport: TransportFactory) -> JiraClient:
    return JiraClient(make_transport())

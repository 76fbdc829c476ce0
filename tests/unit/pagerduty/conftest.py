"""Fixtures for the PagerDuty unit tests: fake time, a ``responses`` mock, sinks on faked transports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jira_bridge.pagerduty.events_sink import PagerDutyEventsSink
from jira_bridge.pagerduty.rest_sink import PagerDutyRestSink
from jira_bridge.pagerduty.transport import events_transport, rest_transport
from tests.http_fake import FakeHttp
from tests.unit.jira.jira_fakes import FakeTime
from tests.unit.pagerduty.pd_fakes import API_TOKEN, EVENTS, FROM_EMAIL, REST


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mocked() -> Iterator[FakeHttp]:
    with FakeHttp() as rsps:
        yield rsps


@pytest.fixture
def rest_sink(fake_time: FakeTime) -> PagerDutyRestSink:
    transport = rest_transport(REST, API_TOKEN, sleep=fake_time.sleep, clock=fake_time.clock, rand=lambda: 0.5)
    return PagerDutyRestSink(transport, FROM_EMAIL, known_users={"PKNOWN1": "Known.Person@Example.com"},
                             clock=fake_time.clock)


@pytest.fixture
def events_sink(fake_time: FakeTime) -> PagerDutyEventsSink:
    return PagerDutyEventsSink(events_transport(EVENTS, sleep=fake_time.sleep, clock=fake_time.clock,
                                                rand=lambda: 0.5))

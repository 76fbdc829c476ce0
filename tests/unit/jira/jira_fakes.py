"""Fakes shared by the Jira client unit tests (imported by conftest.py and the test modules).

A uniquely named module rather than ``from conftest import ...``, which breaks as soon as another
test directory has a conftest.py of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from jira_bridge.jira.transport import JiraTransport

SITE = "https://example.atlassian.net"
EMAIL = "jira-bridge@example.com"
API_TOKEN = "ATATT3xFfGF0-secret-token-value"

TransportFactory = Callable[..., JiraTransport]


@dataclass
class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def deadline_in(self, seconds: float) -> Callable[[], float]:
        """A ``remaining_time`` callable for a budget ending ``seconds`` from now."""
        end = self.now + seconds
        return lambda: end - self.now

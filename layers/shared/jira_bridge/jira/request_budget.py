"""A Jira site's request budget, shared by every invocation that may run at once, and adaptive to 429s.

With one message group per incident, up to ``MaximumConcurrency`` incident batches run at the same
time against one Jira site. Each connector has a budget in requests per second (``connectors.yaml``,
``requests_per_second``); every concurrently running invocation gets an equal share of it
(``budget / share``, the share being the event source's MaximumConcurrency, which Lambda enforces),
so together they never exceed the budget, with no coordination round trip per request.

Each share is a token bucket (capacity one second of its rate). A request that would wait at most
the invocation's in-process allowance waits (the pacing of a busy burst); a longer wait is raised as
:class:`~jira_bridge.jira.errors.JiraRateLimited` so the event waits in its queue, not in the Lambda.
A 429 from Jira for the site (burst or quota, not the per-issue write limit, which only concerns
that issue) halves the share's rate, and ``X-RateLimit-NearLimit: true`` on a success slows it by a
quarter; it climbs back by 10% for every quiet 10 s (AIMD), so the bridge
slows down with Jira instead of riding out a storm it causes.

Hand-written: a token bucket is a few lines, and the libraries that offer one (e.g. ``limits``,
``pyrate-limiter``) either sleep on their own clock or want a storage backend; this one needs an
injectable clock and the invocation's wait allowance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from jira_bridge.invocation import current_max_wait

PER_ISSUE_REASON = "jira-per-issue-on-write"
BUDGET_REASON = "jira-bridge-budget"
RECOVERY_INTERVAL = 10.0
RECOVERY_FACTOR = 1.1
MIN_RATE_FRACTION = 1 / 16


class BudgetExhausted(Exception):
    """Waiting for the next token would take longer than the caller may wait in-process."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the site's request budget allows the next request in {wait:.1f}s")
        self.wait = wait


class RequestBudget:
    def __init__(
        self,
        requests_per_second: float,
        share: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_second <= 0 or share < 1:
            raise ValueError("a request budget needs a positive rate and a share of at least 1")
        self.base_rate = requests_per_second / share
        self.rate = self.base_rate
        self.capacity = max(1.0, self.base_rate)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._last_recovery = self._last
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Take one request's token, waiting in-process only as long as the invocation allows."""
        with self._lock:
            now = self._refill()
            if self._tokens >= 1:
                self._tokens -= 1
                return
            wait = (1 - self._tokens) / self.rate
            allowance = current_max_wait()
            if allowance is not None and wait > allowance:
                raise BudgetExhausted(wait)
            self._tokens -= 1  # reserved: the wait below earns it back
            self._last = now
        self._sleep(wait)

    def throttled(self, reason: str | None) -> None:
        """Jira answered 429: slow this share down unless only one issue was written too often."""
        if reason == PER_ISSUE_REASON:
            return
        with self._lock:
            self._refill()
            self.rate = max(self.base_rate * MIN_RATE_FRACTION, self.rate / 2)
            self._tokens = min(self._tokens, 0.0)
            self._last_recovery = self._clock()

    def near_limit(self) -> None:
        """Jira says less than 20% of a budget is left (``X-RateLimit-NearLimit``): slow by a quarter."""
        with self._lock:
            self._refill()
            self.rate = max(self.base_rate * MIN_RATE_FRACTION, self.rate * 0.75)
            self._last_recovery = self._clock()

    def _refill(self) -> float:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._last = now
        while self.rate < self.base_rate and now - self._last_recovery >= RECOVERY_INTERVAL:
            self.rate = min(self.base_rate, self.rate * RECOVERY_FACTOR)
            self._last_recovery += RECOVERY_INTERVAL
        return now

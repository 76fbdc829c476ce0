"""A Jira site's request budget, shared by every invocation that may run at once, and adaptive to 429s.

With one message group per incident, up to ``MaximumConcurrency`` incident batches run at the same
time against one Jira site. Each connector has a budget in requests per second (``connectors.yaml``,
``requests_per_second``); every concurrently running invocation gets an equal share of it
(``budget / share``, the share being the event source's MaximumConcurrency, which Lambda enforces),
so together they never exceed the budget, with no coordination round trip per request.

Each share is a token bucket (capacity one second of its rate). A request whose token is at most
``PACING_WAIT_SECONDS`` away waits for it in-process (the pacing of a busy burst, as botocore's
``adaptive`` retry mode does on the client side), unless the invocation has not that much time left;
a longer wait is raised as :class:`~jira_bridge.jira.errors.JiraRateLimited` so the event waits in
its queue, not in the Lambda. Pacing may wait longer in-process than a remote ``Retry-After`` may
(``queue_retries.IN_PROCESS_WAIT_SECONDS``): our own pace is bounded by construction (a token is
never more than 1 / (rate / 16) away), a remote throttle or outage is not; and an event sent back to
the queue for a few seconds' pacing would spend a receive (``maxReceiveCount``) and redo the reads
it had made (measured: the 30% 429 storm took 1.48x the fault-free time with a 2 s pacing
allowance, 1.06x with 10 s).
A 429 slows the share down only when the share's own pace can be the cause: it halves the rate
(at most once a second: one overshoot answered by several 429s is one signal) when the share has
been using most of its full rate (at least 80% of ``requests_per_second / share`` over the last
10 s). So the cut reaches half the budget, not less: a share sending at half its rate that still
meets 429s is already paced by their ``Retry-After`` (each refused request waits it), and a budget
that is too high for the site is the operator's to lower (the ``JiraRateLimited`` metric and the
dashboard show it). A 429 that reaches a share
sending well below its rate says the limit is someone else's load (another app, Jira's per-endpoint
burst limit, Atlassian's own protection): sending slower would not have avoided it, so only that
request waits (its ``Retry-After``, in the transport). Ten seconds, not the bucket's state: an event
makes two or three requests in a row, so a share's bucket runs dry in every burst even when the
share averages a third of its rate. The per-issue write limit
(``RateLimit-Reason: jira-per-issue-on-write``) only concerns that issue and never slows the site.
``X-RateLimit-NearLimit: true`` on a success slows the share by a quarter. The rate climbs back by
10% for every quiet 10 s (AIMD), so the bridge slows down with Jira instead of riding out a storm it
causes, and does not crawl through a storm it does not cause (measured: ``make bench-faults``,
scenario 4).

Hand-written: a token bucket is a few lines, and the libraries that offer one (e.g. ``limits``,
``pyrate-limiter``) either sleep on their own clock or want a storage backend; this one needs an
injectable clock and the invocation's wait allowance.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from jira_bridge.invocation import current_budget, current_max_wait

PER_ISSUE_REASON = "jira-per-issue-on-write"
BUDGET_REASON = "jira-bridge-budget"
RECOVERY_INTERVAL = 10.0
RECOVERY_FACTOR = 1.1
MIN_RATE_FRACTION = 1 / 16
PACING_WAIT_SECONDS = 10.0  # longest in-process wait for our own budget's next token
PACING_RESERVE_SECONDS = 5.0  # what a paced request must still have after its wait (send + answer)
DECREASE_INTERVAL = 1.0  # 429s within this long of a halving are the same overshoot
USAGE_WINDOW = 10.0  # how far back a 429 looks to judge whether the share's own pace caused it
SATURATED_FRACTION = 0.8


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
        self._last_decrease = float("-inf")
        self._sent: deque[float] = deque()  # when the requests of the last USAGE_WINDOW took their tokens
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Take one request's token, waiting in-process only as long as the invocation allows."""
        with self._lock:
            now = self._refill()
            self._note_sent(now)
            if self._tokens >= 1:
                self._tokens -= 1
                return
            wait = (1 - self._tokens) / self.rate
            allowance = _pacing_allowance()
            if allowance is not None and wait > allowance:
                raise BudgetExhausted(wait)
            self._tokens -= 1  # reserved: the wait below earns it back
            self._last = now
        self._sleep(wait)

    def throttled(self, reason: str | None) -> bool:
        """Jira answered 429: halve this share's rate if its own pace can be the cause (see the module
        docstring); returns whether it did."""
        if reason == PER_ISSUE_REASON:
            return False
        with self._lock:
            now = self._refill()
            self._note_sent(now, count=False)
            saturated = len(self._sent) >= SATURATED_FRACTION * self.base_rate * USAGE_WINDOW
            if not saturated or now - self._last_decrease < DECREASE_INTERVAL:
                return False
            self.rate = max(self.base_rate * MIN_RATE_FRACTION, self.rate / 2)
            self._tokens = min(self._tokens, 0.0)
            self._last_recovery = self._last_decrease = now
            return True

    def _note_sent(self, now: float, *, count: bool = True) -> None:
        if count:
            self._sent.append(now)
        while self._sent and self._sent[0] <= now - USAGE_WINDOW:
            self._sent.popleft()

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


def _pacing_allowance() -> float | None:
    """How long a queue consumer's request may wait in-process for its token (None: no limit)."""
    if current_max_wait() is None:  # not a queue consumer: the caller's own retry policy bounds it
        return None
    allowance = PACING_WAIT_SECONDS
    remaining = current_budget()
    if remaining is not None:
        allowance = min(allowance, remaining() - PACING_RESERVE_SECONDS)
    return allowance

"""Clocks for the local runtime: the real one, and a simulated one that tests and benchmarks move by hand.

Both have the same three readings the local AWS models and the Jira simulator's faults use:
``time()`` (epoch seconds, what SQS timestamps and receipt deadlines are measured in), ``monotonic()``
(for deadlines) and ``sleep(seconds)``. A `SimClock` only moves when told to (`advance`, `advance_to`
or `sleep`), so an hour of visibility timeouts runs in microseconds and every run is repeatable.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall-clock time: what AWS itself runs on."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class SimClock:
    """Time that stands still until advanced; `sleep` advances it instead of waiting.

    ``start`` is the epoch second the simulation begins at (default: now, so timestamps look real).
    Thread-safe: the Jira simulator's request threads may read it while a test advances it.
    """

    def __init__(self, start: float | None = None) -> None:
        self._start = time.time() if start is None else float(start)
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self._start + self._elapsed

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    @property
    def elapsed(self) -> float:
        """Simulated seconds since the clock was made."""
        return self.monotonic()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance by {seconds} s)")
        with self._lock:
            self._elapsed += seconds

    def advance_to(self, epoch_seconds: float) -> None:
        """Move to an absolute `time()` reading; a reading in the past leaves the clock where it is."""
        with self._lock:
            self._elapsed = max(self._elapsed, epoch_seconds - self._start)

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

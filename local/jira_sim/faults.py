"""Injectable faults: rate limits, server errors, slow answers and outages.

Rules are checked before routing and authentication, the way Atlassian's edge answers them. A rule
matches a request by HTTP method and an ``fnmatch`` glob on the path (``/rest/api/3/issue/*``), and
lives for ``count`` matching requests and/or until a deadline. The first matching rule with a status
answers the request; matching ``slow`` rules only delay it. The app never faults its own admin
surface (``/`` and ``/_sim/*``), so a test can always reach it.

429s carry the headers from ``shared/contracts/jira-cloud-rate-limits-and-auth-notes.md``:
``Retry-After`` (seconds), ``X-RateLimit-Reset`` (ISO ``yyyy-MM-ddTHH:mmZ``), ``RateLimit-Reason``,
``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``. A ``probability`` rule answers only that fraction
of the requests it matches, drawn from its own seeded RNG (a repeatable 429 storm).

Deadlines and delays use an injected clock (anything with ``time()``, ``monotonic()`` and ``sleep()``:
the ``time`` module by default, or the local runtime's ``SimClock``), so a test can let an outage's
hour pass in an instant.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

FaultKind = Literal["rate_limit", "server_error", "slow", "outage"]


class FaultClock(Protocol):
    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


@dataclass
class FaultRule:
    id: int
    kind: FaultKind
    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    method: str | None = None
    path: str | None = None
    #: How many more matching requests it affects (None: unlimited).
    remaining: int | None = 1
    #: clock.monotonic() deadline (None: no deadline).
    until: float | None = None
    reason: str | None = None
    hits: int = 0
    #: The fraction of matching requests it answers (None: all of them), drawn from `rng`.
    probability: float | None = None
    rng: random.Random | None = field(default=None, repr=False, compare=False)
    clock: FaultClock = field(default=time, repr=False, compare=False)

    def expired(self, now: float) -> bool:
        used_up = self.remaining is not None and self.remaining <= 0
        return used_up or (self.until is not None and now >= self.until)

    def applies_to(self, method: str, path: str, now: float) -> bool:
        if self.expired(now):
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or fnmatch.fnmatchcase(path, self.path)

    def headers(self, now_utc: datetime) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        if self.kind == "rate_limit":
            reset = now_utc + timedelta(seconds=self.retry_after or 0)
            headers |= {
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                "X-RateLimit-Limit": "100",
                "X-RateLimit-Remaining": "0",
                "RateLimit-Reason": self.reason or "jira-burst-based",
            }
        return headers

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "retryAfter": self.retry_after,
            "delay": self.delay,
            "method": self.method,
            "path": self.path,
            "remaining": self.remaining,
            "secondsLeft": None if self.until is None else max(0.0, self.until - self.clock.monotonic()),
            "reason": self.reason,
            "hits": self.hits,
            "probability": self.probability,
        }


@dataclass(frozen=True)
class FaultOutcome:
    """What the matching rules do to one request: wait ``delay`` seconds, then answer with ``rule``."""

    delay: float = 0.0
    rule: FaultRule | None = None
    applied: tuple[int, ...] = field(default_factory=tuple)


class FaultInjector:
    def __init__(self, clock: FaultClock = time) -> None:
        self.clock = clock
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def now_utc(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)

    # -- adding rules --

    def rate_limit(
        self,
        count: int | None = 1,
        retry_after: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        reason: str = "jira-burst-based",
        seconds: float | None = None,
    ) -> FaultRule:
        """The next ``count`` matching requests answer 429 with Retry-After and the rate-limit headers."""
        return self._add(
            "rate_limit",
            429,
            count,
            seconds,
            retry_after=retry_after,
            method=method,
            path=path,
            reason=reason,
        )

    def rate_limit_fraction(
        self,
        probability: float,
        retry_after: int = 1,
        *,
        seed: int = 0,
        count: int | None = None,
        method: str | None = None,
        path: str | None = None,
        reason: str = "jira-burst-based",
        seconds: float | None = None,
    ) -> FaultRule:
        """A ``probability`` fraction of matching requests (seeded, so repeatable) answer 429 with the same
        headers as `rate_limit`; ``count`` caps how many 429s it gives (None: no cap)."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, not {probability}")
        return self._add(
            "rate_limit", 429, count, seconds, retry_after=retry_after, method=method, path=path, reason=reason,
            probability=probability, rng=random.Random(seed),  # noqa: S311 - a simulation, not security
        )

    def server_error(
        self,
        status: int = 500,
        count: int | None = 1,
        *,
        retry_after: int | None = None,
        method: str | None = None,
        path: str | None = None,
        seconds: float | None = None,
    ) -> FaultRule:
        """The next ``count`` matching requests answer ``status`` (500, 502, 503...)."""
        return self._add("server_error", status, count, seconds, retry_after=retry_after, method=method, path=path)

    def slow(
        self,
        delay: float,
        count: int | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        seconds: float | None = None,
    ) -> FaultRule:
        """Matching requests are answered normally, ``delay`` seconds late."""
        return self._add("slow", None, count, seconds, delay=delay, method=method, path=path)

    def outage(
        self, seconds: float | None = None, *, until: datetime | None = None, retry_after: int | None = None
    ) -> FaultRule:
        """Every request answers 503 for ``seconds`` (or until ``until``, or until `clear`)."""
        if until is not None:
            seconds = max(0.0, (until - self.now_utc()).total_seconds())
        return self._add("outage", 503, None, seconds, retry_after=retry_after)

    def add_from_json(self, spec: dict[str, Any]) -> FaultRule:
        """Add a rule from the admin endpoint's JSON (camelCase keys, see `describe`)."""
        kind = spec.get("kind")
        common = {"method": spec.get("method"), "path": spec.get("path"), "seconds": spec.get("seconds")}
        if kind == "rate_limit" and spec.get("probability") is not None:
            return self.rate_limit_fraction(
                float(spec["probability"]),
                int(spec.get("retryAfter", 1)),
                seed=int(spec.get("seed", 0)),
                count=spec.get("count"),
                reason=spec.get("reason", "jira-burst-based"),
                **common,
            )
        if kind == "rate_limit":
            return self.rate_limit(
                spec.get("count", 1),
                int(spec.get("retryAfter", 1)),
                reason=spec.get("reason", "jira-burst-based"),
                **common,
            )
        if kind == "server_error":
            retry_after = spec.get("retryAfter")
            return self.server_error(
                int(spec.get("status", 500)),
                spec.get("count", 1),
                retry_after=None if retry_after is None else int(retry_after),
                **common,
            )
        if kind == "slow":
            return self.slow(float(spec["delay"]), spec.get("count"), **common)
        if kind == "outage":
            retry_after = spec.get("retryAfter")
            return self.outage(spec.get("seconds"), retry_after=None if retry_after is None else int(retry_after))
        raise ValueError("kind must be one of rate_limit, server_error, slow, outage")

    def _add(
        self, kind: FaultKind, status: int | None, count: int | None, seconds: float | None, **options: Any
    ) -> FaultRule:
        until = None if seconds is None else self.clock.monotonic() + seconds
        rule = FaultRule(next(self._ids), kind, status, remaining=count, until=until, clock=self.clock, **options)
        with self._lock:
            self._rules.append(rule)
        return rule

    # -- using and inspecting --

    def outcome(self, method: str, path: str) -> FaultOutcome:
        """Consume the rules matching this request and say what they do to it."""
        now = self.clock.monotonic()
        delay = 0.0
        answer: FaultRule | None = None
        applied: list[int] = []
        with self._lock:
            for rule in self._rules:
                if not rule.applies_to(method, path, now):
                    continue
                if rule.probability is not None and answer is None:
                    assert rule.rng is not None
                    if rule.rng.random() >= rule.probability:
                        continue  # this request is one the fraction spares
                elif rule.probability is not None:
                    continue  # already answered: no draw, so the sequence stays repeatable
                if rule.status is None:
                    delay += rule.delay
                elif answer is None:
                    answer = rule
                else:
                    continue
                rule.hits += 1
                applied.append(rule.id)
                if rule.remaining is not None:
                    rule.remaining -= 1
            self._rules = [r for r in self._rules if not r.expired(now)]
        return FaultOutcome(delay, replace(answer) if answer else None, tuple(applied))

    def active(self) -> list[FaultRule]:
        with self._lock:
            return [replace(r) for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

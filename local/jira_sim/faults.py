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

A rule may also require ``contains``: a text that must occur in the request's path, query string or
body (one incident's requests: its id is in the create body, its issue key in the paths). The app
hands the injector only the method and path, so the body reaches it through `FaultInjector.middleware`,
a WSGI wrapper that keeps the current request's text for the thread answering it.

A ``ceiling`` rule (`rate_ceiling`) is a site's burst limit: it admits at most ``ceiling`` requests in
any trailing ``window`` seconds of the fault clock (a sliding window, counting only requests no other
rule answered) and answers the rest 429 ``RateLimit-Reason: jira-burst-based`` with a Retry-After of
when the window next has room, so a client that sends faster than a site allows sees it.

Deadlines and delays use an injected clock (anything with ``time()``, ``monotonic()`` and ``sleep()``:
the ``time`` module by default, or the local runtime's ``SimClock``), so a test can let an outage's
hour pass in an instant.
"""

from __future__ import annotations

import fnmatch
import io
import itertools
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
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
    #: Only requests whose path, query string or body contain this text (None: any request).
    contains: str | None = None
    #: A burst ceiling: at most this many admitted requests per trailing `window` seconds.
    ceiling: int | None = None
    window: float = 1.0
    admitted: deque[float] = field(default_factory=deque, repr=False, compare=False)

    def expired(self, now: float) -> bool:
        used_up = self.remaining is not None and self.remaining <= 0
        return used_up or (self.until is not None and now >= self.until)

    def applies_to(self, method: str, path: str, now: float, text: str = "") -> bool:
        if self.expired(now):
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.contains is not None and self.contains not in path and self.contains not in text:
            return False
        return self.path is None or fnmatch.fnmatchcase(path, self.path)

    def over_ceiling(self, now: float) -> bool:
        """A ceiling rule: admit this request (False) if the window has room, else it is over (True)."""
        assert self.ceiling is not None
        while self.admitted and self.admitted[0] <= now - self.window:
            self.admitted.popleft()
        if len(self.admitted) < self.ceiling:
            self.admitted.append(now)
            return False
        self.retry_after = max(1, math.ceil(self.admitted[0] + self.window - now))
        return True

    def headers(self, now_utc: datetime) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        if self.kind == "rate_limit":
            reset = now_utc + timedelta(seconds=self.retry_after or 0)
            headers |= {
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                "X-RateLimit-Limit": str(self.ceiling if self.ceiling is not None else 100),
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
            "contains": self.contains,
            "ceiling": self.ceiling,
            "window": self.window,
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
        self._current = threading.local()  # the request being answered on this thread (`middleware`)

    def middleware(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        """Wrap the simulator's WSGI app so ``contains`` rules see the request's query string and body
        (the body is read once and handed on unchanged)."""

        def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            environ["wsgi.input"] = io.BytesIO(body)
            self._current.text = environ.get("QUERY_STRING", "") + "\n" + body.decode("utf-8", "replace")
            try:
                return app(environ, start_response)
            finally:
                self._current.text = ""

        return wrapped

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
        contains: str | None = None,
    ) -> FaultRule:
        """The next ``count`` matching requests answer ``status`` (500, 502, 503...; a 4xx is a refusal)."""
        return self._add("server_error", status, count, seconds, retry_after=retry_after, method=method, path=path,
                         contains=contains)

    def rate_ceiling(
        self,
        requests_per_second: float,
        *,
        window: float = 1.0,
        reason: str = "jira-burst-based",
        seconds: float | None = None,
    ) -> FaultRule:
        """The site admits at most ``requests_per_second * window`` requests in any trailing ``window``
        seconds; the rest answer 429 with Retry-After (when the window next has room) and the headers."""
        ceiling = max(1, int(requests_per_second * window))
        return self._add("rate_limit", 429, None, seconds, retry_after=1, reason=reason, ceiling=ceiling,
                         window=window)

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
        if kind == "rate_limit" and spec.get("ceiling") is not None:
            return self.rate_ceiling(float(spec["ceiling"]) / float(spec.get("window", 1.0)),
                                     window=float(spec.get("window", 1.0)),
                                     reason=spec.get("reason", "jira-burst-based"), seconds=spec.get("seconds"))
        if kind == "server_error":
            retry_after = spec.get("retryAfter")
            return self.server_error(
                int(spec.get("status", 500)),
                spec.get("count", 1),
                retry_after=None if retry_after is None else int(retry_after),
                contains=spec.get("contains"),
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
        text = getattr(self._current, "text", "")
        delay = 0.0
        answer: FaultRule | None = None
        applied: list[int] = []
        with self._lock:
            for rule in self._rules:
                if not rule.applies_to(method, path, now, text):
                    continue
                if rule.ceiling is not None:  # checked last of all (see below), on admitted requests only
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
            for rule in self._rules:  # a burst ceiling counts only what the site would process
                if answer is None and rule.ceiling is not None and rule.applies_to(method, path, now, text) \
                        and rule.over_ceiling(now):
                    answer = rule
                    rule.hits += 1
                    applied.append(rule.id)
            self._rules = [r for r in self._rules if not r.expired(now)]
        return FaultOutcome(delay, replace(answer) if answer else None, tuple(applied))

    def active(self) -> list[FaultRule]:
        with self._lock:
            return [replace(r) for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

"""The HTTP transport every Jira call goes through: timeouts, retries, auth headers, request counts.

One :class:`JiraTransport` wraps one urllib3 pool manager for one base URL (a Jira site, the
api.atlassian.com gateway, or the OAuth token server). Every request gets a timeout (connect
3.05 s, read 10 s unless configured), auth headers from an :class:`Authenticator`, a debug log line
(method, path template, status, elapsed: never headers or bodies) and a count in a
:class:`RequestCounter` keyed by (method, path template).

Retry rules (see :meth:`JiraTransport.request`):

* **429 and 503** mean Jira did not process the request, so any method is retried, POST included.
  ``Retry-After`` is honoured; a ``Retry-After`` longer than ``RetryPolicy.retry_after_max`` (or, for a
  queue-backed caller, than the invocation's ``max_wait``) is not slept through: the call fails at
  once with :class:`JiraRateLimited` / :class:`JiraUnavailable` carrying ``retry_after``, so the caller
  defers the work in its queue (retrying earlier than Jira asked only earns a longer wait).
* **Connection refused / DNS failure / connect timeout** mean the request never left: any method is
  retried.
* **500, 502, 504, a read timeout or a dropped connection** mean the request may have been applied:
  retried only for idempotent calls: GET, HEAD, OPTIONS, PUT, DELETE, or a call marked
  ``idempotent=True`` (POST search/jql, builds/deployments bulk, which dedupe through
  ``updateSequenceNumber``). Otherwise :class:`JiraUnavailable` with ``outcome_unknown=True``.
* Waits are exponential backoff with full jitter (``uniform(0, min(backoff_max, base * 2**n))``)
  unless Jira sent ``Retry-After`` (then that value plus a little jitter).
* A retry happens only if the time budget (``remaining_time``, e.g. the Lambda context's remaining
  time) still covers the wait, one more attempt and a reserve; each attempt's timeouts are also
  clipped to the budget, so a Lambda never sleeps or waits past its own deadline.
* A 401 triggers one immediate retry when the authenticator can refresh (OAuth: a new token).

Why the loop is hand-written rather than ``urllib3.util.Retry``: Retry applies one method allow-list
to every status, so it cannot say "retry a POST on 429/503 and connect errors, but not on 502/504 or
a read timeout"; it sleeps with ``time.sleep`` inside urllib3 (not injectable, so tests would sleep)
for as long as ``Retry-After`` says (no cap, no deadline); and it hides the individual attempts, so
they could be neither counted nor logged, nor could a 401 refresh the OAuth token between attempts.
Every request is therefore sent with ``retries=False`` and this module owns every retry.

Why urllib3 directly rather than requests: requests adds nothing this transport uses (its session merges
settings, cookies and hooks into each request and re-parses its URL) and costs about 20 ms of import on a
cold start, 0.3-0.5 ms of CPU per request and 1.5 MB of layer (requests, charset_normalizer, idna,
certifi); urllib3 is already loaded by boto3. What requests did for us is done here: the proxy and CA
bundle read from the environment once per transport, the query and JSON body encoded as requests would.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json as _json
import logging
import os
import random as _random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from jira_bridge.invocation import current_budget, current_max_wait
from jira_bridge.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraRateLimited,
    JiraUnavailable,
    parse_error_body,
    refusal_from_response,
)
from jira_bridge.jira.request_budget import BUDGET_REASON, BudgetExhausted, RequestBudget

_log = logging.getLogger("jira_bridge.jira.transport")

DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
"""(connect, read) seconds; 3.05 s connect is the usual "just over a TCP retransmit window"."""

DEFAULT_USER_AGENT = "jira-bridge/0.1 (+urllib3)"
ACCEPT_ENCODING = "gzip, deflate"
"""What the transport accepts (urllib3 decodes both)."""

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NOT_PROCESSED_STATUSES = frozenset({429, 503})
"""Jira did not process the request: safe to repeat for every method."""
MAYBE_PROCESSED_STATUSES = frozenset({500, 502, 504})
"""The request may have been applied: repeated only for idempotent calls."""

type ParamValue = str | int | float | bool | Sequence[str | int | float | bool] | None
type Params = Mapping[str, ParamValue] | Sequence[tuple[str, str]]


class Authenticator(Protocol):
    """Adds credentials to a request. Implementations live in :mod:`jira_bridge.jira.auth`."""

    def auth_headers(self, method: str, path: str, params: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        """Headers for this request (``path`` is relative to the transport's base URL)."""
        ...

    def refresh_after_unauthorized(self) -> bool:
        """Called on a 401: drop cached credentials; ``True`` if one retry may now succeed."""
        ...

    def describe(self) -> str:
        """Who the requests are made as (an e-mail, client id or app key): never a secret."""
        ...


class RemainingTimeContext(Protocol):
    """The part of the Lambda context object the transport needs."""

    def get_remaining_time_in_millis(self) -> int: ...


def lambda_remaining_time(context: RemainingTimeContext) -> Callable[[], float]:
    """Seconds left in this invocation, for ``remaining_time=`` / :meth:`JiraTransport.time_budget`."""
    return lambda: context.get_remaining_time_in_millis() / 1000.0




@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``max_attempts`` counts HTTP attempts (the first one included)."""

    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 30.0
    retry_after_jitter: float = 0.5
    deadline_reserve: float = 1.0
    """Seconds of the time budget left untouched for the caller (to record a failure, answer SQS)."""
    min_attempt_seconds: float = 2.0
    """A retry is only worth it if at least this long remains for the attempt itself."""

    def backoff(self, retry_number: int, rand: float) -> float:
        """Full jitter: ``rand * min(backoff_max, backoff_base * 2 ** (retry_number - 1))``."""
        ceiling = min(self.backoff_max, self.backoff_base * (2.0 ** max(retry_number - 1, 0)))
        return rand * ceiling


class RequestCounter:
    """Requests sent, per (method, path template): the benchmark's "Jira requests per operation".

    Every attempt counts (a retried call counts twice). One counter may be shared by several
    transports (site, gateway, token server).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}

    def record(self, method: str, template: str) -> None:
        with self._lock:
            key = (method, template)
            self._counts[key] = self._counts.get(key, 0) + 1

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass(frozen=True)
class JiraResponse:
    """A successful (2xx) answer. ``body`` is parsed JSON, text, or ``None`` when empty."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(repr=False)
    attempts: int = 1


def normalize_params(params: Params | None) -> list[tuple[str, str]]:
    """Query parameters as (name, value) pairs exactly as they go on the wire.

    Booleans become ``true``/``false`` (requests would send ``True``), sequences become repeated
    parameters and ``None`` values are dropped. The JWT query-string hash is computed from the same
    pairs, so what is signed is what is sent.
    """
    if params is None:
        return []
    if not isinstance(params, Mapping):
        return [(str(k), str(v)) for k, v in params]
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, str | bool | int | float):
            pairs.append((name, _scalar(value)))
        else:
            pairs.extend((name, _scalar(item)) for item in value)
    return pairs


def _scalar(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds (what Jira sends) or an HTTP date; ``None`` if absent."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_rate_limit_reset(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds until ``X-RateLimit-Reset`` (Jira: ISO 8601 ``yyyy-MM-ddTHH:mmZ``, not epoch seconds)."""
    if not value or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _provably_not_sent(exc: HTTPError) -> bool:
    """True when the request never reached the server: connect timeout, refused, DNS failure.

    With ``retries=False`` urllib3 raises the failure itself: ``NewConnectionError`` (refused, no such
    host: ``NameResolutionError`` is one) and a connect timeout are both ``ConnectTimeoutError``s. A
    ``ProxyError`` is raised only while reaching the proxy or opening its tunnel, before Jira sees anything
    (an answer the proxy relays, 502 included, is an HTTP answer, not an exception).
    """
    return isinstance(exc, ConnectTimeoutError | ProxyError)


def _describe_failure(exc: HTTPError) -> str:
    """A short description that never includes the URL (its query may hold an e-mail address)."""
    if isinstance(exc, NewConnectionError):
        return "connection refused or host not found"
    if isinstance(exc, ConnectTimeoutError):
        return "connect timeout"
    if isinstance(exc, ReadTimeoutError):
        return "read timeout (no answer in time)"
    if isinstance(exc, SSLError):
        return "TLS error"
    if isinstance(exc, ProxyError):
        return "proxy unreachable or refused the tunnel"
    if isinstance(exc, ProtocolError):
        return "connection dropped"
    return type(exc).__name__


class HttpAnswer:
    """One HTTP answer, read whole: status, case-insensitive headers, body bytes."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.content)


def pool_manager(base_url: str) -> urllib3.PoolManager:
    """The connection pools for one base URL, with the container's proxy and CA bundle.

    Read once, here: a container's environment does not change. The proxy comes from ``HTTPS_PROXY`` /
    ``HTTP_PROXY`` / ``ALL_PROXY`` unless ``NO_PROXY`` names the host (the standard library's reading of
    them, as requests and curl do); the CA bundle from ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` (kept
    from the requests era: deployments set them), else the bundle botocore verifies AWS with.
    """
    parts = urlsplit(base_url)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or _default_ca_bundle()
    pools: dict[str, Any] = {"num_pools": 4, "maxsize": 10, "retries": False, "cert_reqs": "CERT_REQUIRED",
                             "ca_cert_dir" if os.path.isdir(bundle) else "ca_certs": bundle}
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy and not _bypasses_proxy(parts.hostname or "", parts.port):
        proxy_url = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if proxy_url.username is not None:  # user:password@proxy: urllib3 sends it only if asked to
            login = f"{unquote(proxy_url.username)}:{unquote(proxy_url.password or '')}"
            pools["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=login)
        return urllib3.ProxyManager(proxy, **pools)
    return urllib3.PoolManager(**pools)


def _bypasses_proxy(host: str, port: int | None) -> bool:
    """``NO_PROXY`` as requests read it: the standard library's host and domain suffixes, plus CIDR
    ranges (``10.0.0.0/8``) and ``host:port`` entries, which the standard library does not match."""
    if proxy_bypass(host):
        return True
    no_proxy = os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or ""
    for entry in (e.strip() for e in no_proxy.split(",") if e.strip()):
        if "/" in entry:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        elif port is not None and entry == f"{host}:{port}":
            return True
    return False


def _default_ca_bundle() -> str:
    from botocore.httpsession import where  # the runtime's botocore: certifi's bundle if present, else its own

    return str(where())


class JiraTransport:
    """One HTTP session to one base URL, with Jira's retry, timeout and auth rules.

    ``sleep``, ``clock`` (monotonic seconds) and ``rand`` (uniform [0, 1)) are injectable so tests
    never sleep. ``remaining_time`` returns the seconds left in the caller's time budget (``None``:
    unlimited); set it per invocation with :meth:`time_budget`.
    """

    def __init__(
        self,
        base_url: str,
        auth: Authenticator | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        policy: RetryPolicy | None = None,
        counter: RequestCounter | None = None,
        http: urllib3.PoolManager | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = _random.random,
        remaining_time: Callable[[], float] | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        budget: RequestBudget | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"Jira base URL must be http(s)://host[/path], got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self.counter = counter if counter is not None else RequestCounter()
        self._remaining_time = remaining_time
        self._parent: JiraTransport | None = None
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._user_agent = user_agent
        self._http = http or pool_manager(self.base_url)
        # One base URL, so one connection pool: asking the manager for it per request re-parses the URL
        # and rebuilds its pool key (about 10% of a request's CPU, measured). Through a proxy the manager
        # stays in the path: it writes the absolute URL a plain-HTTP proxy needs.
        self._pool = None if isinstance(self._http, urllib3.ProxyManager) else self._http.connection_from_url(base_url)
        self._url_path = parts.path.rstrip("/")
        self.budget = budget  # the site's shared request budget (None: unpaced)

    @property
    def remaining_time(self) -> Callable[[], float] | None:
        """Seconds left in the time budget: this transport's own, else the one it was derived from."""
        if self._remaining_time is not None:
            return self._remaining_time
        if self._parent is not None and self._parent.remaining_time is not None:
            return self._parent.remaining_time
        return current_budget()

    @remaining_time.setter
    def remaining_time(self, remaining_time: Callable[[], float] | None) -> None:
        self._remaining_time = remaining_time

    def derive(self, base_url: str, auth: Authenticator | None) -> JiraTransport:
        """A transport to another base URL (its own connection pools) sharing this one's policy, timeouts,
        counter, sleep/clock/rand and, unless it gets its own, its time budget."""
        child = JiraTransport(
            base_url,
            auth,
            timeout=self.timeout,
            policy=self.policy,
            counter=self.counter,
            sleep=self._sleep,
            clock=self._clock,
            rand=self._rand,
            user_agent=self._user_agent,
        )
        child._parent = self
        return child

    @contextmanager
    def time_budget(self, remaining_time: Callable[[], float] | None) -> Iterator[None]:
        """Within the block, retries and timeouts respect ``remaining_time`` (seconds left)."""
        previous = self._remaining_time
        self._remaining_time = remaining_time
        try:
            yield
        finally:
            self._remaining_time = previous

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        self._http.clear()

    def __enter__(self) -> JiraTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # convenience verbs -------------------------------------------------------------------------

    def get(self, path: str, *, params: Params | None = None, template: str | None = None) -> JiraResponse:
        return self.request("GET", path, params=params, template=template)

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        template: str | None = None,
        idempotent: bool | None = None,
    ) -> JiraResponse:
        return self.request("POST", path, json=json, params=params, template=template, idempotent=idempotent)

    def put(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        template: str | None = None,
        idempotent: bool | None = None,
    ) -> JiraResponse:
        return self.request("PUT", path, json=json, params=params, template=template, idempotent=idempotent)

    def delete(self, path: str, *, params: Params | None = None, template: str | None = None) -> JiraResponse:
        return self.request("DELETE", path, params=params, template=template)

    # the Jira call -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        template: str | None = None,
        idempotent: bool | None = None,
        authenticate: bool = True,
        headers: Mapping[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> JiraResponse:
        """Send one logical request, retrying as the module docstring describes.

        ``path`` is relative to the base URL and already percent-encoded; ``template`` (e.g.
        ``/rest/api/3/issue/{issueIdOrKey}``) names it in counts and logs (default: ``path``);
        errors name the concrete ``path`` (never the query string).
        ``idempotent`` overrides the method default (GET/PUT/DELETE yes, POST no).

        Raises :class:`JiraRequestRefused` (4xx), :class:`JiraRateLimited` (429 after retries),
        :class:`JiraUnavailable` (5xx, network, timeout, or no time budget left).
        """
        method = method.upper()
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        template = template or path
        safe_to_repeat = idempotent if idempotent is not None else method in IDEMPOTENT_METHODS
        pairs = normalize_params(params)
        url = self.base_url + path
        # Encoded once, byte for byte as requests' `json=` encoded it, so a
        # retry resends the same bytes.
        body = None if json is None else _json.dumps(json, allow_nan=False).encode("utf-8")
        attempt = 0
        refreshed_auth = False
        while True:
            attempt += 1
            timeouts = self._attempt_timeouts(timeout or self.timeout, method, path, attempt)
            request_headers = {"Accept": "application/json", "User-Agent": self._user_agent}
            if headers:
                request_headers.update(headers)
            if authenticate and self.auth is not None:
                request_headers.update(self.auth.auth_headers(method, path, pairs))
            self._take_budget(method, path, attempt)
            self.counter.record(method, template)
            started = self._clock()
            try:
                response = self._send(method, url, pairs, body, request_headers, timeouts)
            except HTTPError as exc:
                elapsed_ms = (self._clock() - started) * 1000
                record_jira_call(None, elapsed_ms)
                delay = self._delay_after_exception(
                    exc,
                    method,
                    template,
                    path=path,
                    attempt=attempt,
                    safe_to_repeat=safe_to_repeat,
                    elapsed_ms=elapsed_ms,
                )
                self._sleep(delay)
                continue

            status = response.status_code
            elapsed_ms = (self._clock() - started) * 1000
            record_jira_call(status, elapsed_ms)
            _log.debug(
                "jira %s %s -> %d in %.0f ms (attempt %d)", method, template, status, elapsed_ms, attempt
            )
            if 200 <= status < 300:
                if self.budget is not None and response.headers.get("X-RateLimit-NearLimit") == "true":
                    self.budget.near_limit()  # < 20% of a Jira budget left: ease off before the 429s
                return self._success(response, method, path, attempt, checked=authenticate)

            if (
                status == 401
                and authenticate
                and self.auth is not None
                and not refreshed_auth
                and self.auth.refresh_after_unauthorized()
            ):
                refreshed_auth = True
                attempt -= 1  # the refresh retry does not use up the retry allowance
                continue

            retry_after = self._wait_asked(response)
            repeatable = status in NOT_PROCESSED_STATUSES or (
                safe_to_repeat and status in MAYBE_PROCESSED_STATUSES
            )
            if repeatable:
                wait = self._plan_retry(attempt, retry_after)
                if wait is not None:
                    self._sleep(wait)
                    continue
            raise self._error_for(
                response,
                method,
                path,
                attempts=attempt,
                retry_after=retry_after,
                safe_to_repeat=safe_to_repeat,
            )

    def _send(
        self,
        method: str,
        url: str,
        pairs: list[tuple[str, str]],
        body: bytes | None,
        headers: dict[str, str],
        timeouts: tuple[float, float],
    ) -> HttpAnswer:
        """One attempt: no redirects followed, no retries inside urllib3, the body read whole (so the
        connection goes back to the pool), no cookie jar (every request carries its own credentials,
        and a session cookie would make Jira Data Center apply its XSRF check to POSTs)."""
        headers = {"Accept-Encoding": ACCEPT_ENCODING, **headers}
        if body is not None:
            headers["Content-Type"] = "application/json"
        query = f"?{urlencode(pairs)}" if pairs else ""
        timeout = urllib3.Timeout(connect=timeouts[0], read=timeouts[1])
        response: urllib3.BaseHTTPResponse
        try:
            response = self._urlopen(method, url, query, body, headers, timeout)
        except ValueError:
            # http.client refuses a header value holding a line break or control character before sending
            # anything. The only header values from outside are the credentials, so this is the connector
            # secret; not chained: the exception's text is the header value itself.
            raise JiraAuthError(method=method, path=url[len(self.base_url):], status=401, error_messages=[
                "a credential in the connector secret is not a valid HTTP header value (a line break or "
                "control character, often from a copy and paste): set it again (jira-bridge connector set)"
            ]) from None
        return HttpAnswer(response.status, response.headers, response.data)

    def _urlopen(self, method: str, url: str, query: str, body: bytes | None, headers: dict[str, str],
                 timeout: urllib3.Timeout) -> urllib3.BaseHTTPResponse:
        if self._pool is None:
            return self._http.urlopen(method, url + query, body=body, headers=headers, timeout=timeout,
                                      retries=False, redirect=False, preload_content=True)
        return self._pool.urlopen(method, self._url_path + url[len(self.base_url):] + query, body=body,
                                  headers=headers, timeout=timeout, retries=False, redirect=False,
                                  preload_content=True)

    def _wait_asked(self, response: HttpAnswer) -> float | None:
        """How long Jira asked us to wait; a 429 also slows the site's budget."""
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if response.status_code == 429:
            if not retry_after:  # Cloud: the reset time (minute-precise); Data Center: its refill rate
                retry_after = (parse_rate_limit_reset(response.headers.get("X-RateLimit-Reset"))
                               or datacenter_refill_wait(response.headers) or retry_after)
            if self.budget is not None:
                self.budget.throttled(response.headers.get("RateLimit-Reason"))
        return retry_after

    def _success(self, response: HttpAnswer, method: str, path: str, attempt: int, *,
                 checked: bool) -> JiraResponse:
        if checked and self.auth is not None:
            _refuse_anonymous_answer(response, method, path)
        return JiraResponse(response.status_code, _body(response), response.headers, attempt)

    def _take_budget(self, method: str, path: str, attempt: int) -> None:
        """One token of the site's request budget, or JiraRateLimited: the event waits in its queue."""
        if self.budget is None:
            return
        try:
            self.budget.acquire()
        except BudgetExhausted as exhausted:
            raise JiraRateLimited(method=method, path=path, retry_after=exhausted.wait,
                                  reason=BUDGET_REASON, attempts=attempt - 1) from None

    def _delay_after_exception(
        self,
        exc: HTTPError,
        method: str,
        template: str,
        *,
        path: str,
        attempt: int,
        safe_to_repeat: bool,
        elapsed_ms: float,
    ) -> float:
        """The wait before retrying after a network failure, or raise :class:`JiraUnavailable`."""
        not_sent = _provably_not_sent(exc)
        what = _describe_failure(exc)
        _log.debug(
            "jira %s %s failed: %s after %.0f ms (attempt %d)", method, template, what, elapsed_ms, attempt
        )
        if not_sent or safe_to_repeat:
            delay = self._plan_retry(attempt, None)
            if delay is not None:
                return delay
        hint = "" if not_sent or safe_to_repeat else " (not retried: the request may have been applied)"
        raise JiraUnavailable(
            f"Jira unreachable for {method} {path}: {what} after {attempt} attempt(s){hint}",
            method=method,
            path=path,
            attempts=attempt,
            outcome_unknown=not not_sent,
        ) from exc

    def _attempt_timeouts(
        self, configured: tuple[float, float], method: str, path: str, attempt: int
    ) -> tuple[float, float]:
        if self.remaining_time is None:
            return configured
        budget = self.remaining_time() - self.policy.deadline_reserve
        if budget <= 0:
            raise JiraUnavailable(
                f"not sending {method} {path}: the time budget is used up (attempt {attempt})",
                method=method,
                path=path,
                attempts=attempt - 1,
                outcome_unknown=False,
            )
        return (min(configured[0], budget), min(configured[1], budget))

    def _plan_retry(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up now."""
        policy = self.policy
        if attempt >= policy.max_attempts:
            return None
        if retry_after is not None:
            if retry_after > policy.retry_after_max:
                return None
            delay = retry_after + self._rand() * policy.retry_after_jitter
        else:
            delay = policy.backoff(attempt, self._rand())
        max_wait = current_max_wait()
        if max_wait is not None and delay > max_wait:
            return None  # a queue-backed caller waits in its queue, not asleep in the Lambda
        if self.remaining_time is not None:
            left_after_wait = self.remaining_time() - delay
            if left_after_wait < policy.deadline_reserve + policy.min_attempt_seconds:
                return None
        return delay

    def _error_for(
        self,
        response: HttpAnswer,
        method: str,
        path: str,
        *,
        attempts: int,
        retry_after: float | None,
        safe_to_repeat: bool,
    ) -> JiraError:
        status = response.status_code
        body = _body(response)
        if status == 429:
            return JiraRateLimited(
                method=method,
                path=path,
                retry_after=retry_after,
                reason=response.headers.get("RateLimit-Reason") or _datacenter_limit(response.headers),
                attempts=attempts,
            )
        if status == 403 and str(response.headers.get("X-Authentication-Denied-Reason", "")).startswith(
            "CAPTCHA_CHALLENGE"
        ):
            return JiraAuthError(
                method=method,
                path=path,
                status=status,
                error_messages=[
                    "Jira Data Center locked this account behind a CAPTCHA after failed logins, so REST basic "
                    "auth fails even with the right password: log in once through the web UI (or ask an admin "
                    "to reset the failed-login count), and better, switch the connector to a personal access "
                    "token (PATs are not subject to the CAPTCHA)"
                ],
            )
        if 400 <= status < 500:
            return refusal_from_response(method=method, path=path, status=status, body=body)
        if 300 <= status < 400:
            location = urlsplit(response.headers.get("Location", ""))
            target = f"{location.scheme}://{location.netloc}" if location.netloc else "elsewhere"
            return JiraError(
                f"Jira answered {method} {path} with a redirect ({status}) to {target}: "
                "check the site URL (https, no path)",
                method=method,
                path=path,
                status=status,
                retryable=False,
            )
        messages, errors = parse_error_body(body)
        details = "; ".join([f"{k}: {v}" for k, v in errors.items()] + messages)
        hint = ""
        if status in MAYBE_PROCESSED_STATUSES and not safe_to_repeat:
            hint = " (not retried: the request may have been applied)"
        return JiraUnavailable(
            f"Jira failed {method} {path} ({status}) after {attempts} attempt(s)"
            + (f": {details}" if details else "")
            + hint,
            method=method,
            path=path,
            status=status,
            attempts=attempts,
            outcome_unknown=status not in NOT_PROCESSED_STATUSES,
            retry_after=retry_after,
        )


def record_jira_call(status: int | None, elapsed_ms: float) -> None:
    """Metrics of one exchange (jira_bridge.observability), imported on first use: importing the
    transport must not create the Powertools objects before a function's environment is in place."""
    from jira_bridge.observability import record_jira_call as record

    record(status, elapsed_ms)


_DENIED_LOGIN_REASONS = frozenset({"AUTHENTICATION_DENIED", "AUTHENTICATED_FAILED"})


def _refuse_anonymous_answer(response: HttpAnswer, method: str, path: str) -> None:
    """Jira Data Center answers a request with bad credentials as the *anonymous* user, with 200.

    The signs are ``X-Seraph-LoginReason: AUTHENTICATION_DENIED|AUTHENTICATED_FAILED`` or
    ``X-AUSERNAME: anonymous`` (shared/contracts/jira-datacenter/README.md section 2). Acting on such an
    answer would read an empty anonymous view as "no such issue", so it is a 401 here. Jira Cloud
    sends neither header.
    """
    reason = str(response.headers.get("X-Seraph-LoginReason", "")).upper()
    user = str(response.headers.get("X-AUSERNAME", ""))
    if reason in _DENIED_LOGIN_REASONS or user.casefold() == "anonymous":
        why = f"X-Seraph-LoginReason: {reason}" if reason in _DENIED_LOGIN_REASONS else "X-AUSERNAME: anonymous"
        raise JiraAuthError(
            method=method,
            path=path,
            status=401,
            error_messages=[
                f"Jira answered {response.status_code} as the anonymous user ({why}): the credentials were not "
                "accepted; check the username and password or the personal access token in the connector secret"
            ],
        )


def datacenter_refill_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds until a Data Center rate limiter (8.6+, opt-in) has a token again, from its headers.

    Data Center sends ``X-RateLimit-FillRate`` tokens every ``X-RateLimit-Interval-Seconds``; with
    none remaining, one token is ``interval / fill rate`` away. None when the headers are absent.
    """
    try:
        fill = float(headers.get("X-RateLimit-FillRate", ""))
        interval = float(headers.get("X-RateLimit-Interval-Seconds", ""))
    except ValueError:
        return None
    if fill <= 0 or interval <= 0:
        return None
    return interval / fill


def _datacenter_limit(headers: Mapping[str, str]) -> str | None:
    """The Data Center rate limiter's settings, for the error message (None on Cloud)."""
    limit = headers.get("X-RateLimit-Limit")
    if limit is None:
        return None
    fill = headers.get("X-RateLimit-FillRate", "?")
    interval = headers.get("X-RateLimit-Interval-Seconds", "?")
    return f"Data Center rate limiting: {limit} requests, {fill} more every {interval}s per user"


def _body(response: HttpAnswer) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text

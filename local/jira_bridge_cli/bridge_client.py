"""Calling a deployed (or ``local start``) bridge from a pipeline step: credentials, retries, waiting.

* **Credentials**: an API key (``--api-key``, ``JIRA_BRIDGE_API_KEY``), or an HMAC caller
  (``--caller``/``JIRA_BRIDGE_CALLER`` with ``JIRA_BRIDGE_HMAC_SECRET``): a body is signed as is, a
  GET by method, path, query and a fresh timestamp (:func:`jira_bridge.ci.callers.sign_request`),
  signed again for every attempt so a long wait never sends a stale timestamp.
* **Retries**: the network failing, 429, 502, 503 and 504 are retried until the deadline, waiting what
  ``Retry-After`` asks (never less), else doubling from 2 s up to a minute. Any other answer is
  returned at once: a 4xx cannot be fixed by asking again.
* **Waiting** (:func:`wait_for_decision`): poll an approval until it is not "waiting" or the timeout.

Time is read and slept through :data:`CLOCK` (``time.monotonic``/``time.sleep``), which tests replace
with a simulated clock, so an hour's wait is tested in an instant.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from jira_bridge.errors import ConfigurationError

CLOCK: list[Any] = [time.monotonic, time.sleep]
TRANSIENT = frozenset({429, 502, 503, 504})
FIRST_BACKOFF = 2.0
MAX_BACKOFF = 60.0
REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Credentials:
    api_key: str | None = None
    caller: str | None = None
    hmac_secret: str | None = None

    @classmethod
    def from_values(cls, api_key: str | None, caller: str | None, hmac_secret: str | None) -> Credentials:
        if api_key:
            return cls(api_key=api_key)
        if caller and hmac_secret:
            return cls(caller=caller, hmac_secret=hmac_secret)
        if caller:
            raise ConfigurationError(f"caller {caller!r} needs its HMAC secret: set JIRA_BRIDGE_HMAC_SECRET")
        raise ConfigurationError("the bridge needs a CI caller's credentials: --api-key KEY (or JIRA_BRIDGE_API_KEY), "
                                 "or --caller NAME with JIRA_BRIDGE_HMAC_SECRET (`jira-bridge ci-caller add`)")

    def headers(self, method: str, path: str, query: str, body: bytes | None) -> dict[str, str]:
        if self.api_key:
            return {"X-Api-Key": self.api_key}
        from jira_bridge.ci.callers import sign_request
        from jira_bridge.webhooks.signature import sign

        caller, secret = self.caller or "", self.hmac_secret or ""  # from_values ensures both
        if method == "GET":
            return sign_request(caller, secret, method, path, query)
        return {"X-Jira-Bridge-Caller": caller, "X-Hub-Signature-256": sign(body or b"", secret)}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    text: str = ""

    @property
    def message(self) -> str:
        return str(self.body.get("message") or self.text[:200] or "(no message)")


class BridgeClient:
    def __init__(self, base_url: str, credentials: Credentials) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ConfigurationError(f"{base_url!r} is not the bridge's URL: give its API base URL, e.g. "
                                     "https://ID.execute-api.REGION.amazonaws.com/v1 (stack output ApiUrl)")
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.waits: list[float] = []  # every wait between attempts, for the messages (and tests)

    def call(self, method: str, path: str, *, params: dict[str, str] | None = None, body: bytes | None = None,
             deadline: float) -> Answer:
        """The bridge's answer, retrying transient failures until ``deadline`` (on :data:`CLOCK`)."""
        import urllib3

        from jira_bridge.jira.transport import pool_manager  # the layer's proxy, NO_PROXY and CA bundle reading

        monotonic, sleep = CLOCK
        query = urlencode(params or {})
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        signed_path = urlsplit(url).path.removeprefix(urlsplit(self.base_url).path) or path
        http = pool_manager(self.base_url)
        attempt = 0
        while True:
            attempt += 1
            headers = {"Content-Type": "application/json", **self.credentials.headers(method, signed_path, query, body)}
            retry_after: float | None = None
            try:
                response = http.request(method, url, body=body, headers=headers, timeout=REQUEST_TIMEOUT,
                                        retries=False, redirect=False)
            except urllib3.exceptions.HTTPError as error:
                problem = f"cannot reach {self.base_url}: {type(error).__name__}"
            else:
                answer = _answer(response)
                if answer.status not in TRANSIENT:
                    return answer
                problem = f"{path} answered {answer.status}: {answer.message}"
                retry_after = _seconds(response.headers.get("Retry-After"))
            wait = max(retry_after or 0.0, min(FIRST_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF))
            if monotonic() + wait > deadline:
                from jira_bridge_cli.errors import EXIT_NETWORK, Unreachable

                raise Unreachable(f"{problem} (after {attempt} attempt{'s' if attempt > 1 else ''}; "
                                  "try again later, or give it longer with --timeout)", EXIT_NETWORK)
            self.waits.append(wait)
            sleep(wait)


def _answer(response: Any) -> Answer:
    text = response.data.decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    return Answer(response.status, body if isinstance(body, dict) else {}, text)


def _seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (an HTTP date is read as such), ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def wait_for_decision(ask: Callable[[float], dict[str, Any]], *, timeout: float, interval: float
                      ) -> tuple[dict[str, Any], bool]:
    """Ask until the decision is not "waiting" or ``timeout`` seconds have passed; (last answer, timed out).
    ``ask`` gets the deadline (its own retries end there). ``timeout`` 0: one answer."""
    monotonic, sleep = CLOCK
    deadline = monotonic() + max(timeout, 0.0)
    answer = ask(deadline)
    while answer.get("decision") == "waiting":
        if monotonic() + interval > deadline:
            return answer, timeout > 0
        sleep(interval)
        answer = ask(deadline)
    return answer, False


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()

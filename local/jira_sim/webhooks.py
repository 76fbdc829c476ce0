"""Admin webhooks: registrations, signed delivery on a background worker, retries, a delivery log.

Delivery follows Jira Cloud's published behaviour (``shared/contracts/jira-webhooks/README.md``):

* ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`` when the webhook has a secret;
* ``X-Atlassian-Webhook-Identifier``: unique per delivery, the same on every retry of it;
* ``X-Atlassian-Webhook-Retry: <n>`` on retries only; ``X-Atlassian-Webhook-Flow: Primary``;
* retried on 408, 409, 425, 429, any 5xx, a connection error or a timeout, with backoff, a bounded
  number of times. Jira's real delays are minutes; `DeliveryPolicy` makes them test-sized.

Events are queued while the request that caused them is still being handled (so a test that got its
response can already `wait_idle`), but sent only by the worker thread, never inside that request.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from jira_sim.events import SiteEvent
from jira_sim.state import Issue

ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
COMMENT_EVENTS = ("comment_created", "comment_updated", "comment_deleted")
ALL_EVENTS = ISSUE_EVENTS + COMMENT_EVENTS
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
USER_AGENT = "Atlassian Webhook HTTP Client"


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_retryable(status: int | None) -> bool:
    """None stands for a connection error or timeout."""
    return status is None or status in RETRYABLE_STATUSES or status >= 500


@dataclass(frozen=True)
class DeliveryPolicy:
    max_attempts: int = 5
    #: Delay before retry n is ``backoff_seconds[n - 1]`` (the last value repeats).
    backoff_seconds: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4)
    timeout_seconds: float = 5.0

    def delay_before_retry(self, retry: int) -> float:
        return self.backoff_seconds[min(retry, len(self.backoff_seconds)) - 1]


@dataclass(frozen=True)
class Webhook:
    id: int
    name: str
    url: str
    events: tuple[str, ...]
    secret: str | None = None
    jql_filter: str | None = None
    exclude_body: bool = False
    enabled: bool = True
    created_by: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class DeliveryAttempt:
    identifier: str
    webhook_id: int
    url: str
    event: str
    attempt: int
    headers: dict[str, str]
    body: bytes
    status: int | None
    error: str | None
    at: datetime
    will_retry: bool

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(order=True)
class _Pending:
    due: float
    sequence: int
    identifier: str = field(compare=False)
    webhook: Webhook = field(compare=False)
    url: str = field(compare=False)
    event: str = field(compare=False)
    body: bytes = field(compare=False)
    attempt: int = field(compare=False, default=1)


PayloadBuilder = Callable[[SiteEvent], dict[str, Any]]
FilterMatcher = Callable[[str, Issue], bool]


class WebhookDispatcher:
    def __init__(self, policy: DeliveryPolicy | None = None) -> None:
        self.policy = policy or DeliveryPolicy()
        self._webhooks: dict[int, Webhook] = {}
        self._ids = itertools.count(1)
        self._sequence = itertools.count()
        self._queue: list[_Pending] = []
        self._in_flight = 0
        self._log: list[DeliveryAttempt] = []
        self._condition = threading.Condition()
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._session = requests.Session()
        # Wired by the simulator: how to turn an event into a body, and evaluate a JQL filter.
        self.build_payload: PayloadBuilder = lambda _event: {}
        self.matches_filter: FilterMatcher = lambda _jql, _issue: True
        #: Data Center: no ``X-Atlassian-Webhook-*`` headers (documented for Cloud only), and a
        #: secret signs only from 10.0 (``signs``); a 9.x site delivers unsigned whatever is stored.
        self.datacenter = False
        self.signs = True

    # -- registrations --

    def register(
        self,
        url: str,
        events: Iterable[str] = ALL_EVENTS,
        *,
        secret: str | None = None,
        jql_filter: str | None = None,
        name: str | None = None,
        exclude_body: bool = False,
        created_by: str | None = None,
    ) -> Webhook:
        webhook_id = next(self._ids)
        webhook = Webhook(
            id=webhook_id,
            name=name or f"webhook {webhook_id}",
            url=url,
            events=tuple(events),
            secret=secret or None,
            jql_filter=jql_filter or None,
            exclude_body=exclude_body,
            created_by=created_by,
        )
        with self._condition:
            self._webhooks[webhook_id] = webhook
        return webhook

    def unregister(self, webhook_id: int) -> bool:
        with self._condition:
            return self._webhooks.pop(webhook_id, None) is not None

    def registrations(self) -> list[Webhook]:
        with self._condition:
            return list(self._webhooks.values())

    def get(self, webhook_id: int) -> Webhook | None:
        with self._condition:
            return self._webhooks.get(webhook_id)

    # -- publishing --

    def publish(self, event: SiteEvent) -> None:
        """Queue one delivery per matching webhook. Called with the state lock held."""
        targets = [
            w
            for w in self.registrations()
            if w.enabled
            and event.webhook_event in w.events
            and (w.jql_filter is None or self.matches_filter(w.jql_filter, event.issue))
        ]
        if not targets:
            return
        body = json.dumps(self.build_payload(event), separators=(",", ":")).encode()
        with self._condition:
            for webhook in targets:
                self._queue_delivery(
                    _Pending(
                        due=time.monotonic(),
                        sequence=next(self._sequence),
                        identifier=str(uuid.uuid4()),
                        webhook=webhook,
                        url=_expand_url(webhook.url, event.issue),
                        event=event.webhook_event,
                        body=b"" if webhook.exclude_body else body,
                    )
                )

    def _queue_delivery(self, pending: _Pending) -> None:
        heapq.heappush(self._queue, pending)
        self._condition.notify_all()

    # -- worker --

    def start(self) -> None:
        with self._condition:
            self._stopping = False
        self._worker = threading.Thread(target=self._run, name="jira-sim-webhooks", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._queue.clear()
            self._condition.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=self.policy.timeout_seconds + 1)
            self._worker = None
        self._session.close()

    def _run(self) -> None:
        while True:
            with self._condition:
                pending = self._next_due()
                if pending is None:
                    return
                self._in_flight += 1
            try:
                self._deliver(pending)
            finally:
                with self._condition:
                    self._in_flight -= 1
                    self._condition.notify_all()

    def _next_due(self) -> _Pending | None:
        """Block until a delivery is due (None when stopping). Call with the condition held."""
        while not self._stopping:
            if self._queue:
                wait = self._queue[0].due - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._queue)
                self._condition.wait(timeout=wait)
            else:
                self._condition.wait()
        return None

    def _deliver(self, pending: _Pending) -> None:
        headers = self._headers(pending)
        status: int | None = None
        error: str | None = None
        try:
            response = self._session.post(
                pending.url, data=pending.body, headers=headers, timeout=self.policy.timeout_seconds
            )
            status = response.status_code
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        will_retry = is_retryable(status) and pending.attempt < self.policy.max_attempts
        attempt = DeliveryAttempt(
            identifier=pending.identifier,
            webhook_id=pending.webhook.id,
            url=pending.url,
            event=pending.event,
            attempt=pending.attempt,
            headers=headers,
            body=pending.body,
            status=status,
            error=error,
            at=datetime.now(UTC),
            will_retry=will_retry,
        )
        with self._condition:
            self._log.append(attempt)
            if will_retry and not self._stopping:
                pending.attempt += 1
                pending.due = time.monotonic() + self.policy.delay_before_retry(pending.attempt - 1)
                pending.sequence = next(self._sequence)
                self._queue_delivery(pending)

    def _headers(self, pending: _Pending) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
        if not self.datacenter:
            headers["X-Atlassian-Webhook-Identifier"] = pending.identifier
            headers["X-Atlassian-Webhook-Flow"] = "Primary"
            if pending.attempt > 1:
                headers["X-Atlassian-Webhook-Retry"] = str(pending.attempt - 1)
        if pending.webhook.secret and self.signs:
            headers["X-Hub-Signature"] = sign(pending.body, pending.webhook.secret)
        return headers

    # -- observing --

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until nothing is queued, retrying or in flight. False when ``timeout`` ran out."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._queue and self._in_flight == 0, timeout)

    @property
    def deliveries(self) -> list[DeliveryAttempt]:
        with self._condition:
            return list(self._log)

    def clear_log(self) -> None:
        with self._condition:
            self._log.clear()

    def clear(self) -> None:
        """Forget registrations, queued deliveries and the log."""
        with self._condition:
            self._webhooks.clear()
            self._queue.clear()
            self._log.clear()


def _expand_url(url: str, issue: Issue) -> str:
    """Admin webhook URLs may use variables such as ``${issue.key}``; Jira substitutes them."""
    project_key = issue.key.rsplit("-", 1)[0]
    replacements = {
        "${issue.key}": issue.key,
        "${issue.id}": issue.id,
        "${project.key}": project_key,
        "${project.id}": issue.project_id,
    }
    for variable, value in replacements.items():
        url = url.replace(variable, value)
    return url

"""PagerDuty calls go through the Jira transport: one retry loop for every HTTP API we call.

:class:`jira_bridge.jira.transport.JiraTransport` is generic where it matters: a base URL, an
:class:`~jira_bridge.jira.transport.Authenticator`, per-request headers, timeouts clipped to the
Lambda's remaining time, and retry rules that fit PagerDuty as they fit Jira:

* 429 (and 503) are retried for every method, honouring ``Retry-After`` up to a cap;
* 500/502/504, read timeouts and dropped connections are retried only for idempotent calls:
  ``PUT /incidents/{id}`` is (setting a status or priority twice is setting it once), an Events API
  ``trigger`` with a ``dedup_key`` is (PagerDuty folds repeats into the open alert), and
  ``POST /incidents/{id}/notes`` is not (a repeat would post the note twice);
* connect failures are retried always (the request never left).

What is Jira-specific about it stays at this boundary: the transport raises Jira's typed errors,
which :func:`pagerduty_errors` turns into PagerDuty's (reading PagerDuty's own error body, which the
refusal carries as ``body``), and its debug log lines say "jira". PagerDuty's REST rate-limit
headers (``ratelimit-reset``) are not read: without ``Retry-After`` the transport backs off
exponentially, and a limit that outlasts its attempts surfaces as :class:`PagerDutyRateLimited`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from jira_bridge.jira.errors import JiraError, JiraRateLimited, JiraRequestRefused, JiraUnavailable
from jira_bridge.pagerduty.errors import (
    PagerDutyError,
    PagerDutyRateLimited,
    PagerDutyRefused,
    PagerDutyUnavailable,
)

if TYPE_CHECKING:
    from jira_bridge.jira.transport import JiraTransport

REST_API_URL = "https://api.pagerduty.com"
EVENTS_API_URL = "https://events.pagerduty.com"
REST_ACCEPT = "application/vnd.pagerduty+json;version=2"
USER_AGENT = "jira-bridge/0.1 (pagerduty; +urllib3)"


class PagerDutyTokenAuth:
    """A REST API key (account or user token): ``Authorization: Token token=<key>``."""

    def __init__(self, api_token: str) -> None:
        if not api_token:
            raise ValueError("PagerDuty REST calls need an API token")
        self._header = f"Token token={api_token}"

    def auth_headers(self, method: str, path: str, params: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        return {"Authorization": self._header}

    def refresh_after_unauthorized(self) -> bool:
        return False  # an API key cannot be refreshed; a 401 means the key is wrong or revoked

    def describe(self) -> str:
        return "PagerDuty REST API token"

    def __repr__(self) -> str:
        return "PagerDutyTokenAuth(api_token=***)"


def rest_transport(base_url: str, api_token: str, **options: Any) -> JiraTransport:
    """A transport to the REST API v2 (``options`` go to :class:`JiraTransport`: timeout, policy,
    counter, sleep, clock, rand, remaining_time, session)."""
    from jira_bridge.jira.transport import JiraTransport  # requests loads only when a sink is built

    options.setdefault("user_agent", USER_AGENT)
    return JiraTransport(base_url, PagerDutyTokenAuth(api_token), **options)


def events_transport(base_url: str = EVENTS_API_URL, **options: Any) -> JiraTransport:
    """A transport to the Events API v2 (no auth header: the routing key is in the body)."""
    from jira_bridge.jira.transport import JiraTransport

    options.setdefault("user_agent", USER_AGENT)
    return JiraTransport(base_url, None, **options)


@contextmanager
def pagerduty_errors() -> Iterator[None]:
    """Within the block, the transport's errors become PagerDuty's typed errors."""
    try:
        yield
    except JiraError as error:
        raise translate(error) from error


def translate(error: JiraError) -> PagerDutyError:
    method, path = error.method or "?", error.path or "?"
    if isinstance(error, JiraRateLimited):
        return PagerDutyRateLimited(method=method, path=path, retry_after=error.retry_after,
                                    attempts=error.attempts)
    if isinstance(error, JiraRequestRefused):
        reason, code, details = parse_error_body(error.body)
        return PagerDutyRefused(method=method, path=path, status=error.status or 400, reason=reason, code=code,
                                errors=details)
    if isinstance(error, JiraUnavailable):
        status = f" ({error.status})" if error.status else ""
        hint = "; it may have been applied" if error.outcome_unknown else ""
        return PagerDutyUnavailable(
            f"PagerDuty did not answer {method} {path}{status} after {error.attempts} attempt(s){hint}",
            method=method, path=path, status=error.status, attempts=error.attempts,
            outcome_unknown=error.outcome_unknown,
        )
    return PagerDutyError(f"PagerDuty call {method} {path} failed ({error.status})", method=method, path=path,
                          status=error.status, retryable=error.retryable)


def parse_error_body(body: Any) -> tuple[str | None, int | None, list[str]]:
    """(message, code, detail list) from either error dialect PagerDuty speaks.

    * REST API v2: ``{"error": {"code": 2001, "message": "Invalid Input Provided", "errors": [...]}}``
    * Events API v2: ``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``
    """
    if isinstance(body, Mapping):
        inner = body.get("error")
        source: Mapping[str, Any] = inner if isinstance(inner, Mapping) else body
        message = source.get("message")
        code = source.get("code")
        raw = source.get("errors")
        details = [str(item) for item in raw] if isinstance(raw, list) else []
        return (str(message) if message else None, code if isinstance(code, int) else None, details)
    if isinstance(body, str) and body.strip() and not body.lstrip().startswith("<"):
        return body.strip()[:200], None, []
    return None, None, []

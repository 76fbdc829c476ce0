"""Typed errors raised by the Jira client.

Every error carries ``retryable``: ``True`` means "the same request may succeed later" (the caller
should retry later, e.g. leave the SQS message for redelivery); ``False`` means Jira refused the
request and repeating it unchanged cannot help (record the refusal and dead-letter it).

Messages name the method, the path (never the query string, which can hold an e-mail address) and
Jira's own explanation. They never contain request headers, tokens or request bodies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jira_bridge.remote_errors import RemoteCallError, RemoteUnavailable

_MAX_TEXT_EXCERPT = 200


class JiraError(RemoteCallError):
    """Base class of everything this package raises about a Jira call."""


class JiraRequestRefused(JiraError):
    """Jira answered 4xx: it understood the request and refused it.

    ``error_messages`` and ``errors`` are Jira's own ``errorMessages`` list and ``errors`` map
    (field id -> message), so a user can see why, e.g. which field is not on the create screen.
    """

    retryable = False

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int,
        error_messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
        retryable: bool | None = None,
        body: Any = None,
    ) -> None:
        self.error_messages: list[str] = [str(message) for message in error_messages]
        self.errors: dict[str, str] = {str(k): str(v) for k, v in (errors or {}).items()}
        # The answer as parsed, for a caller whose API speaks another error dialect over the same
        # transport (PagerDuty's `{"error": {"code", "message", "errors"}}`). Never put in a message.
        self.body = body
        super().__init__(
            self._render(method, path, status), method=method, path=path, status=status, retryable=retryable
        )

    @property
    def details(self) -> str:
        """Jira's explanation as one line: field errors first, then the general messages."""
        parts = [f"{field}: {message}" for field, message in self.errors.items()]
        parts.extend(message for message in self.error_messages if message)
        return "; ".join(parts) if parts else "(Jira gave no details)"

    def _render(self, method: str, path: str, status: int) -> str:
        return f"Jira refused {method} {path} ({status}): {self.details}"


class JiraAuthError(JiraRequestRefused):
    """401: the credentials are missing, wrong, revoked or expired."""


class JiraPermissionError(JiraRequestRefused):
    """403: authenticated, but the account lacks a permission (or the app a scope)."""


class JiraNotFound(JiraRequestRefused):
    """404: the resource does not exist or the account may not see it (Jira does not say which)."""


class JiraPayloadTooLarge(JiraRequestRefused):
    """413: the request body is over Jira's size limit ("Submit fewer builds in each payload").

    Repeating it unchanged cannot help; sending its entities in smaller requests can.
    """


class JiraConflict(JiraRequestRefused):
    """409: "the issue could not be updated due to a conflicting update".

    Unlike the other refusals this one is transient (another writer got there first), so it is
    ``retryable``: the same change applied later normally succeeds.
    """

    retryable = True


class JiraUnavailable(RemoteUnavailable, JiraError):
    """Jira (or the network to it) failed: 5xx, connection error or timeout, after any retries.

    ``outcome_unknown`` is ``True`` when the request may have reached Jira and been applied (a read
    timeout, a 500/502/504 or a dropped connection on a non-idempotent call): before repeating a
    create, check whether the first attempt landed (e.g. search for the issue property).
    """



class JiraRateLimited(JiraError):
    """429 after the retries the time budget allowed; ``retry_after`` is Jira's wait in seconds.

    ``reason`` is the ``RateLimit-Reason`` header (``jira-burst-based``, ``jira-per-issue-on-write``,
    ``jira-quota-tenant-based``, ...) when Jira sent one.
    """

    retryable = True

    def __init__(
        self,
        *,
        method: str,
        path: str,
        retry_after: float | None,
        reason: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.retry_after = retry_after
        self.reason = reason
        self.attempts = attempts
        wait = f"; Jira asks to retry after {retry_after:g}s" if retry_after is not None else ""
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"Jira rate limited {method} {path}{why} after {attempts} attempt(s){wait}",
            method=method,
            path=path,
            status=429,
            retryable=True,
        )


_REFUSALS: dict[int, type[JiraRequestRefused]] = {
    401: JiraAuthError,
    403: JiraPermissionError,
    404: JiraNotFound,
    409: JiraConflict,
    413: JiraPayloadTooLarge,
}


def parse_error_body(body: Any) -> tuple[list[str], dict[str, str]]:
    """Extract Jira's messages from any of the error shapes its APIs use.

    * platform REST v3: ``{"errorMessages": [...], "errors": {field: message}}``
    * builds/deployments: ``[{"message": ..., "errorTraceId": ...}]``
    * OAuth token endpoint: ``{"error": ..., "error_description": ...}``
    * anything else: a short excerpt of a text body (HTML pages are summarised, not echoed)
    """
    messages: list[str] = []
    errors: dict[str, str] = {}
    if isinstance(body, dict):
        raw_messages = body.get("errorMessages")
        if isinstance(raw_messages, list):
            messages.extend(str(message) for message in raw_messages)
        raw_errors = body.get("errors")
        if isinstance(raw_errors, dict):
            errors.update({str(k): str(v) for k, v in raw_errors.items()})
        elif isinstance(raw_errors, list):
            messages.extend(_messages_from_list(raw_errors))
        if "error" in body and not messages and not errors:
            description = body.get("error_description") or body.get("message")
            messages.append(f"{body['error']}: {description}" if description else str(body["error"]))
        elif "message" in body and not messages and not errors:
            messages.append(str(body["message"]))
    elif isinstance(body, list):
        messages.extend(_messages_from_list(body))
    elif isinstance(body, str) and body.strip():
        text = body.strip()
        if text.lstrip().startswith("<"):
            messages.append(f"(non-JSON answer of {len(text)} characters)")
        else:
            messages.append(text[:_MAX_TEXT_EXCERPT] + ("..." if len(text) > _MAX_TEXT_EXCERPT else ""))
    return messages, errors


def _messages_from_list(items: list[Any]) -> list[str]:
    out: list[str] = []
    for item in items:
        if isinstance(item, dict) and "message" in item:
            out.append(str(item["message"]))
        elif isinstance(item, str):
            out.append(item)
    return out


def refusal_from_response(*, method: str, path: str, status: int, body: Any) -> JiraRequestRefused:
    """The typed 4xx error for ``status`` (409 -> JiraConflict, other 4xx -> JiraRequestRefused)."""
    messages, errors = parse_error_body(body)
    cls = _REFUSALS.get(status, JiraRequestRefused)
    return cls(method=method, path=path, status=status, error_messages=messages, errors=errors, body=body)

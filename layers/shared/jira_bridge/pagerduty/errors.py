"""Typed errors of the PagerDuty integration, with PagerDuty's own explanation.

Like :mod:`jira_bridge.jira.errors`, every error says whether repeating the same request later can
help (``retryable``), and messages name the method and path (never a query string, which can hold
an e-mail address, nor a header, token, routing key or body).
"""

from __future__ import annotations

from collections.abc import Sequence

from jira_bridge.remote_errors import RemoteCallError, RemoteUnavailable


class PagerDutyPayloadInvalid(ValueError):
    """What arrived is not a PagerDuty event we can read (answer 400 / send to the DLQ; never retry)."""


class PagerDutyError(RemoteCallError):
    """Base class of everything raised about a PagerDuty call."""


class PagerDutyRefused(PagerDutyError):
    """PagerDuty answered 4xx: it understood the request and refused it.

    ``code`` is PagerDuty's error code (REST API: 1001 Incident Already Resolved, 1002 Incident
    Already Acknowledged, 1008 Requester User Not Found, 2001 Invalid Input Provided, ...), ``reason``
    its message and ``errors`` its detailed list.
    """

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status: int,
        reason: str | None,
        code: int | None = None,
        errors: Sequence[str] = (),
    ) -> None:
        self.code = code
        self.reason = reason
        self.errors = [str(error) for error in errors]
        super().__init__(
            f"PagerDuty refused {method} {path} ({status}): {self.details}",
            method=method,
            path=path,
            status=status,
            retryable=False,
        )

    @property
    def details(self) -> str:
        head = self.reason or "(PagerDuty gave no message)"
        if self.code is not None:
            head += f" [code {self.code}]"
        return "; ".join([head, *self.errors])


class PagerDutyLookupFailed(PagerDutyError):
    """A name we were asked to use does not exist in PagerDuty (e.g. a priority): fix the mapping."""


class PagerDutyRateLimited(PagerDutyError):
    """429 after the retries the time budget allowed; ``retry_after`` in seconds when PagerDuty said."""

    retryable = True

    def __init__(self, *, method: str, path: str, retry_after: float | None, attempts: int) -> None:
        self.retry_after = retry_after
        self.attempts = attempts
        wait = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        super().__init__(
            f"PagerDuty rate limited {method} {path} after {attempts} attempt(s){wait}",
            method=method,
            path=path,
            status=429,
            retryable=True,
        )


class PagerDutyUnavailable(RemoteUnavailable, PagerDutyError):
    """5xx, network failure or timeout after any retries.

    ``outcome_unknown`` is ``True`` when the request may have been applied (e.g. a note was posted
    but the answer was lost): check before repeating a non-idempotent write.
    """


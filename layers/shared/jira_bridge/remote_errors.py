"""The shape every error about a call to a remote API shares (Jira, PagerDuty).

`retryable` tells the caller whether to let SQS retry (Jira down, throttled) or to record the failure
and park the event (the request was understood and refused).
"""

from __future__ import annotations


class RemoteCallError(Exception):
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self.message


class RemoteUnavailable(RemoteCallError):
    """The remote failed (5xx, network, timeout) after any retries: retry later.

    ``outcome_unknown`` is ``True`` when the request may have reached the remote and been applied (a
    read timeout, a 5xx or a dropped connection on a non-idempotent call): before repeating a write,
    check whether the first attempt landed.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        attempts: int = 1,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status, retryable=True)
        self.attempts = attempts
        self.outcome_unknown = outcome_unknown
        self.retry_after = retry_after  # the remote's Retry-After (a 503 may send one), in seconds

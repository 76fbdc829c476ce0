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

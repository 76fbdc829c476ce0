"""The current invocation's time budget, so every outbound call ends before the Lambda does.

Handlers enter `invocation_budget(context)` once per invocation; HTTP transports without a budget of
their own consult `current_budget()`. A context variable, not a global: safe under threads too.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class RemainingTimeContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


_BUDGET: contextvars.ContextVar[Callable[[], float] | None] = contextvars.ContextVar(
    "jira_bridge_invocation_budget", default=None)


_MAX_WAIT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "jira_bridge_max_in_process_wait", default=None)


def current_budget() -> Callable[[], float] | None:
    """Seconds left in this invocation, or None outside one."""
    return _BUDGET.get()


def current_max_wait() -> float | None:
    """Longest single wait a retry may spend in-process (None: the retry policy decides)."""
    return _MAX_WAIT.get()


@contextmanager
def invocation_budget(context: RemainingTimeContext | None, max_wait: float | None = None) -> Iterator[None]:
    """Bound outbound calls by the invocation's remaining time; queue-backed callers also pass
    ``max_wait``, so a longer Retry-After is raised to them (to wait in the queue) instead of slept."""
    remaining = (lambda: context.get_remaining_time_in_millis() / 1000.0) if context is not None else None
    token = _BUDGET.set(remaining)
    wait_token = _MAX_WAIT.set(max_wait)
    try:
        yield
    finally:
        _MAX_WAIT.reset(wait_token)
        _BUDGET.reset(token)

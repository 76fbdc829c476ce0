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


def current_budget() -> Callable[[], float] | None:
    """Seconds left in this invocation, or None outside one."""
    return _BUDGET.get()


@contextmanager
def invocation_budget(context: RemainingTimeContext | None) -> Iterator[None]:
    remaining = (lambda: context.get_remaining_time_in_millis() / 1000.0) if context is not None else None
    token = _BUDGET.set(remaining)
    try:
        yield
    finally:
        _BUDGET.reset(token)

"""Who a user JSON object is, on either site kind (no I/O, no dependencies: the domain imports it)."""

from __future__ import annotations

from typing import Any


def user_id(user: Any) -> str | None:
    """The id a site knows a user object by: ``accountId`` (Cloud), else ``name`` (Data Center).

    Data-driven rather than per site kind: Data Center user objects have no ``accountId`` and current
    Cloud ones carry no ``name``, so one rule reads both, and the domain never asks which site it is.
    """
    if not isinstance(user, dict):
        return None
    value = user.get("accountId") or user.get("name")
    return str(value) if value else None

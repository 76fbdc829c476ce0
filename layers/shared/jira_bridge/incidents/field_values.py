"""Turn a runbook's rendered value into the JSON Jira expects for that field.

Jira's field metadata (`GET /rest/api/3/field`, cached) says a field's type: a select takes
`{"value": ...}`, a user picker `{"accountId": ...}`, a textarea ADF, a number a number. Runbook
authors write plain values and the bridge shapes them, so a runbook reads like the Jira screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jira_bridge.jira.adf import from_markdown, to_adf

# System fields the bridge knows how to fill without asking Jira for metadata.
SYSTEM_FIELDS = frozenset(
    {"summary", "description", "priority", "assignee", "labels", "components", "duedate", "environment",
     "fixVersions", "versions", "reporter"}
)
CUSTOM_FIELD_ID = re.compile(r"^customfield_\d+$")
_WHITESPACE = re.compile(r"\s")


class FieldValueProblem(ValueError):
    """A value that cannot go into its field (wrong type, whitespace in a label, unknown field)."""


def check_label(label: str) -> str:
    if not label or _WHITESPACE.search(label):
        raise FieldValueProblem(f"label {label!r} contains whitespace; Jira labels are single words (use '-')")
    return label


def format_field(
    field_id: str,
    value: Any,
    schema: dict[str, Any] | None,
    account_for: Callable[[str], str | None],
) -> Any:
    """The JSON for `field_id` given a rendered value and the field's Jira schema (None for system)."""
    if value is None or value == "":
        return None
    if field_id == "labels":
        return [check_label(str(v)) for v in _as_list(value)]
    if field_id in {"components", "fixVersions", "versions"}:
        return [v if isinstance(v, dict) else {"name": str(v)} for v in _as_list(value)]
    if field_id in {"priority", "resolution"}:  # resolution: on a transition screen
        return value if isinstance(value, dict) else {"name": str(value)}
    if field_id in {"assignee", "reporter"}:
        return _user(value, account_for)
    if field_id in {"description", "environment"}:
        return _rich_text(value)
    if field_id in {"summary", "duedate"}:
        return str(value)
    return _custom(field_id, value, schema or {}, account_for)


def _custom(field_id: str, value: Any, schema: dict[str, Any], account_for: Callable[[str], str | None]) -> Any:
    kind = str(schema.get("type", ""))
    custom = str(schema.get("custom", ""))
    items = str(schema.get("items", ""))
    if isinstance(value, dict):  # already Jira-shaped: trust the author
        return value
    if custom.endswith(":textarea"):
        return _rich_text(value)
    if kind == "number":
        try:
            return float(value) if "." in str(value) else int(str(value))
        except ValueError:
            raise FieldValueProblem(f"{field_id} is a number field; {value!r} is not a number") from None
    if kind == "option":
        return {"value": str(value)}
    if kind == "array" and items == "option":
        return [{"value": str(v)} for v in _as_list(value)]
    if kind == "user":
        return _user(value, account_for)
    if kind == "array" and items == "user":
        return [_user(v, account_for) for v in _as_list(value)]
    if kind == "array" and items == "string":
        return [check_label(str(v)) if custom.endswith(":labels") else str(v) for v in _as_list(value)]
    if kind == "array":
        return [v if isinstance(v, dict) else {"name": str(v)} for v in _as_list(value)]
    return str(value) if not isinstance(value, int | float | bool) else value


def _user(value: Any, account_for: Callable[[str], str | None]) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    text = str(value).strip()
    if text.startswith("accountId:"):
        return {"accountId": text.removeprefix("accountId:")}
    account = account_for(text)
    return {"accountId": account} if account else None


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return [v for v in value if v not in (None, "")]
    if isinstance(value, str) and "," in value:
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]


def _rich_text(value: Any) -> Any:
    """Runbook text is Markdown-ish (lists, code, links): proper ADF; a document passes through."""
    return from_markdown(value) if isinstance(value, str) else to_adf(value)

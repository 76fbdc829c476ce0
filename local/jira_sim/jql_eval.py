"""Compiling a parsed JQL `Query` against a site into an issue predicate and a sort.

Values are resolved at compile time, so unknown projects, statuses or issue keys fail the whole
search with Jira's 400 messages rather than silently matching nothing. Semantics kept from Jira:
``!=`` and ``NOT IN`` never match an empty field; absolute dates are read in the searching user's
time zone; email addresses are not user values (Cloud's privacy rules).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jira_sim.adf import to_plain_text
from jira_sim.jql import (
    And,
    Clause,
    EmptyValue,
    FunctionCall,
    JqlError,
    Node,
    Not,
    Operand,
    Or,
    Query,
    Scalar,
    SortKey,
    Value,
    ValueList,
)
from jira_sim.seed import FieldSeed, SiteSeed, UserSeed
from jira_sim.state import Issue, SiteState

Predicate = Callable[[Issue], bool]
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."

_EQUALITY = frozenset({"=", "!=", "in", "not in", "is", "is not"})
_ORDERING = frozenset({"<", "<=", ">", ">="})
_TEXT = frozenset({"~", "!~", "is", "is not"})
_KEY_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
_PERIOD = re.compile(r"^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$")
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])")
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")
_PROPERTY_FIELD = re.compile(r"^issue\.property\[(?P<key>[^\]]+)\](?:\.(?P<path>.+))?$", re.IGNORECASE)
_CF_FIELD = re.compile(r"^cf\[(\d+)\]$", re.IGNORECASE)


@dataclass(frozen=True)
class CompiledQuery:
    predicate: Predicate
    order_by: tuple[SortKey, ...]
    sort: Callable[[list[Issue]], list[Issue]]


@dataclass(frozen=True)
class _Field:
    """How one JQL field reads an issue: ``kind`` decides which operators and values apply."""

    name: str
    kind: str  # "key" | "choice" | "user" | "label" | "text" | "date" | "number" | "property"
    read: Callable[[Issue], list[Any]]
    #: For "choice" fields: lower-cased name or id -> stored id.
    choices: dict[str, str] | None = None


class JqlCompiler:
    def __init__(self, state: SiteState, actor: UserSeed | None) -> None:
        self.state = state
        self.site: SiteSeed = state.site
        self.actor = actor
        self.now = state.now()

    def compile(self, query: Query, *, require_bounded: bool = True) -> CompiledQuery:
        if query.where is None and require_bounded:
            raise JqlError(UNBOUNDED)
        predicate = self._node(query.where) if query.where is not None else (lambda _issue: True)
        sorter = self._sorter(query.order_by)
        return CompiledQuery(predicate, query.order_by, sorter)

    # -- boolean structure --

    def _node(self, node: Node) -> Predicate:
        if isinstance(node, And):
            parts = [self._node(t) for t in node.terms]
            return lambda issue: all(p(issue) for p in parts)
        if isinstance(node, Or):
            parts = [self._node(t) for t in node.terms]
            return lambda issue: any(p(issue) for p in parts)
        if isinstance(node, Not):
            inner = self._node(node.term)
            return lambda issue: not inner(issue)
        return self._clause(node)

    def _clause(self, clause: Clause) -> Predicate:
        field = self._field(clause.field)
        allowed = {
            "key": _EQUALITY | _ORDERING,
            "choice": _EQUALITY,
            "user": _EQUALITY,
            "label": _EQUALITY,
            "text": _TEXT,
            "date": _EQUALITY | _ORDERING,
            "number": _EQUALITY | _ORDERING,
            "property": _EQUALITY | _ORDERING | {"~"},
        }[field.kind]
        if clause.operator not in allowed:
            raise JqlError(f"The operator '{clause.operator.upper()}' is not supported by the '{clause.field}' field.")
        if isinstance(clause.operand, EmptyValue):
            return self._emptiness(field, clause.operator)
        if clause.operator in ("~", "!~"):
            return self._text_match(field, clause)
        wanted = [self._resolve(field, scalar) for scalar in _scalars(clause.operand)]
        if clause.operator in _ORDERING:
            return _ordering(field, clause.operator, wanted[0])
        return _equality(field, clause.operator, wanted)

    @staticmethod
    def _emptiness(field: _Field, operator: str) -> Predicate:
        if operator not in ("is", "is not", "=", "!="):
            raise JqlError(f"The operator '{operator.upper()}' does not accept EMPTY for the '{field.name}' field.")
        want_empty = operator in ("is", "=")
        return lambda issue: (not field.read(issue)) == want_empty

    def _text_match(self, field: _Field, clause: Clause) -> Predicate:
        operand = clause.operand
        if not isinstance(operand, Value):
            raise JqlError(f"The operator '{clause.operator}' needs a text value for the '{field.name}' field.")
        needle = operand.text.strip("*").casefold()

        def contains(issue: Issue) -> bool:
            return any(needle in str(v).casefold() for v in field.read(issue))

        if clause.operator == "!~":
            return lambda issue: not contains(issue)
        return contains

    # -- fields --

    def _field(self, name: str) -> _Field:
        lowered = name.lower()
        system = self._system_fields().get(lowered)
        if system is not None:
            return system
        property_match = _PROPERTY_FIELD.match(name)
        if property_match:
            return self._property_field(name, property_match.group("key"), property_match.group("path"))
        custom = self._custom_field(name)
        if custom is not None:
            return self._custom(custom, name)
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")

    def _system_fields(self) -> dict[str, _Field]:
        site = self.site
        key_field = _Field("key", "key", lambda i: [i.id])
        statuses = _choices((s.id, s.name) for s in site.statuses)
        categories = {
            "new": "new",
            "to do": "new",
            "2": "new",
            "indeterminate": "indeterminate",
            "in progress": "indeterminate",
            "4": "indeterminate",
            "done": "done",
            "3": "done",
        }
        fields = {
            "key": key_field,
            "issuekey": key_field,
            "issue": key_field,
            "id": key_field,
            "project": _Field(
                "project",
                "choice",
                lambda i: [i.project_id],
                _choices((p.id, p.key) for p in site.projects) | _choices((p.id, p.name) for p in site.projects),
            ),
            "status": _Field("status", "choice", lambda i: [i.status_id], statuses),
            "statuscategory": _Field(
                "statusCategory", "choice", lambda i: [site.status(i.status_id).category], categories
            ),
            "priority": _Field(
                "priority",
                "choice",
                lambda i: _present(i.fields.get("priority")),
                _choices((p.id, p.name) for p in site.priorities),
            ),
            "issuetype": _Field(
                "issuetype",
                "choice",
                lambda i: [i.issue_type_id],
                _choices((t.id, t.name) for t in site.issue_types),
            ),
            "resolution": _Field(
                "resolution",
                "choice",
                lambda i: _present(i.fields.get("resolution")),
                _choices((r.id, r.name) for r in site.resolutions),
            ),
            "assignee": _Field("assignee", "user", lambda i: _present(i.fields.get("assignee"))),
            "reporter": _Field("reporter", "user", lambda i: _present(i.fields.get("reporter"))),
            "creator": _Field("creator", "user", lambda i: [i.creator]),
            "labels": _Field("labels", "label", lambda i: list(i.fields.get("labels", []))),
            "summary": _Field("summary", "text", lambda i: _present(i.fields.get("summary"))),
            "description": _Field(
                "description", "text", lambda i: _present(to_plain_text(i.fields.get("description")))
            ),
            "comment": _Field("comment", "text", lambda i: [to_plain_text(c.body) for c in i.comments]),
            "text": _Field("text", "text", _all_text),
            "created": _Field("created", "date", lambda i: [i.created]),
            "updated": _Field("updated", "date", lambda i: [i.updated]),
            "resolved": _Field("resolved", "date", lambda i: _present(i.resolution_date)),
            "resolutiondate": _Field("resolutiondate", "date", lambda i: _present(i.resolution_date)),
        }
        fields["type"] = fields["issuetype"]
        fields["createddate"] = fields["created"]
        fields["updateddate"] = fields["updated"]
        return fields

    def _custom_field(self, name: str) -> FieldSeed | None:
        cf_match = _CF_FIELD.match(name)
        if cf_match:
            return self.site.custom_field(f"customfield_{cf_match.group(1)}")
        by_id = self.site.custom_field(name.lower())
        if by_id is not None:
            return by_id
        return next((f for f in self.site.fields if f.name.casefold() == name.casefold()), None)

    @staticmethod
    def _custom(custom: FieldSeed, name: str) -> _Field:
        def read(issue: Issue) -> list[Any]:
            value = issue.fields.get(custom.id)
            if value is None:
                return []
            if custom.kind == "textarea":
                return [to_plain_text(value)]
            return list(value) if isinstance(value, list) else [value]

        kind = {
            "select": "choice",
            "multiselect": "choice",
            "user": "user",
            "number": "number",
            "datetime": "date",
            "string": "text",
            "textarea": "text",
            "url": "label",
        }[custom.kind]
        choices = _choices((o.id, o.value) for o in custom.options) if custom.options else None
        return _Field(name, kind, read, choices)

    @staticmethod
    def _property_field(name: str, key: str, path: str | None) -> _Field:
        def read(issue: Issue) -> list[Any]:
            if key not in issue.properties:
                return []
            value: Any = issue.properties[key]
            for part in (path or "").split(".") if path else []:
                if not isinstance(value, dict) or part not in value:
                    return []
                value = value[part]
            if value is None:
                return []
            return list(value) if isinstance(value, list) else [value]

        return _Field(name, "property", read)

    # -- values --

    def _resolve(self, field: _Field, scalar: Scalar) -> Any:
        if isinstance(scalar, FunctionCall):
            return self._function(field, scalar)
        text = scalar.text
        if field.kind == "key":
            return self._issue_id(field, text)
        if field.kind == "choice":
            assert field.choices is not None
            resolved = field.choices.get(text.casefold())
            if resolved is None:
                raise JqlError(f"The value '{text}' does not exist for the field '{field.name}'.")
            return resolved
        if field.kind == "user":
            user = self.site.find_user(text)
            if user is None or user.account_id != text:
                raise JqlError(f"The value '{text}' does not exist for the field '{field.name}'.")
            return user.account_id
        if field.kind == "date":
            return self._date(field, text)
        if field.kind == "number":
            try:
                return float(text)
            except ValueError as error:
                raise JqlError(f"The value '{text}' is not a valid number for the field '{field.name}'.") from error
        if field.kind == "property":
            return _property_value(text, scalar.quoted)
        return text

    def _function(self, field: _Field, call: FunctionCall) -> Any:
        name = call.name.lower()
        if name == "currentuser" and field.kind == "user":
            return self.actor.account_id if self.actor else None
        if name == "now" and field.kind == "date":
            return self.now
        if name in ("startofday", "endofday") and field.kind == "date":
            zone = ZoneInfo(self.actor.time_zone if self.actor else "UTC")
            start = self.now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
            return start if name == "startofday" else start + timedelta(days=1) - timedelta(milliseconds=1)
        raise JqlError(
            f"Unable to find JQL function '{call.name}()' for the field '{field.name}' "
            "(jira_sim supports currentUser(), now(), startOfDay() and endOfDay())."
        )

    def _issue_id(self, field: _Field, text: str) -> str:
        if text.isdigit():
            issue = self.state.find(text)
            return issue.id if issue else text
        if not _KEY_PATTERN.match(text):
            raise JqlError(f"The issue key '{text}' for field '{field.name}' is invalid.")
        issue = self.state.find(text)
        if issue is None:
            raise JqlError(f"An issue with key '{text}' does not exist for field '{field.name}'.")
        return issue.id

    def _date(self, field: _Field, text: str) -> datetime:
        period = _PERIOD.match(text.strip())
        if period:
            minutes = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}
            total = sum(int(n) * minutes[unit] for n, unit in _PERIOD_PART.findall(period.group(2)))
            sign = -1 if period.group(1) == "-" else 1
            return self.now + timedelta(minutes=sign * total)
        zone = ZoneInfo(self.actor.time_zone if self.actor else "UTC")
        for date_format in _DATE_FORMATS:
            try:
                return datetime.strptime(text, date_format).replace(tzinfo=zone)
            except ValueError:
                continue
        raise JqlError(
            f"Date value '{text}' for field '{field.name}' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format "
            "e.g. '-5d', '4w 2d'."
        )

    # -- ordering --

    def _sorter(self, keys: tuple[SortKey, ...]) -> Callable[[list[Issue]], list[Issue]]:
        order = keys or (SortKey("created", True),)
        priorities = [p.id for p in self.site.priorities]
        readers: dict[str, Callable[[Issue], Any]] = {
            "updated": lambda i: i.updated,
            "created": lambda i: i.created,
            "resolved": lambda i: i.resolution_date or datetime.min.replace(tzinfo=i.created.tzinfo),
            "key": lambda i: (i.key.rsplit("-", 1)[0], i.number),
            "issuekey": lambda i: (i.key.rsplit("-", 1)[0], i.number),
            "id": lambda i: int(i.id),
            "status": lambda i: self.site.status(i.status_id).name,
            "summary": lambda i: str(i.fields.get("summary", "")).casefold(),
            # Jira ranks Highest above Lowest: DESC lists Highest first.
            "priority": lambda i: -priorities.index(i.fields["priority"]) if i.fields.get("priority") else -99,
        }
        for key in order:
            if key.field.lower() not in readers:
                raise JqlError(f"Not able to sort using field '{key.field}'.")

        def sort(issues: list[Issue]) -> list[Issue]:
            ordered = sorted(issues, key=lambda i: int(i.id), reverse=True)
            for key in reversed(order):
                ordered.sort(key=readers[key.field.lower()], reverse=key.descending)
            return ordered

        return sort


def _scalars(operand: Operand) -> Iterable[Scalar]:
    if isinstance(operand, ValueList):
        return operand.items
    assert not isinstance(operand, EmptyValue)
    return (operand,)


def _equality(field: _Field, operator: str, wanted: list[Any]) -> Predicate:
    targets = {_comparable(w) for w in wanted}

    def matches(issue: Issue) -> bool:
        return any(_comparable(v) in targets for v in field.read(issue))

    if operator in ("=", "in"):
        return matches
    # != and NOT IN: Jira leaves issues with an empty field out of both sides.
    return lambda issue: bool(field.read(issue)) and not matches(issue)


def _ordering(field: _Field, operator: str, wanted: Any) -> Predicate:
    compare: Callable[[Any, Any], bool] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }[operator]

    def matches(issue: Issue) -> bool:
        for value in field.read(issue):
            try:
                if compare(_orderable(field, value), _orderable(field, wanted)):
                    return True
            except TypeError:
                continue
        return False

    return matches


def _orderable(field: _Field, value: Any) -> Any:
    if field.kind == "key":
        return int(value)
    return value


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return value.casefold()
    return value


def _property_value(text: str, quoted: bool) -> Any:
    if not quoted:
        try:
            return float(text)
        except ValueError:
            pass
    return text


def _choices(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    choices: dict[str, str] = {}
    for stored_id, name in pairs:
        choices[stored_id.casefold()] = stored_id
        choices[name.casefold()] = stored_id
    return choices


def _present(value: Any) -> list[Any]:
    return [] if value in (None, "", []) else [value]


def _all_text(issue: Issue) -> list[str]:
    texts = [str(issue.fields.get("summary", "")), to_plain_text(issue.fields.get("description"))]
    texts += [to_plain_text(c.body) for c in issue.comments]
    return [t for t in texts if t]

"""Issue fields: the system field catalogue, and turning REST input into stored values.

Parsing follows REST v3: rich text must be ADF, options are ``{"id"}`` or ``{"value"}``, users are
``{"accountId"}``, priorities/resolutions ``{"id"}`` or ``{"name"}``. Each parser raises
`FieldValueError` with Jira's message for that field; callers collect them per field id into one 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from jira_sim.adf import AdfValidatorSource, adf_error, to_wiki
from jira_sim.seed import FieldSeed, SiteSeed


class FieldValueError(ValueError):
    """The value given for one field is unacceptable; ``str(error)`` is Jira's message."""


@dataclass(frozen=True)
class SystemField:
    id: str
    name: str
    schema: dict[str, str] | None
    clause_names: tuple[str, ...]
    operations: tuple[str, ...] = ("set",)
    orderable: bool = True
    navigable: bool = True
    searchable: bool = True


def _schema(kind: str, system: str, items: str | None = None) -> dict[str, str]:
    schema = {"type": kind, "system": system}
    if items:
        schema["items"] = items
    return schema


SYSTEM_FIELDS: dict[str, SystemField] = {
    f.id: f
    for f in (
        SystemField("issuekey", "Key", None, ("id", "issue", "issuekey", "key"), (), False, True, False),
        SystemField("summary", "Summary", _schema("string", "summary"), ("summary",)),
        SystemField("description", "Description", _schema("string", "description"), ("description",)),
        SystemField("issuetype", "Issue Type", _schema("issuetype", "issuetype"), ("issuetype", "type")),
        SystemField("project", "Project", _schema("project", "project"), ("project",)),
        SystemField("priority", "Priority", _schema("priority", "priority"), ("priority",)),
        SystemField("assignee", "Assignee", _schema("user", "assignee"), ("assignee",)),
        SystemField("reporter", "Reporter", _schema("user", "reporter"), ("reporter",)),
        SystemField("labels", "Labels", _schema("array", "labels", "string"), ("labels",), ("add", "set", "remove")),
        SystemField("status", "Status", _schema("status", "status"), ("status",), (), False),
        SystemField("resolution", "Resolution", _schema("resolution", "resolution"), ("resolution",)),
        SystemField("created", "Created", _schema("datetime", "created"), ("created", "createdDate"), (), False),
        SystemField("updated", "Updated", _schema("datetime", "updated"), ("updated", "updatedDate"), (), False),
        SystemField(
            "resolutiondate",
            "Resolved",
            _schema("datetime", "resolutiondate"),
            ("resolutiondate", "resolved"),
            (),
            False,
        ),
        SystemField("creator", "Creator", _schema("user", "creator"), ("creator",), (), False),
        SystemField(
            "comment",
            "Comment",
            _schema("comments-page", "comment"),
            ("comment",),
            ("add", "edit", "remove"),
            True,
            False,
        ),
    )
}

_CUSTOM_TYPES: dict[str, tuple[str, str, str | None]] = {
    # kind: (schema type, custom type key suffix, items)
    "string": ("string", "textfield", None),
    "textarea": ("string", "textarea", None),
    "number": ("number", "float", None),
    "select": ("option", "select", None),
    "multiselect": ("array", "multiselect", "option"),
    "url": ("string", "url", None),
    "user": ("user", "userpicker", None),
    "datetime": ("datetime", "datetime", None),
}


def custom_field_schema(custom: FieldSeed) -> dict[str, Any]:
    kind, custom_type, items = _CUSTOM_TYPES[custom.kind]
    schema: dict[str, Any] = {
        "type": kind,
        "custom": f"com.atlassian.jira.plugin.system.customfieldtypes:{custom_type}",
        "customId": custom.custom_id,
    }
    if items:
        schema["items"] = items
    return schema


def custom_field_operations(custom: FieldSeed) -> list[str]:
    return ["add", "set", "remove"] if custom.kind == "multiselect" else ["set"]


def field_name(site: SiteSeed, field_id: str) -> str:
    if field_id in SYSTEM_FIELDS:
        return SYSTEM_FIELDS[field_id].name
    custom = site.custom_field(field_id)
    return custom.name if custom else field_id


# ---------------------------------------------------------------------------------------------
# Parsing REST input into stored values
# ---------------------------------------------------------------------------------------------


class FieldParser:
    """Parses the value of one settable field. Knows the site (for ids) and the ADF validator."""

    def __init__(self, site: SiteSeed, adf_validator: AdfValidatorSource, *, datacenter: bool = False) -> None:
        self.site = site
        self.adf_validator = adf_validator
        #: Data Center REST v2: rich text is a wiki-markup string, users are ``{"name"}``/``{"key"}``.
        self.datacenter = datacenter
        self._system: dict[str, Callable[[Any], Any]] = {
            "summary": self.summary,
            "description": self.rich_text,
            "priority": self.priority,
            "assignee": self.user,
            "reporter": self.user,
            "labels": self.labels,
            "resolution": self.resolution,
        }

    def parse(self, field_id: str, value: Any) -> Any:
        parser = self._system.get(field_id)
        if parser is not None:
            return parser(value)
        custom = self.site.custom_field(field_id)
        if custom is None:
            raise FieldValueError(f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown.")
        return self.custom(custom, value)

    # -- system fields --

    @staticmethod
    def summary(value: Any) -> str:
        if not isinstance(value, str):
            raise FieldValueError("Operation value must be a string")
        if not value.strip():
            raise FieldValueError("You must specify a summary of the issue.")
        if len(value) > 255:
            raise FieldValueError("Summary must be less than 255 characters.")
        return value

    def rich_text(self, value: Any) -> dict[str, Any] | str | None:
        if value is None:
            return None
        if self.datacenter:
            if not isinstance(value, str):
                # What Jira Server answers for a JSON object where REST v2 wants a string.
                raise FieldValueError("Operation value must be a string")
            return value
        problem = adf_error(value, self.adf_validator)
        if problem is not None:
            raise FieldValueError(problem)
        result: dict[str, Any] = value
        return result

    def priority(self, value: Any) -> str:
        if not isinstance(value, dict) or not ({"id", "name"} & value.keys()):
            raise FieldValueError("Specify the Priority (id or name) in the string format")
        for priority in self.site.priorities:
            if value.get("id") == priority.id or value.get("name") == priority.name:
                return priority.id
        raise FieldValueError("The priority selected is invalid.")

    def user(self, value: Any) -> str | None:
        if value is None:
            return None
        if self.datacenter:
            return self._dc_user(value)
        account_id = value.get("accountId", value.get("id")) if isinstance(value, dict) else None
        if not isinstance(account_id, str):
            raise FieldValueError("Specify a valid value for the user: an object with an 'accountId'")
        user = self.site.find_user(account_id)
        if user is None or user.account_id != account_id:
            # Cloud identifies users by accountId only; an email here is "not found" too.
            raise FieldValueError("Specified user does not exist or you do not have required permissions")
        return account_id

    def _dc_user(self, value: Any) -> str:
        """Data Center names users by ``name`` (username) or ``key``; it has no accountId."""
        ref = value.get("name", value.get("key")) if isinstance(value, dict) else None
        if not isinstance(ref, str):
            raise FieldValueError("expected Object containing a 'name' property")
        user = self.site.find_dc_user(ref)
        if user is None:
            raise FieldValueError(f"User '{ref}' does not exist.")
        return user.account_id

    @staticmethod
    def labels(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise FieldValueError("data was not an array")
        for label in value:
            if not isinstance(label, str):
                raise FieldValueError("Operation value must be a string")
            if " " in label:
                raise FieldValueError(f"The label '{label}' contains spaces which is invalid.")
        return list(dict.fromkeys(value))

    def resolution(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, dict):
            for resolution in self.site.resolutions:
                if value.get("id") == resolution.id or value.get("name") == resolution.name:
                    return resolution.id
        raise FieldValueError("Specify a valid resolution (id or name)")

    # -- custom fields --

    def custom(self, custom: FieldSeed, value: Any) -> Any:
        if value is None:
            return None
        kind = custom.kind
        if kind == "string":
            return _text(value, limit=255)
        if kind == "textarea":
            return self.rich_text(value)
        if kind == "url":
            return _url(value)
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FieldValueError("Operation value must be a number")
            return float(value)
        if kind == "select":
            return _option(custom, value)
        if kind == "multiselect":
            if not isinstance(value, list):
                raise FieldValueError("data was not an array")
            return list(dict.fromkeys(_option(custom, v) for v in value))
        if kind == "user":
            return self.user(value)
        return _datetime(value)


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise FieldValueError("Operation value must be a string")
    if len(value) > limit:
        raise FieldValueError(f"The entered text is too long. It exceeds the allowed limit of {limit} characters.")
    return value


def _url(value: Any) -> str:
    text = _text(value, limit=2000)
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise FieldValueError("Not a valid URL")
    return text


def _option(custom: FieldSeed, value: Any) -> str:
    if not isinstance(value, dict) or not ({"id", "value"} & value.keys()):
        raise FieldValueError("Could not find valid 'id' or 'value' in the Parent Option object.")
    if "id" in value:
        match = next((o for o in custom.options if o.id == str(value["id"])), None)
        if match is None:
            raise FieldValueError(f"Option id '{value['id']}' is not valid")
        return match.id
    match = next((o for o in custom.options if o.value == value["value"]), None)
    if match is None:
        raise FieldValueError(f"Option value '{value['value']}' is not valid")
    return match.id


def _datetime(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise FieldValueError("Invalid date format. Please enter the date in the format \"yyyy-MM-dd'T'HH:mm:ss.SSSZ\".")


# ---------------------------------------------------------------------------------------------
# Changelog representation
# ---------------------------------------------------------------------------------------------


def change_strings(site: SiteSeed, field_id: str, value: Any) -> tuple[str | None, str | None]:
    """(``from``/``to``, ``fromString``/``toString``) of a stored value, as changelog items show it."""
    if value is None or value == []:
        return None, None
    if field_id in ("summary",):
        return None, str(value)
    if field_id == "description":
        return None, to_wiki(value)
    if field_id == "labels":
        return None, " ".join(value)
    if field_id == "priority":
        return value, site.priority(value).name
    if field_id == "resolution":
        return value, site.resolution(value).name
    if field_id == "status":
        return value, site.status(value).name
    if field_id in ("assignee", "reporter"):
        return value, site.user(value).display_name
    custom = site.custom_field(field_id)
    if custom is None:
        return None, str(value)
    return _custom_change_strings(site, custom, value)


def _custom_change_strings(site: SiteSeed, custom: FieldSeed, value: Any) -> tuple[str | None, str | None]:
    options = {o.id: o.value for o in custom.options}
    if custom.kind == "select":
        return value, options[value]
    if custom.kind == "multiselect":
        return "[" + ", ".join(value) + "]", ",".join(options[v] for v in value)
    if custom.kind == "user":
        return value, site.user(value).display_name
    if custom.kind == "textarea":
        return None, to_wiki(value)
    if custom.kind == "number":
        return None, format_number(value)
    if custom.kind == "datetime":
        return None, value.isoformat()
    return None, str(value)


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)

"""The Jira Cloud platform REST API v3 client: every ``/rest/api/3`` call the flows make is here.

Each method is one Jira operation (the spec's operationId is named in its docstring) and goes
through :class:`jira_bridge.jira.transport.JiraTransport`, which owns retries, timeouts and auth.
Rich text (``description``, ``environment``, comment bodies, any field named in ``adf_fields``) is
sent as ADF: give plain text or a document.

Results are small frozen dataclasses where callers need a few well-known attributes; issue fields
stay raw dicts (``get_issue(...)["fields"]``) because their shape depends on the site's field config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from jira_bridge.jira.adf import adf_to_text, to_adf
from jira_bridge.jira.auth import BasicAuth
from jira_bridge.jira.errors import JiraError, JiraNotFound
from jira_bridge.jira.transport import JiraTransport, RequestCounter, RetryPolicy
from jira_bridge.jira.users import user_id

API: Final = "/rest/api/3"

DEFAULT_ADF_FIELDS: Final = ("description", "environment")
"""System fields that REST v3 only accepts as ADF. Textarea custom fields are added per call."""

_MISSING: Final[Any] = object()


def _seg(value: str | int) -> str:
    """One percent-encoded path segment (issue keys are safe, property keys may not be)."""
    return quote(str(value), safe="")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str_or_none(value: Any) -> str | None:
    return str(value) if value is not None else None


def _entity_properties(properties: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    if not properties:
        return None
    return [{"key": key, "value": value} for key, value in properties.items()]


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JiraUser:
    account_id: str
    """The id the site names the user by: the accountId on Cloud, the username on Data Center."""
    display_name: str
    email_address: str | None
    active: bool
    account_type: str | None = None
    time_zone: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Any) -> JiraUser:
        data = _dict(body)
        return cls(
            account_id=user_id(data) or "",
            display_name=str(data.get("displayName", "")),
            email_address=_str_or_none(data.get("emailAddress")),
            active=bool(data.get("active", True)),
            account_type=_str_or_none(data.get("accountType")),
            time_zone=_str_or_none(data.get("timeZone")),
            raw=data,
        )


@dataclass(frozen=True)
class ServerInfo:
    version: str
    version_numbers: tuple[int, ...]
    deployment_type: str | None
    build_number: int | None = None

    @classmethod
    def from_json(cls, body: Any) -> ServerInfo:
        data = _dict(body)
        raw_numbers = data.get("versionNumbers")
        numbers = (
            tuple(int(n) for n in raw_numbers if isinstance(n, int))
            if isinstance(raw_numbers, list)
            else tuple(int(p) for p in str(data.get("version", "")).split(".")[:3] if p.isdigit())
        )
        build = data.get("buildNumber")
        return cls(
            version=str(data.get("version", "")),
            version_numbers=numbers,
            deployment_type=_str_or_none(data.get("deploymentType")),
            build_number=int(build) if isinstance(build, int) else None,
        )


@dataclass(frozen=True)
class Permission:
    key: str
    name: str
    have: bool


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str
    subtask: bool = False


@dataclass(frozen=True)
class Project:
    id: str
    key: str
    name: str
    project_type_key: str | None
    issue_types: tuple[IssueType, ...]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Any) -> Project:
        data = _dict(body)
        types = tuple(
            IssueType(
                id=str(t.get("id", "")), name=str(t.get("name", "")), subtask=bool(t.get("subtask", False))
            )
            for t in data.get("issueTypes") or []
            if isinstance(t, dict)
        )
        return cls(
            id=str(data.get("id", "")),
            key=str(data.get("key", "")),
            name=str(data.get("name", "")),
            project_type_key=_str_or_none(data.get("projectTypeKey")),
            issue_types=types,
            raw=data,
        )


@dataclass(frozen=True)
class CreatedIssue:
    id: str
    key: str
    self_url: str | None = None

    @classmethod
    def from_json(cls, body: Any) -> CreatedIssue:
        data = _dict(body)
        if not data.get("id") or not data.get("key"):
            raise JiraError("Jira created an issue but its answer has no id/key", status=201, retryable=False)
        return cls(id=str(data["id"]), key=str(data["key"]), self_url=_str_or_none(data.get("self")))


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to_status_id: str | None
    to_status_name: str | None
    to_status_category: str | None
    """The target status category key: ``new``, ``indeterminate`` or ``done``."""
    has_screen: bool
    is_available: bool
    fields: dict[str, Any] = field(default_factory=dict, repr=False)
    """Screen field metadata (only with ``expand=transitions.fields``), by field id."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def required_fields(self) -> tuple[str, ...]:
        """Screen fields the transition needs and Jira cannot default."""
        return tuple(
            name
            for name, meta in self.fields.items()
            if isinstance(meta, dict) and meta.get("required") and not meta.get("hasDefaultValue")
        )

    @classmethod
    def from_json(cls, body: Any) -> Transition:
        data = _dict(body)
        to = _dict(data.get("to"))
        category = _dict(to.get("statusCategory"))
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            to_status_id=_str_or_none(to.get("id")),
            to_status_name=_str_or_none(to.get("name")),
            to_status_category=_str_or_none(category.get("key")),
            has_screen=bool(data.get("hasScreen", False)),
            is_available=bool(data.get("isAvailable", True)),
            fields=_dict(data.get("fields")),
            raw=data,
        )


@dataclass(frozen=True)
class Comment:
    id: str
    body: dict[str, Any] | str | None
    """The ADF document (REST v3), or the wiki-markup string (Data Center REST v2)."""
    author_account_id: str | None
    created: str | None
    updated: str | None
    properties: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    jsd_public: bool | None = None
    """Jira Service Management: false for an internal (agent-only) comment; None when Jira did not say."""
    author_account_type: str | None = None

    @property
    def text(self) -> str:
        return adf_to_text(self.body)

    @classmethod
    def from_json(cls, body: Any) -> Comment:
        data = _dict(body)
        props = {
            str(p["key"]): p.get("value")
            for p in data.get("properties") or []
            if isinstance(p, dict) and "key" in p
        }
        raw_body = data.get("body")
        return cls(
            id=str(data.get("id", "")),
            body=raw_body if isinstance(raw_body, dict | str) else None,
            author_account_id=user_id(data.get("author")),
            created=_str_or_none(data.get("created")),
            updated=_str_or_none(data.get("updated")),
            properties=props,
            raw=data,
            jsd_public=data["jsdPublic"] if isinstance(data.get("jsdPublic"), bool) else None,
            author_account_type=_str_or_none(_dict(data.get("author")).get("accountType")),
        )


@dataclass(frozen=True)
class CommentPage:
    comments: tuple[Comment, ...]
    start_at: int
    max_results: int
    total: int


@dataclass(frozen=True)
class SearchPage:
    issues: list[dict[str, Any]]
    next_page_token: str | None
    is_last: bool


@dataclass(frozen=True)
class Priority:
    id: str
    name: str
    is_default: bool = False

    @classmethod
    def from_json(cls, body: Any) -> Priority:
        data = _dict(body)
        return cls(id=str(data.get("id", "")), name=str(data.get("name", "")), is_default=bool(data.get("isDefault")))


@dataclass(frozen=True)
class IssueTypeStatuses:
    name: str
    statuses: dict[str, str]
    """Status name -> its category key (``new``, ``indeterminate``, ``done``), in Jira's order."""


@dataclass(frozen=True)
class JiraField:
    id: str
    key: str
    name: str
    custom: bool
    schema: dict[str, Any] | None = None

    @property
    def is_textarea(self) -> bool:
        """A multi-line text custom field: its value must be ADF in REST v3."""
        custom_type = str((self.schema or {}).get("custom", ""))
        return custom_type.endswith(":textarea")


# --- the client ---------------------------------------------------------------------------------


_ADDITIVE_UPDATE_FIELDS: Final = frozenset({"comment", "worklog", "issuelinks"})


class JiraClient:
    """The Jira client interface the domain uses, in the Jira Cloud dialect (REST v3, ADF, accountId).

    :class:`jira_bridge.jira.datacenter.DataCenterClient` is the Data Center dialect of the same
    interface (REST v2, wiki markup, users by name). Callers never ask which one they hold: the
    connector's ``kind`` picks it when the client is built.
    """

    api: str = API
    kind: str = "cloud"

    def __init__(self, transport: JiraTransport) -> None:
        self.transport = transport

    @classmethod
    def with_basic_auth(
        cls,
        site_url: str,
        email: str,
        api_token: str,
        *,
        counter: RequestCounter | None = None,
        policy: RetryPolicy | None = None,
        remaining_time: Callable[[], float] | None = None,
    ) -> JiraClient:
        """A client for ``site_url`` (e.g. ``https://your-org.atlassian.net``) as ``email``."""
        transport = JiraTransport(
            site_url,
            BasicAuth(email, api_token),
            counter=counter,
            policy=policy,
            remaining_time=remaining_time,
        )
        return cls(transport)

    def describe_identity(self) -> str:
        """Who the calls are made as (e-mail for Basic auth), for messages; never a secret."""
        return self.transport.auth.describe() if self.transport.auth is not None else "anonymous"

    # users and permissions -----------------------------------------------------------------

    def myself(self) -> JiraUser:
        """``getCurrentUser``: GET /rest/api/3/myself (also the cheapest credentials check)."""
        return JiraUser.from_json(self.transport.get(f"{self.api}/myself").body)

    def my_permissions(
        self, permissions: Iterable[str], project_key: str | None = None
    ) -> dict[str, Permission]:
        """``getMyPermissions``: GET /rest/api/3/mypermissions, optionally in one project's context."""
        keys = list(dict.fromkeys(permissions))
        if not keys:
            raise ValueError("name at least one permission key, e.g. CREATE_ISSUES")
        params = self._permission_params(keys)
        if project_key:
            params["projectKey"] = project_key
        body = _dict(self.transport.get(f"{self.api}/mypermissions", params=params).body)
        granted = _dict(body.get("permissions"))
        result: dict[str, Permission] = {}
        for key in keys:
            entry = _dict(granted.get(key))
            result[key] = Permission(
                key=key, name=str(entry.get("name") or key), have=bool(entry.get("havePermission", False))
            )
        return result

    def find_user_by_email(self, email: str) -> JiraUser | None:
        """``findUsers``: GET /rest/api/3/user/search?query=, keeping only an exact (case-insensitive) e-mail.

        Jira matches ``query`` as a prefix of display names and e-mails, and hides e-mails the user
        keeps private, so ``None`` means "no visible account with exactly this address".
        """
        wanted = email.strip().casefold()
        if not wanted:
            return None
        body = self.transport.get(
            f"{self.api}/user/search", params={self._user_search_param: email.strip(), "maxResults": 100}
        ).body
        matches = [
            JiraUser.from_json(item)
            for item in (body if isinstance(body, list) else [])
            if isinstance(item, dict) and str(item.get("emailAddress") or "").casefold() == wanted
        ]
        if not matches:
            return None
        matches.sort(key=lambda user: (not user.active, user.account_type != "atlassian"))
        return matches[0]

    def get_user(self, account_id: str) -> JiraUser:
        """``getUser``: GET /rest/api/3/user?accountId=."""
        return JiraUser.from_json(self.transport.get(f"{self.api}/user", params={"accountId": account_id}).body)

    def server_info(self) -> ServerInfo:
        """``getServerInfo``: GET /rest/api/{2,3}/serverInfo (version, deployment type)."""
        return ServerInfo.from_json(self.transport.get(f"{self.api}/serverInfo").body)

    # projects and metadata -----------------------------------------------------------------

    def get_project(self, key: str) -> Project:
        """``getProject``: GET /rest/api/3/project/{projectIdOrKey} (404 also when not browsable)."""
        response = self.transport.get(
            f"{self.api}/project/{_seg(key)}", template=f"{self.api}/project/{{projectIdOrKey}}"
        )
        return Project.from_json(response.body)

    def project_statuses(self, key: str) -> list[IssueTypeStatuses]:
        """``getAllStatuses``: GET /rest/api/3/project/{projectIdOrKey}/statuses, per issue type (Browse Projects)."""
        body = self.transport.get(f"{self.api}/project/{_seg(key)}/statuses",
                                  template=f"{self.api}/project/{{projectIdOrKey}}/statuses").body
        return [IssueTypeStatuses(
            name=str(item.get("name", "")),
            statuses={str(s.get("name")): str(_dict(s.get("statusCategory")).get("key", ""))
                      for s in item.get("statuses") or [] if isinstance(s, dict) and s.get("name")})
            for item in (body if isinstance(body, list) else []) if isinstance(item, dict)]

    def priorities(self) -> list[Priority]:
        """``searchPriorities``: GET /rest/api/3/priority/search, all pages.

        (GET /rest/api/3/priority is deprecated in the spec.)
        """
        out: list[Priority] = []
        start = 0
        while True:
            body = _dict(
                self.transport.get(
                    f"{self.api}/priority/search", params={"startAt": str(start), "maxResults": "100"}
                ).body
            )
            values = [v for v in body.get("values") or [] if isinstance(v, dict)]
            out.extend(Priority.from_json(v) for v in values)
            start += len(values)
            if body.get("isLast", True) or not values:
                return out

    def fields(self) -> list[JiraField]:
        """``getFields``: GET /rest/api/3/field (system and custom fields)."""
        body = self.transport.get(f"{self.api}/field").body
        return [
            JiraField(
                id=str(item.get("id", "")),
                key=str(item.get("key") or item.get("id", "")),
                name=str(item.get("name", "")),
                custom=bool(item.get("custom", False)),
                schema=item.get("schema") if isinstance(item.get("schema"), dict) else None,
            )
            for item in (body if isinstance(body, list) else [])
            if isinstance(item, dict)
        ]

    def create_fields(self, project: str, issue_type_id: str) -> dict[str, dict[str, Any]]:
        """``getCreateIssueMetaIssueTypeId``: GET /rest/api/3/issue/createmeta/{project}/issuetypes/{id},
        all pages: field id -> its metadata (``required``, ``schema``, ``allowedValues``, ...).
        Cloud lists them under ``fields``, Data Center under ``values``."""
        out: dict[str, dict[str, Any]] = {}
        start = 0
        while True:
            body = _dict(self.transport.get(
                f"{self.api}/issue/createmeta/{_seg(project)}/issuetypes/{_seg(issue_type_id)}",
                template=f"{self.api}/issue/createmeta/{{projectIdOrKey}}/issuetypes/{{issueTypeId}}",
                params={"startAt": str(start), "maxResults": "200"}).body)
            page = [f for f in body.get("fields") or body.get("values") or [] if isinstance(f, dict)]
            out.update({str(f.get("fieldId") or f.get("key")): f for f in page})
            start += len(page)
            if not page or start >= int(body.get("total") or 0):
                return out

    # issues --------------------------------------------------------------------------------

    def get_issue(
        self,
        id_or_key: str,
        fields: Sequence[str] | None = None,
        properties: Sequence[str] | None = None,
        *,
        expand: str | None = None,
    ) -> dict[str, Any]:
        """``getIssue``: GET /rest/api/3/issue/{issueIdOrKey}; the raw issue (``id``, ``key``, ``fields``)."""
        params: dict[str, str | None] = {
            "fields": ",".join(fields) if fields else None,
            "properties": ",".join(properties) if properties else None,
            "expand": expand,
        }
        response = self.transport.get(
            f"{self.api}/issue/{_seg(id_or_key)}", params=params, template=f"{self.api}/issue/{{issueIdOrKey}}"
        )
        return _dict(response.body)

    def create_issue(
        self,
        fields: Mapping[str, Any],
        properties: Mapping[str, Any] | None = None,
        *,
        update: Mapping[str, Any] | None = None,
        adf_fields: Iterable[str] = (),
    ) -> CreatedIssue:
        """``createIssue``: POST /rest/api/3/issue.

        ``properties`` (key -> JSON value) are stored on the issue in the same call, so an issue and
        its link marker appear atomically. Not retried after a read timeout or a 5xx (Jira may have
        created it): see :class:`JiraUnavailable.outcome_unknown`.
        """
        body: dict[str, Any] = {"fields": self._rich_fields(fields, adf_fields)}
        if update:
            body["update"] = self._rich_update(update)
        entity_properties = _entity_properties(properties)
        if entity_properties:
            body["properties"] = entity_properties
        return CreatedIssue.from_json(self.transport.post(f"{self.api}/issue", json=body).body)

    def edit_issue(
        self,
        id_or_key: str,
        fields: Mapping[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
        *,
        properties: Mapping[str, Any] | None = None,
        notify_users: bool = True,
        adf_fields: Iterable[str] = (),
    ) -> None:
        """``editIssue``: PUT /rest/api/3/issue/{issueIdOrKey}.

        Retried like any PUT, except when ``update`` adds comments, worklogs or links (a repeat
        would add them twice).
        """
        if not fields and not update and not properties:
            raise ValueError("edit_issue needs fields, update or properties")
        body: dict[str, Any] = {}
        if fields:
            body["fields"] = self._rich_fields(fields, adf_fields)
        if update:
            body["update"] = self._rich_update(update)
        entity_properties = _entity_properties(properties)
        if entity_properties:
            body["properties"] = entity_properties
        additive = any(
            name in _ADDITIVE_UPDATE_FIELDS
            and any(isinstance(op, Mapping) and "add" in op for op in ops or [])
            for name, ops in (update or {}).items()
        )
        self.transport.put(
            f"{self.api}/issue/{_seg(id_or_key)}",
            json=body,
            params=None if notify_users else {"notifyUsers": False},
            template=f"{self.api}/issue/{{issueIdOrKey}}",
            idempotent=not additive,
        )

    def get_transitions(self, id_or_key: str, expand_fields: bool = True) -> list[Transition]:
        """``getTransitions``: GET /rest/api/3/issue/{issueIdOrKey}/transitions (with screen fields)."""
        response = self.transport.get(
            f"{self.api}/issue/{_seg(id_or_key)}/transitions",
            params={"expand": "transitions.fields"} if expand_fields else None,
            template=f"{self.api}/issue/{{issueIdOrKey}}/transitions",
        )
        return [
            Transition.from_json(item)
            for item in _dict(response.body).get("transitions") or []
            if isinstance(item, dict)
        ]

    def transition_issue(
        self,
        id_or_key: str,
        transition_id: str,
        fields: Mapping[str, Any] | None = None,
        comment: str | Mapping[str, Any] | None = None,
        *,
        update: Mapping[str, Any] | None = None,
        adf_fields: Iterable[str] = (),
    ) -> None:
        """``doTransition``: POST /rest/api/3/issue/{issueIdOrKey}/transitions.

        ``comment`` (text or ADF) is added in the same call through ``update.comment[].add``.
        """
        body: dict[str, Any] = {"transition": {"id": str(transition_id)}}
        if fields:
            body["fields"] = self._rich_fields(fields, adf_fields)
        updates: dict[str, Any] = dict(update or {})
        if comment is not None:
            updates["comment"] = [*updates.get("comment", []), {"add": {"body": comment}}]
        if updates:
            body["update"] = self._rich_update(updates)
        self.transport.post(
            f"{self.api}/issue/{_seg(id_or_key)}/transitions",
            json=body,
            template=f"{self.api}/issue/{{issueIdOrKey}}/transitions",
        )

    # comments ------------------------------------------------------------------------------

    def add_comment(
        self,
        id_or_key: str,
        body: str | Mapping[str, Any],
        properties: Mapping[str, Any] | None = None,
        *,
        visibility: Mapping[str, str] | None = None,
    ) -> Comment:
        """``addComment``: POST /rest/api/3/issue/{issueIdOrKey}/comment; ``body`` is text or ADF."""
        payload: dict[str, Any] = {"body": self.rich_text(body)}
        entity_properties = _entity_properties(properties)
        if entity_properties:
            payload["properties"] = entity_properties
        if visibility:
            payload["visibility"] = dict(visibility)
        response = self.transport.post(
            f"{self.api}/issue/{_seg(id_or_key)}/comment",
            json=payload,
            template=f"{self.api}/issue/{{issueIdOrKey}}/comment",
        )
        return Comment.from_json(response.body)

    def get_comments(
        self,
        id_or_key: str,
        *,
        start_at: int = 0,
        max_results: int = 100,
        order_by: str | None = None,
    ) -> CommentPage:
        """``getComments``: GET /rest/api/3/issue/{issueIdOrKey}/comment (one page)."""
        params: dict[str, str | int | None] = {
            "startAt": start_at,
            "maxResults": max_results,
            "orderBy": order_by,
        }
        body = _dict(
            self.transport.get(
                f"{self.api}/issue/{_seg(id_or_key)}/comment",
                params=params,
                template=f"{self.api}/issue/{{issueIdOrKey}}/comment",
            ).body
        )
        comments = tuple(Comment.from_json(c) for c in body.get("comments") or [] if isinstance(c, dict))
        return CommentPage(
            comments=comments,
            start_at=int(body.get("startAt", start_at)),
            max_results=int(body.get("maxResults", max_results)),
            total=int(body.get("total", len(comments))),
        )

    def get_comment_property(self, comment_id: str, key: str) -> Any:
        """``getCommentProperty``: GET /rest/api/3/comment/{commentId}/properties/{propertyKey}; the
        value, or None when the comment has no such property (404)."""
        try:
            response = self.transport.get(
                f"{self.api}/comment/{_seg(comment_id)}/properties/{_seg(key)}",
                template=f"{self.api}/comment/{{commentId}}/properties/{{propertyKey}}",
            )
        except JiraNotFound:
            return None
        return _dict(response.body).get("value")

    # issue properties ----------------------------------------------------------------------

    def set_issue_property(self, id_or_key: str, key: str, value: Any) -> None:
        """``setIssueProperty``: PUT /rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}."""
        if value is None:
            raise ValueError("an issue property value must be non-empty JSON, not None")
        self.transport.put(
            f"{self.api}/issue/{_seg(id_or_key)}/properties/{_seg(key)}",
            json=value,
            template=f"{self.api}/issue/{{issueIdOrKey}}/properties/{{propertyKey}}",
        )

    def get_issue_property(self, id_or_key: str, key: str, default: Any = _MISSING) -> Any:
        """``getIssueProperty``: the property's value; ``default`` (if given) when Jira answers 404."""
        try:
            response = self.transport.get(
                f"{self.api}/issue/{_seg(id_or_key)}/properties/{_seg(key)}",
                template=f"{self.api}/issue/{{issueIdOrKey}}/properties/{{propertyKey}}",
            )
        except JiraNotFound:
            if default is _MISSING:
                raise
            return default
        return _dict(response.body).get("value")

    # remote issue links --------------------------------------------------------------------

    def upsert_remote_link(self, id_or_key: str, link: Mapping[str, Any]) -> str:
        """``createOrUpdateRemoteIssueLink``: POST .../issue/{issueIdOrKey}/remotelink; the link id.

        With a ``globalId``, Jira updates the issue's link with that id in place, else creates one,
        so a repeat is harmless: retried like a PUT.
        """
        if not link.get("globalId"):
            raise ValueError("a remote link needs a globalId to be updated in place")
        response = self.transport.post(
            f"{self.api}/issue/{_seg(id_or_key)}/remotelink",
            json=dict(link),
            template=f"{self.api}/issue/{{issueIdOrKey}}/remotelink",
            idempotent=True,
        )
        return str(_dict(response.body).get("id", ""))

    def remote_links(self, id_or_key: str, global_id: str | None = None) -> list[dict[str, Any]]:
        """``getRemoteIssueLinks``: GET .../issue/{issueIdOrKey}/remotelink[?globalId=]."""
        try:
            body = self.transport.get(
                f"{self.api}/issue/{_seg(id_or_key)}/remotelink",
                params={"globalId": global_id} if global_id else None,
                template=f"{self.api}/issue/{{issueIdOrKey}}/remotelink",
            ).body
        except JiraNotFound:
            if global_id:
                return []
            raise
        items = body if isinstance(body, list) else [body]
        return [item for item in items if isinstance(item, dict)]

    # search ------------------------------------------------------------------------------

    def search_jql(
        self,
        jql: str,
        fields: Sequence[str] | None = None,
        max_results: int = 50,
        next_page_token: str | None = None,
        *,
        properties: Sequence[str] | None = None,
        expand: str | None = None,
        reconcile_issues: Sequence[int] | None = None,
    ) -> SearchPage:
        """``searchAndReconsileIssuesUsingJqlPost``: POST /rest/api/3/search/jql (one page).

        The search index is eventually consistent: pass just-written numeric issue ids as
        ``reconcile_issues`` for read-after-write. A POST, but a read: retried like a GET.
        """
        body: dict[str, Any] = {"jql": jql, "maxResults": max_results}
        if fields is not None:
            body["fields"] = list(fields)
        if next_page_token:
            body["nextPageToken"] = next_page_token
        if properties:
            body["properties"] = list(properties)
        if expand:
            body["expand"] = expand
        if reconcile_issues:
            body["reconcileIssues"] = [int(i) for i in reconcile_issues]
        response = self.transport.post(f"{self.api}/search/jql", json=body, idempotent=True)
        data = _dict(response.body)
        token = data.get("nextPageToken")
        return SearchPage(
            issues=[i for i in data.get("issues") or [] if isinstance(i, dict)],
            next_page_token=str(token) if token else None,
            is_last=bool(data.get("isLast", not token)),
        )

    def iter_search_jql(
        self,
        jql: str,
        fields: Sequence[str] | None = None,
        page_size: int = 100,
        *,
        properties: Sequence[str] | None = None,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every issue matching ``jql``, following ``nextPageToken`` page by page."""
        token: str | None = None
        pages = 0
        while True:
            page = self.search_jql(jql, fields, page_size, token, properties=properties)
            pages += 1
            yield from page.issues
            token = page.next_page_token
            if page.is_last or not token or (max_pages is not None and pages >= max_pages):
                return

    # helpers -------------------------------------------------------------------------------

    def rich_text(self, value: str | Mapping[str, Any]) -> Any:
        """A rich-text value as this dialect sends it: REST v3 wants an ADF document."""
        return to_adf(value)

    _user_search_param = "query"
    """``user/search`` matches e-mails through ``query`` on Cloud (``username`` on Data Center)."""

    def _permission_params(self, keys: list[str]) -> dict[str, str]:
        """Cloud's ``mypermissions`` answers the keys named in ``permissions``."""
        return {"permissions": ",".join(keys)}

    def user_ref(self, user_id: str) -> dict[str, str]:
        """The JSON that names a user in a field value (REST v3: ``{"accountId": ...}``)."""
        return {"accountId": user_id}

    def _field_value(self, value: Any) -> Any:
        """A field value as this dialect sends it; Cloud sends the domain's values unchanged."""
        return value

    def _rich_fields(self, fields: Mapping[str, Any], extra: Iterable[str]) -> dict[str, Any]:
        names = set(DEFAULT_ADF_FIELDS) | set(extra)
        out: dict[str, Any] = {}
        for name, value in fields.items():
            if name in names and (isinstance(value, str) or (isinstance(value, Mapping) and "type" in value)):
                out[name] = self.rich_text(value)
            else:
                out[name] = self._field_value(value)
        return out

    def _rich_update(self, update: Mapping[str, Any]) -> dict[str, Any]:
        """``update.comment[].add.body`` and ``update.description[].set`` in this dialect's rich text."""
        out: dict[str, Any] = {}
        for name, ops in update.items():
            if name == "comment" and isinstance(ops, list):
                converted = []
                for op in ops:
                    if isinstance(op, Mapping) and isinstance(op.get("add"), Mapping) and "body" in op["add"]:
                        add = dict(op["add"])
                        add["body"] = self.rich_text(add["body"])
                        converted.append({**op, "add": add})
                    else:
                        converted.append(op)
                out[name] = converted
            elif name in DEFAULT_ADF_FIELDS and isinstance(ops, list):
                out[name] = [
                    {**op, "set": self.rich_text(op["set"])}
                    if isinstance(op, Mapping) and isinstance(op.get("set"), str | Mapping)
                    else op
                    for op in ops
                ]
            elif isinstance(ops, list):
                out[name] = [
                    {verb: self._field_value(value) for verb, value in op.items()} if isinstance(op, Mapping) else op
                    for op in ops
                ]
            else:
                out[name] = ops
        return out

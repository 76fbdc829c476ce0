"""JSON representations of site objects, as REST v3 returns them and as webhooks carry them.

One `Renderer` per API flavour: ``api="3"`` renders rich text as ADF (REST v3); ``api="2"`` renders
it as wiki markup and links under ``/rest/api/2`` (what webhook payloads contain, per the captures).
Timestamps use Jira's own format (``2019-02-15T19:01:52.971+0000``), not RFC 3339.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from jira_sim.adf import to_plain_text, to_wiki
from jira_sim.fields import SYSTEM_FIELDS, custom_field_schema, field_name
from jira_sim.seed import FieldSeed, ProjectSeed, SiteSeed, StatusCategoryKey, UserSeed
from jira_sim.state import ChangeGroup, Comment, Issue

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"

_CATEGORIES: dict[str, tuple[int, str, str]] = {
    # key: (id, name, colorName)
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}


def jira_timestamp(moment: datetime) -> str:
    millis = moment.microsecond // 1000
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis:03d}" + moment.strftime("%z")


@dataclass(frozen=True)
class FieldSelection:
    """The ``fields`` query parameter: ``*all``, ``*navigable``, names, and ``-name`` exclusions."""

    everything: bool
    navigable: bool
    names: frozenset[str]
    excluded: frozenset[str]

    @classmethod
    def parse(cls, values: Iterable[str], default: str = "*all") -> FieldSelection:
        tokens = [t.strip() for v in values for t in v.split(",") if t.strip()] or [default]
        names = {t for t in tokens if not t.startswith(("*", "-"))}
        excluded = {t[1:] for t in tokens if t.startswith("-")}
        # Only exclusions given means "navigable fields minus these", as Jira documents.
        navigable = "*navigable" in tokens or (not names and "*all" not in tokens and bool(excluded))
        return cls("*all" in tokens, navigable, frozenset(names), frozenset(excluded))

    @property
    def only_ids(self) -> bool:
        return not self.everything and not self.navigable and self.names <= {"id", "key"}

    def includes(self, field_id: str, navigable: bool) -> bool:
        if field_id in self.excluded:
            return False
        return self.everything or field_id in self.names or (self.navigable and navigable)


Flavour = Literal["cloud", "datacenter"]


class Renderer:
    """``flavour="datacenter"`` renders users as Data Center does (``name``/``key``, no accountId) and
    rich text as the stored wiki markup."""

    def __init__(
        self, site: SiteSeed, base_url: str, api: Literal["2", "3"] = "3", flavour: Flavour = "cloud"
    ) -> None:
        self.site = site
        self.base_url = base_url.rstrip("/")
        self.api = api
        self.flavour = flavour

    def rest(self, path: str) -> str:
        return f"{self.base_url}/rest/api/{self.api}/{path}"

    # -- users --

    def avatar_urls(self, account_id: str) -> dict[str, str]:
        base = f"{self.base_url}/_sim/avatar/{account_id}"
        return {f"{n}x{n}": f"{base}?s={n}" for n in (48, 24, 16, 32)}

    def user(self, user: UserSeed | str | None) -> dict[str, Any] | None:
        if user is None:
            return None
        seed = user if isinstance(user, UserSeed) else self.site.user(user)
        if self.flavour == "datacenter":
            return self._dc_user(seed)
        rendered: dict[str, Any] = {
            "self": self.rest(f"user?accountId={seed.account_id}"),
            "accountId": seed.account_id,
        }
        if not seed.hide_email:
            rendered["emailAddress"] = seed.email
        rendered |= {
            "avatarUrls": self.avatar_urls(seed.account_id),
            "displayName": seed.display_name,
            "active": seed.active,
            "timeZone": seed.time_zone,
            "accountType": seed.account_type,
        }
        return rendered

    def _dc_user(self, seed: UserSeed) -> dict[str, Any]:
        """The Server/Data Center shape (see the ``*.server.json`` webhook captures)."""
        return {
            "self": self.rest(f"user?username={seed.username}"),
            "name": seed.username,
            "key": seed.user_key,
            "emailAddress": seed.email,
            "avatarUrls": self.avatar_urls(seed.user_key),
            "displayName": seed.display_name,
            "active": seed.active,
            "timeZone": seed.time_zone,
        }

    def application_roles(self, seed: UserSeed) -> dict[str, Any]:
        """Data Center ``UserBean.applicationRoles`` (``expand=applicationRoles``): the products a user is
        licensed for. A Jira Service Management customer is a portal-only account with none; an agent
        holds ``jira-servicedesk`` (the ``jira-servicedesk-users`` group's role)."""
        items: list[dict[str, str]] = []
        if seed.account_type != "customer":
            items.append({"key": "jira-software", "name": "Jira Software"})
            desks = [p.key for p in self.site.projects if p.project_type == "service_desk"]
            if any("SERVICEDESK_AGENT" in seed.permissions_in(key) for key in desks):
                items.append({"key": "jira-servicedesk", "name": "Jira Service Management"})
        return {"size": len(items), "items": items, "max-results": 100}

    def required_user(self, user: UserSeed | str) -> dict[str, Any]:
        rendered = self.user(user)
        assert rendered is not None
        return rendered

    # -- reference objects --

    def status_category(self, key: StatusCategoryKey) -> dict[str, Any]:
        category_id, name, color = _CATEGORIES[key]
        return {
            "self": self.rest(f"statuscategory/{category_id}"),
            "id": category_id,
            "key": key,
            "colorName": color,
            "name": name,
        }

    def status(self, status_id: str) -> dict[str, Any]:
        status = self.site.status(status_id)
        return {
            "self": self.rest(f"status/{status.id}"),
            "description": status.description,
            "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": self.status_category(status.category),
        }

    def priority(self, priority_id: str, *, full: bool = False) -> dict[str, Any]:
        priority = self.site.priority(priority_id)
        rendered: dict[str, Any] = {
            "self": self.rest(f"priority/{priority.id}"),
            "iconUrl": f"{self.base_url}/images/icons/priorities/{priority.icon}",
            "name": priority.name,
            "id": priority.id,
        }
        if full:
            rendered |= {
                "statusColor": priority.status_color,
                "description": f"{priority.name} priority",
                "isDefault": priority.is_default,
            }
        return rendered

    def resolution(self, resolution_id: str) -> dict[str, Any]:
        resolution = self.site.resolution(resolution_id)
        return {
            "self": self.rest(f"resolution/{resolution.id}"),
            "id": resolution.id,
            "description": resolution.description,
            "name": resolution.name,
        }

    def issue_type(self, issue_type_id: str) -> dict[str, Any]:
        issue_type = self.site.issue_type(issue_type_id)
        return {
            "self": self.rest(f"issuetype/{issue_type.id}"),
            "id": issue_type.id,
            "description": issue_type.description,
            "iconUrl": f"{self.base_url}/secure/viewavatar?size=medium&avatarId={issue_type.avatar_id}",
            "name": issue_type.name,
            "subtask": False,
            "avatarId": issue_type.avatar_id,
            "hierarchyLevel": 0,
        }

    def project_avatars(self, project: ProjectSeed) -> dict[str, str]:
        base = f"{self.base_url}/secure/projectavatar?pid={project.id}"
        return {f"{n}x{n}": f"{base}&s={n}" for n in (48, 24, 16, 32)}

    def project_ref(self, project: ProjectSeed) -> dict[str, Any]:
        return {
            "self": self.rest(f"project/{project.id}"),
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": project.project_type,
            "simplified": False,
            "avatarUrls": self.project_avatars(project),
        }

    def project(self, project: ProjectSeed) -> dict[str, Any]:
        return self.project_ref(project) | {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            "description": "",
            "lead": self.user(project.lead_account_id),
            "components": [],
            "issueTypes": [self.issue_type(t) for t in project.screens],
            "assigneeType": "UNASSIGNED",
            "versions": [],
            "roles": {},
            "style": "classic",
            "isPrivate": False,
            "properties": {},
        }

    def option(self, option_id: str, custom: FieldSeed) -> dict[str, Any]:
        value = next(o.value for o in custom.options if o.id == option_id)
        return {"self": self.rest(f"customFieldOption/{option_id}"), "value": value, "id": option_id}

    def rich_text(self, doc: dict[str, Any] | str | None) -> Any:
        """Stored rich text: an ADF document (written through Cloud REST v3) or a wiki-markup string
        (written through Data Center REST v2, stored as given)."""
        if doc is None or isinstance(doc, str):
            return doc
        return doc if self.api == "3" else to_wiki(doc)

    # -- fields and issues --

    def field_details(self) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = []
        for system in SYSTEM_FIELDS.values():
            details: dict[str, Any] = {
                "id": system.id,
                "key": system.id,
                "name": system.name,
                "custom": False,
                "orderable": system.orderable,
                "navigable": system.navigable,
                "searchable": system.searchable,
                "clauseNames": list(system.clause_names),
            }
            if system.schema is not None:
                details["schema"] = dict(system.schema)
            fields.append(details)
        for custom in self.site.fields:
            fields.append(
                {
                    "id": custom.id,
                    "key": custom.id,
                    "name": custom.name,
                    "custom": True,
                    "orderable": True,
                    "navigable": True,
                    "searchable": True,
                    "clauseNames": [f"cf[{custom.custom_id}]", custom.name],
                    "schema": custom_field_schema(custom),
                }
            )
        return fields

    def custom_value(self, custom: FieldSeed, value: Any) -> Any:
        if value is None:
            return None
        if custom.kind == "select":
            return self.option(value, custom)
        if custom.kind == "multiselect":
            return [self.option(v, custom) for v in value]
        if custom.kind == "user":
            return self.user(value)
        if custom.kind == "textarea":
            return self.rich_text(value)
        if custom.kind == "datetime":
            return jira_timestamp(value)
        return value

    def issue_fields(self, issue: Issue, selection: FieldSelection) -> dict[str, Any]:
        project = self.site.project_by_id(issue.project_id)
        values: dict[str, Any] = {
            "summary": issue.fields.get("summary"),
            "description": self.rich_text(issue.fields.get("description")),
            "issuetype": self.issue_type(issue.issue_type_id),
            "project": self.project_ref(project),
            "priority": self.priority(issue.fields["priority"]) if issue.fields.get("priority") else None,
            "assignee": self.user(issue.fields.get("assignee")),
            "reporter": self.user(issue.fields.get("reporter")),
            "creator": self.user(issue.creator),
            "labels": list(issue.fields.get("labels", [])),
            "status": self.status(issue.status_id),
            "resolution": self.resolution(issue.fields["resolution"]) if issue.fields.get("resolution") else None,
            "created": jira_timestamp(issue.created),
            "updated": jira_timestamp(issue.updated),
            "resolutiondate": jira_timestamp(issue.resolution_date) if issue.resolution_date else None,
            "comment": self.comments_page(issue, issue.comments, 0, max(len(issue.comments), 1)),
        }
        screen = project.screens[issue.issue_type_id]
        for custom in self.site.fields:
            if custom.id in screen.create | screen.edit:
                values[custom.id] = self.custom_value(custom, issue.fields.get(custom.id))
        return {
            field_id: value
            for field_id, value in values.items()
            if selection.includes(field_id, _is_navigable(field_id))
        }

    def issue(
        self,
        issue: Issue,
        selection: FieldSelection,
        *,
        expand: Iterable[str] = (),
        property_keys: Iterable[str] = (),
    ) -> dict[str, Any]:
        expand = set(expand)
        rendered: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": issue.id,
            "self": self.rest(f"issue/{issue.id}"),
            "key": issue.key,
        }
        fields = self.issue_fields(issue, selection)
        rendered["fields"] = fields
        if "renderedFields" in expand:
            rendered["renderedFields"] = self.rendered_fields(fields)
        if "names" in expand:
            rendered["names"] = {f: field_name(self.site, f) for f in fields}
        if "schema" in expand:
            rendered["schema"] = self.field_schemas(fields)
        if "changelog" in expand:
            rendered["changelog"] = self.changelog_page(issue.changelog)
        keys = set(property_keys)
        if keys:
            rendered["properties"] = {k: v for k, v in issue.properties.items() if "*all" in keys or k in keys}
        return rendered

    def rendered_fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A rough HTML rendering of rich text fields, enough for ``expand=renderedFields`` readers."""
        rendered: dict[str, Any] = {}
        for field_id, value in fields.items():
            if isinstance(value, dict) and value.get("type") == "doc":
                rendered[field_id] = f"<p>{to_plain_text(value)}</p>"
            else:
                rendered[field_id] = value
        return rendered

    def field_schemas(self, fields: dict[str, Any]) -> dict[str, Any]:
        schemas: dict[str, Any] = {}
        for field_id in fields:
            custom = self.site.custom_field(field_id)
            if custom is not None:
                schemas[field_id] = custom_field_schema(custom)
            elif field_id in SYSTEM_FIELDS and SYSTEM_FIELDS[field_id].schema is not None:
                schemas[field_id] = SYSTEM_FIELDS[field_id].schema
        return schemas

    def changelog_page(self, groups: list[ChangeGroup]) -> dict[str, Any]:
        histories = [
            {
                "id": group.id,
                "author": self.user(group.author),
                "created": jira_timestamp(group.created),
                "items": [item.as_json(webhook=False) for item in group.items],
            }
            for group in groups
        ]
        return {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}

    # -- comments --

    def comment(self, issue: Issue, comment: Comment) -> dict[str, Any]:
        rendered = {
            "self": self.rest(f"issue/{issue.id}/comment/{comment.id}"),
            "id": comment.id,
            "author": self.user(comment.author),
            "body": self.rich_text(comment.body),
            "updateAuthor": self.user(comment.update_author),
            "created": jira_timestamp(comment.created),
            "updated": jira_timestamp(comment.updated),
        }
        if self.flavour == "cloud":
            # Cloud only: Data Center's CommentJsonBean has no jsdPublic (its JSM keeps the internal flag
            # in the comment's sd.public.comment property alone; DC 10.3 OpenAPI).
            rendered["jsdPublic"] = not comment.internal
        return rendered

    def comments_page(self, issue: Issue, comments: list[Comment], start: int, limit: int) -> dict[str, Any]:
        page = comments[start : start + limit]
        return {
            "comments": [self.comment(issue, c) for c in page],
            "self": self.rest(f"issue/{issue.id}/comment"),
            "maxResults": limit,
            "total": len(comments),
            "startAt": start,
        }


def _is_navigable(field_id: str) -> bool:
    system = SYSTEM_FIELDS.get(field_id)
    return system.navigable if system else True

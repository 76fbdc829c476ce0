"""Incident -> Jira on Jira Service Management projects: comment visibility and customer requests.

Kept apart from `sync.py` so the sync has one branch point per concern:
- :func:`comment_properties_for`: the properties a bridge comment carries in a project (internal by
  default on JSM projects, nothing extra elsewhere);
- :func:`create_request`: a `create_issue` with `request_type` becomes a customer request raised
  through the servicedeskapi with the request type's own fields; the others (:func:`fields_off_form`:
  labels, custom fields the form does not show) and the marker are written by an edit once linked.
"""

from __future__ import annotations

from typing import Any

from jira_bridge.incidents.errors import SyncRefused
from jira_bridge.incidents.jira_metadata import JiraMetadata
from jira_bridge.jira.adf import adf_to_text, is_doc
from jira_bridge.jira.client import CreatedIssue, JiraClient
from jira_bridge.jira.service_desk import ServiceDeskApi, Visibility, comment_properties


def comment_properties_for(metadata: JiraMetadata, project: str, visibility: Visibility) -> dict[str, Any]:
    return comment_properties(visibility) if project and metadata.is_service_desk(project) else {}


def create_request(
    client: JiraClient, metadata: JiraMetadata, project: str, request_type: str, fields: dict[str, Any],
) -> CreatedIssue:
    """Raise a customer request with the fields its form takes (see :func:`fields_off_form` for the rest)."""
    desk_id, type_id = _resolve(metadata, project, request_type)
    form = metadata.request_form(desk_id, type_id)
    on_form = {k: _plain(v) if k == "description" else v for k, v in _values(fields).items() if k in form}
    created = ServiceDeskApi(client).create_request(desk_id, type_id, on_form)
    return CreatedIssue(id=created.issue_id, key=created.issue_key)


def fields_off_form(metadata: JiraMetadata, project: str, request_type: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields a request's form does not take: written by an edit once the request is linked."""
    form = metadata.request_form(*_resolve(metadata, project, request_type))
    return {k: v for k, v in _values(fields).items() if k not in form}


def _values(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in ("project", "issuetype")}


def _resolve(metadata: JiraMetadata, project: str, request_type: str) -> tuple[str, str]:
    """(service desk id, request type id) for a request type named in a runbook."""
    desk = metadata.service_desk(project) if metadata.is_service_desk(project) else None
    if desk is None:
        raise SyncRefused(f"create_issue names request_type {request_type!r}, but {project} is not a Jira Service "
                          "Management project; remove request_type or create the issue in a service project")
    types = metadata.request_types(desk.id)
    chosen = next((t for t in types if t.name.strip().lower() == request_type.strip().lower()), None)
    if chosen is None:
        raise SyncRefused(f"{project} has no request type {request_type!r} "
                          f"(it has: {', '.join(sorted(t.name for t in types)) or 'none'})")
    return desk.id, chosen.id


def _plain(value: Any) -> Any:
    """The servicedeskapi takes descriptions as text, not ADF."""
    return adf_to_text(value) if isinstance(value, dict) and is_doc(value) else value

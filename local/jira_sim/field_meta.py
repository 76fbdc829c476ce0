"""Field metadata as createmeta and ``expand=transitions.fields`` describe it."""

from __future__ import annotations

from typing import Any

from jira_sim.fields import SYSTEM_FIELDS, custom_field_operations, custom_field_schema, field_name
from jira_sim.render import Renderer
from jira_sim.seed import ProjectSeed

_AUTOCOMPLETE = {
    "assignee": "user/assignable/search?project={project}&query=",
    "reporter": "user/search?query=",
    "labels": "label/suggest?query=",
}


def field_metadata(
    renderer: Renderer,
    project: ProjectSeed,
    issue_type_id: str,
    field_id: str,
    *,
    required: bool,
    with_field_id: bool,
) -> dict[str, Any]:
    site = renderer.site
    custom = site.custom_field(field_id)
    meta: dict[str, Any] = {"required": required}
    if custom is not None:
        meta["schema"] = custom_field_schema(custom)
        meta["operations"] = custom_field_operations(custom)
        if custom.options:
            meta["allowedValues"] = [renderer.option(o.id, custom) for o in custom.options]
    else:
        system = SYSTEM_FIELDS[field_id]
        meta["schema"] = dict(system.schema or {"type": "any"})
        meta["operations"] = list(system.operations)
        meta |= _system_values(renderer, project, issue_type_id, field_id)
    meta["name"] = field_name(site, field_id)
    meta["key"] = field_id
    if with_field_id:
        meta["fieldId"] = field_id
    meta.setdefault("hasDefaultValue", False)
    return meta


def _system_values(renderer: Renderer, project: ProjectSeed, issue_type_id: str, field_id: str) -> dict[str, Any]:
    site = renderer.site
    if field_id == "priority":
        return {
            "allowedValues": [renderer.priority(p.id) for p in site.priorities],
            "hasDefaultValue": True,
            "defaultValue": renderer.priority(site.default_priority().id),
        }
    if field_id == "resolution":
        return {"allowedValues": [renderer.resolution(r.id) for r in site.resolutions]}
    if field_id == "issuetype":
        return {"allowedValues": [renderer.issue_type(issue_type_id)]}
    if field_id == "project":
        return {"allowedValues": [renderer.project_ref(project)]}
    if field_id == "reporter":
        return {"hasDefaultValue": True, "autoCompleteUrl": renderer.rest(_AUTOCOMPLETE["reporter"])}
    if field_id in _AUTOCOMPLETE:
        return {"autoCompleteUrl": renderer.rest(_AUTOCOMPLETE[field_id].format(project=project.key))}
    return {}

"""Projects and what can be created in them: ``/project``, ``/project/search``, createmeta."""

from __future__ import annotations

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.errors import JiraError
from jira_sim.field_meta import field_metadata
from jira_sim.routes import RouteTable, json_response
from jira_sim.seed import ProjectSeed

routes = RouteTable("platform")


def visible_project(ctx: RequestContext, key_or_id: str) -> ProjectSeed:
    project = ctx.site.project(key_or_id)
    if project is None or "BROWSE_PROJECTS" not in ctx.user.permissions_in(project.key):
        raise JiraError(404, [f"No project could be found with key '{key_or_id}'."])
    return project


@routes.route("/rest/api/3/project/<project_id_or_key>", "GET", auth="basic")
def get_project(ctx: RequestContext, project_id_or_key: str) -> Response:
    return json_response(ctx.renderer().project(visible_project(ctx, project_id_or_key)))


@routes.route("/rest/api/3/project", "GET", auth="basic")
def all_projects(ctx: RequestContext) -> Response:
    """The deprecated "Get all projects": every project the caller may browse, as an array."""
    renderer = ctx.renderer()
    visible = [p for p in ctx.site.projects if "BROWSE_PROJECTS" in ctx.user.permissions_in(p.key)]
    return json_response([renderer.project(p) for p in visible])


@routes.route("/rest/api/3/project/search", "GET", auth="basic")
def search_projects(ctx: RequestContext) -> Response:
    start = ctx.query_int("startAt", 0)
    limit = ctx.query_int("maxResults", 50, minimum=1, maximum=100)
    keys = {k.upper() for k in ctx.query_list("keys")}
    query = (ctx.request.args.get("query") or "").casefold()
    projects = [
        p
        for p in ctx.site.projects
        if "BROWSE_PROJECTS" in ctx.user.permissions_in(p.key)
        and (not keys or p.key in keys)
        and (not query or query in p.key.casefold() or query in p.name.casefold())
    ]
    page = projects[start : start + limit]
    renderer = ctx.renderer()
    return json_response(
        {
            "self": ctx.request.url,
            "maxResults": limit,
            "startAt": start,
            "total": len(projects),
            "isLast": start + limit >= len(projects),
            "values": [renderer.project_ref(p) for p in page],
        }
    )


@routes.route("/rest/api/3/issue/createmeta/<project_id_or_key>/issuetypes", "GET", auth="basic")
def create_meta_issue_types(ctx: RequestContext, project_id_or_key: str) -> Response:
    project = visible_project(ctx, project_id_or_key)
    creatable = "CREATE_ISSUES" in ctx.user.permissions_in(project.key)
    renderer = ctx.renderer()
    issue_types = [renderer.issue_type(t) for t in project.screens] if creatable else []
    return json_response(_page(ctx, "issueTypes", issue_types))


@routes.route("/rest/api/3/issue/createmeta/<project_id_or_key>/issuetypes/<issue_type_id>", "GET", auth="basic")
def create_meta_fields(ctx: RequestContext, project_id_or_key: str, issue_type_id: str) -> Response:
    project = visible_project(ctx, project_id_or_key)
    if issue_type_id not in project.screens or "CREATE_ISSUES" not in ctx.user.permissions_in(project.key):
        raise JiraError(400, [f"Issue type with id '{issue_type_id}' does not exist or is not in project."])
    screen = project.screens[issue_type_id]
    renderer = ctx.renderer()
    fields = [
        field_metadata(
            renderer,
            project,
            issue_type_id,
            field_id,
            required=field_id in screen.required,
            with_field_id=True,
        )
        for field_id in _screen_order(screen.create)
    ]
    return json_response(_page(ctx, "fields", fields))


def _page(ctx: RequestContext, name: str, items: list[dict[str, object]]) -> dict[str, object]:
    start = ctx.query_int("startAt", 0)
    limit = ctx.query_int("maxResults", 50, minimum=1, maximum=200)
    return {"maxResults": limit, "startAt": start, "total": len(items), name: items[start : start + limit]}


def _screen_order(field_ids: frozenset[str]) -> list[str]:
    """System fields in Jira's usual screen order, then custom fields by id."""
    order = ["issuetype", "project", "summary", "description", "reporter", "assignee", "priority", "labels"]
    system = [f for f in order if f in field_ids]
    return system + sorted(f for f in field_ids if f not in order)


@routes.route("/rest/api/3/project/<project_id_or_key>/statuses", "GET", auth="basic")
def project_statuses(ctx: RequestContext, project_id_or_key: str) -> Response:
    """``getAllStatuses``: each issue type of the project with the statuses of its workflow (Browse Projects)."""
    project = visible_project(ctx, project_id_or_key)
    workflow = ctx.site.workflow_of(project)
    status_ids = list(dict.fromkeys([workflow.initial_status, *(s for t in workflow.transitions for s in
                                                                 (*t.from_statuses, t.to_status))]))
    renderer = ctx.renderer()
    return json_response([
        {"self": renderer.rest(f"issuetype/{type_id}"), "id": type_id, "name": ctx.site.issue_type(type_id).name,
         "subtask": False, "statuses": [renderer.status(s) for s in status_ids]}
        for type_id in project.screens
    ])

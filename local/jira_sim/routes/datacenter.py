"""Data Center-only REST v2 shapes (served only by a ``flavour="datacenter"`` simulator).

Everything else a Data Center client calls is the same operation as on Cloud under ``/rest/api/2``,
and the app serves it from the Cloud route with the v2 rendering (wiki markup, ``name``/``key`` users).
What differs, per Atlassian's DC 10.3 OpenAPI (``shared/contracts/jira-datacenter``):

* ``GET``/``POST /rest/api/2/search``: offset paging (``startAt``, ``maxResults``, ``total``),
  ``fields`` defaulting to ``*navigable``, unbounded JQL allowed, ``maxResults`` silently clamped to
  1,000 (measured on 10.3.19: the echoed ``maxResults`` is the clamped value). An anonymous caller
  gets 200 with nothing it may browse (the anonymous-200 trap).
* ``GET /rest/api/2/user?username=|key=`` and ``GET /rest/api/2/user/search?username=`` (matches the
  start of the username, display name or e-mail).
* ``GET /rest/api/2/mypermissions``: no ``permissions`` parameter; every key is answered.
* ``GET /rest/api/2/serverInfo``: the configured version, ``deploymentType: "Server"`` (as measured
  on DC), readable anonymously.
"""

from __future__ import annotations

from datetime import UTC, datetime

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.errors import JiraError
from jira_sim.jql import JqlError, parse
from jira_sim.jql_eval import JqlCompiler
from jira_sim.render import FieldSelection, jira_timestamp
from jira_sim.routes import RouteTable, json_response
from jira_sim.routes.issues import render_issue
from jira_sim.routes.users import USER_NOT_FOUND, context_projects, permission_json
from jira_sim.seed import PROJECT_PERMISSIONS, UserSeed

routes = RouteTable("platform")
V2 = "/rest/api/2"
SEARCH_CAP = 1000


@routes.route(f"{V2}/serverInfo", "GET", auth="optional")
def server_info(ctx: RequestContext) -> Response:
    version = ctx.services.dc_version
    return json_response(
        {
            "baseUrl": ctx.services.base_url,
            "version": ".".join(str(n) for n in version),
            "versionNumbers": list(version),
            "deploymentType": "Server",
            "buildNumber": version[0] * 1_000_000 + version[1] * 10_000 + version[2],
            "buildDate": "2026-04-03T00:00:00.000-0700",
            "databaseBuildNumber": version[0] * 1_000_000 + version[1] * 10_000 + version[2],
            "serverTime": jira_timestamp(datetime.now(UTC)),
            "scmInfo": "jira-sim",
            "serverTitle": "Jira Data Center (simulated)",
        }
    )


@routes.route(f"{V2}/search", "GET", auth="optional")
def search_get(ctx: RequestContext) -> Response:
    args = ctx.request.args
    return _search(
        ctx,
        jql=args.get("jql", ""),
        start=ctx.query_int("startAt", 0),
        max_results=ctx.query_int("maxResults", 50),
        fields=ctx.query_list("fields"),
        expand=ctx.query_list("expand"),
    )


@routes.route(f"{V2}/search", "POST", auth="optional")
def search_post(ctx: RequestContext) -> Response:
    body = ctx.json()
    if not isinstance(body, dict):
        raise JiraError(400, ["The request body must be a JSON object."])
    unknown = sorted(set(body) - {"jql", "startAt", "maxResults", "fields", "expand", "validateQuery"})
    if unknown:
        # SearchRequestBean has no such property (e.g. Cloud's nextPageToken or properties).
        raise JiraError(400, [f'Unrecognized field "{unknown[0]}" in the search request.'])
    start, max_results = body.get("startAt", 0), body.get("maxResults", 50)
    for name, value in (("startAt", start), ("maxResults", max_results)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise JiraError(400, [f"'{name}' must be an integer."])
    expand = body.get("expand") or []
    return _search(
        ctx,
        jql=str(body.get("jql") or ""),
        start=max(start, 0),
        max_results=max_results,
        fields=[str(f) for f in body.get("fields") or []],
        expand=[str(e) for e in (expand if isinstance(expand, list) else str(expand).split(","))],
    )


def _search(
    ctx: RequestContext, *, jql: str, start: int, max_results: int, fields: list[str], expand: list[str]
) -> Response:
    page_size = max(0, min(max_results, SEARCH_CAP))
    selection = FieldSelection.parse(fields, default="*navigable")
    user = ctx.principal.user if ctx.principal is not None else None
    with ctx.state.lock:
        try:
            compiled = JqlCompiler(ctx.state, user).compile(parse(jql), require_bounded=False) if jql.strip() else None
        except JqlError as error:
            raise JiraError(400, [str(error)]) from error
        visible = [
            issue
            for issue in ctx.state.all()
            if user is not None
            and "BROWSE_PROJECTS" in user.permissions_in(ctx.site.project_by_id(issue.project_id).key)
            and (compiled is None or compiled.predicate(issue))
        ]
        ordered = compiled.sort(visible) if compiled is not None else sorted(visible, key=lambda i: -int(i.id))
        page = ordered[start : start + page_size]
        issues = [render_issue(ctx, issue, selection=selection, expand=expand, properties=[]) for issue in page]
    return json_response(
        {"expand": "schema,names", "startAt": start, "maxResults": page_size, "total": len(ordered), "issues": issues}
    )


@routes.route(f"{V2}/user", "GET", auth="basic")
def get_user(ctx: RequestContext) -> Response:
    ref = ctx.request.args.get("username") or ctx.request.args.get("key")
    if not ref:
        raise JiraError(400, ["Either the 'username' or the 'key' query parameter must be provided."])
    user = ctx.site.find_dc_user(ref)
    if user is None:
        raise JiraError(404, [USER_NOT_FOUND])
    renderer = ctx.renderer()
    rendered = renderer.required_user(user)
    if "applicationRoles" in ctx.query_list("expand"):
        rendered["applicationRoles"] = renderer.application_roles(user)
    return json_response(rendered)


@routes.route(f"{V2}/user/search", "GET", auth="basic")
def search_users(ctx: RequestContext) -> Response:
    query = ctx.request.args.get("username")
    if not query:
        raise JiraError(400, ["The username query parameter was not provided"])
    start = ctx.query_int("startAt", 0)
    limit = ctx.query_int("maxResults", 50, minimum=1, maximum=1000)
    wanted = query.casefold()
    matches = [u for u in ctx.site.users if u.active and _matches(u, wanted)]
    renderer = ctx.renderer()
    return json_response([renderer.user(u) for u in matches[start : start + limit]])


def _matches(user: UserSeed, wanted: str) -> bool:
    words = user.display_name.casefold().split()
    return (
        user.username.casefold().startswith(wanted)
        or user.email.casefold().startswith(wanted)
        or any(word.startswith(wanted) for word in words)
    )


@routes.route(f"{V2}/mypermissions", "GET", auth="basic")
def my_permissions(ctx: RequestContext) -> Response:
    project_keys = context_projects(ctx)
    return json_response({"permissions": {key: permission_json(ctx, key, project_keys)
                                          for key in PROJECT_PERMISSIONS}})

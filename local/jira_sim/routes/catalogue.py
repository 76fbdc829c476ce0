"""Site-wide lists: priorities, fields, statuses, resolutions, server info."""

from __future__ import annotations

from datetime import UTC, datetime

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.render import jira_timestamp
from jira_sim.routes import RouteTable, json_response

routes = RouteTable("platform")


@routes.route("/rest/api/3/priority", "GET", auth="basic")
def priorities(ctx: RequestContext) -> Response:
    renderer = ctx.renderer()
    return json_response([renderer.priority(p.id, full=True) for p in ctx.site.priorities])


@routes.route("/rest/api/3/priority/search", "GET", auth="basic")
def search_priorities(ctx: RequestContext) -> Response:
    start = ctx.query_int("startAt", 0)
    limit = ctx.query_int("maxResults", 50, minimum=1)
    wanted_ids = set(ctx.query_list("id"))
    name = (ctx.request.args.get("priorityName") or "").casefold()
    matching = [p for p in ctx.site.priorities if (not wanted_ids or p.id in wanted_ids) and name in p.name.casefold()]
    renderer = ctx.renderer()
    return json_response(
        {
            "self": ctx.request.url,
            "maxResults": limit,
            "startAt": start,
            "total": len(matching),
            "isLast": start + limit >= len(matching),
            "values": [renderer.priority(p.id, full=True) for p in matching[start : start + limit]],
        }
    )


@routes.route("/rest/api/3/field", "GET", auth="basic")
def fields(ctx: RequestContext) -> Response:
    return json_response(ctx.renderer().field_details())


@routes.route("/rest/api/3/status", "GET", auth="basic")
def statuses(ctx: RequestContext) -> Response:
    renderer = ctx.renderer()
    return json_response([renderer.status(s.id) for s in ctx.site.statuses])


@routes.route("/rest/api/3/resolution", "GET", auth="basic")
def resolutions(ctx: RequestContext) -> Response:
    renderer = ctx.renderer()
    return json_response([renderer.resolution(r.id) for r in ctx.site.resolutions])


@routes.route("/rest/api/3/serverInfo", "GET", auth="basic")
def server_info(ctx: RequestContext) -> Response:
    return json_response(
        {
            "baseUrl": ctx.services.base_url,
            "displayUrl": ctx.services.base_url,
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100000,
            "buildDate": "2025-01-01T00:00:00.000+0000",
            "serverTime": jira_timestamp(datetime.now(UTC)),
            "scmInfo": "jira-sim",
            "serverTitle": "Jira (simulated)",
        }
    )

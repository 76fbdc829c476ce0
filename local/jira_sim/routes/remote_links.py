"""Remote issue links: ``/rest/api/{2,3}/issue/{issueIdOrKey}/remotelink`` (same operation on both kinds).

As Atlassian's DC 10.3 OpenAPI says for ``createOrUpdateRemoteIssueLink``: "If a globalId is provided
and a remote issue link exists with that globalId, the remote issue link is updated. Otherwise, the
remote issue link is created." Both answer 200 ``{id, self}``. ``object.url`` and ``object.title``
are required. ``GET ?globalId=`` answers the one link (404 when none); ``DELETE ?globalId=`` removes it.
Remote links need EDIT_ISSUES (Jira's "Link Issues" is folded into it here).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.errors import JiraError
from jira_sim.issues import find_visible_issue
from jira_sim.routes import RouteTable, json_response, no_content
from jira_sim.state import Issue

routes = RouteTable("platform")
LINKS = "/rest/api/3/issue/<issue_id_or_key>/remotelink"


def _link_json(ctx: RequestContext, issue: Issue, link_id: str, link: dict[str, Any]) -> dict[str, Any]:
    return {"id": int(link_id), "self": ctx.renderer().rest(f"issue/{issue.key}/remotelink/{link_id}"), **link}


def _validated(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise JiraError(400, ["The request body must be a JSON object."])
    obj = body.get("object")
    errors: dict[str, str] = {}
    if not isinstance(obj, dict) or not obj.get("url"):
        errors["url"] = "'url' is required."
    if not isinstance(obj, dict) or not obj.get("title"):
        errors["title"] = "'title' is required."
    if errors:
        raise JiraError(400, errors=errors)
    known = {"globalId", "relationship", "application", "object"}
    return {k: v for k, v in body.items() if k in known}


@routes.route(LINKS, "POST", auth="basic")
def create_or_update(ctx: RequestContext, issue_id_or_key: str) -> Response:
    link = _validated(ctx.json())
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        project = ctx.site.project_by_id(issue.project_id)
        if "EDIT_ISSUES" not in ctx.user.permissions_in(project.key):
            raise JiraError(403, ["You do not have permission to link issues in this project."])
        global_id = link.get("globalId")
        existing = next((i for i, stored in issue.remote_links.items()
                         if global_id and stored.get("globalId") == global_id), None)
        link_id = existing or ctx.state.next_remote_link_id()
        issue.remote_links[link_id] = link
        issue.updated = ctx.state.now()
    return json_response({"id": int(link_id), "self": ctx.renderer().rest(f"issue/{issue.key}/remotelink/{link_id}")})


@routes.route(LINKS, "GET", auth="basic")
def list_links(ctx: RequestContext, issue_id_or_key: str) -> Response:
    global_id = ctx.request.args.get("globalId")
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        links = [(i, link) for i, link in issue.remote_links.items()
                 if global_id is None or link.get("globalId") == global_id]
        if global_id is not None:
            if not links:
                raise JiraError(404, [f"No remote link with globalId '{global_id}' on this issue."])
            return json_response(_link_json(ctx, issue, *links[0]))
        return json_response([_link_json(ctx, issue, i, link) for i, link in links])


@routes.route(LINKS, "DELETE", auth="basic")
def delete_by_global_id(ctx: RequestContext, issue_id_or_key: str) -> Response:
    global_id = ctx.request.args.get("globalId")
    if not global_id:
        raise JiraError(400, ["The 'globalId' query parameter is required."])
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        found = [i for i, link in issue.remote_links.items() if link.get("globalId") == global_id]
        if not found:
            raise JiraError(404, [f"No remote link with globalId '{global_id}' on this issue."])
        del issue.remote_links[found[0]]
    return no_content()

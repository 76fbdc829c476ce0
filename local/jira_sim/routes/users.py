"""Who am I, who is that, and what may I do: ``/myself``, ``/user``, ``/user/search``, ``/mypermissions``."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.errors import JiraError
from jira_sim.issues import find_visible_issue
from jira_sim.routes import RouteTable, json_response
from jira_sim.seed import PROJECT_PERMISSIONS, UserSeed

routes = RouteTable("platform")
USER_NOT_FOUND = "Specified user does not exist or you do not have required permissions"


@routes.route("/rest/api/3/myself", "GET", auth="basic")
def myself(ctx: RequestContext) -> Response:
    rendered = ctx.renderer().required_user(ctx.user)
    rendered |= {"locale": "en_US", "expand": "groups,applicationRoles"}
    return json_response(rendered)


@routes.route("/rest/api/3/user", "GET", auth="basic")
def get_user(ctx: RequestContext) -> Response:
    account_id = ctx.request.args.get("accountId")
    if not account_id:
        if ctx.request.args.get("username") or ctx.request.args.get("key"):
            raise JiraError(400, ["'accountId' must be the only user identifying query parameter in GDPR strict mode."])
        raise JiraError(400, ["The 'accountId' query parameter is required."])
    user = ctx.site.find_user(account_id)
    if user is None or user.account_id != account_id:
        raise JiraError(404, [USER_NOT_FOUND])
    return json_response(ctx.renderer().required_user(user))


@routes.route("/rest/api/3/user/search", "GET", auth="basic")
def search_users(ctx: RequestContext) -> Response:
    query = ctx.request.args.get("query")
    account_id = ctx.request.args.get("accountId")
    if not query and not account_id:
        raise JiraError(400, ["One of 'query' or 'accountId' query parameters must be provided."])
    if query and account_id:
        raise JiraError(400, ["'query' and 'accountId' can not be used together."])
    start = ctx.query_int("startAt", 0)
    limit = ctx.query_int("maxResults", 50, minimum=1, maximum=1000)
    matches = [u for u in ctx.site.users if u.active and _matches(u, query, account_id)]
    renderer = ctx.renderer()
    return json_response([renderer.user(u) for u in matches[start : start + limit]])


def _matches(user: UserSeed, query: str | None, account_id: str | None) -> bool:
    if account_id is not None:
        return user.account_id == account_id
    assert query is not None
    wanted = query.casefold()
    # Cloud matches the start of the display name's words and, only for users whose email is
    # visible, the email address. Hidden emails are never searchable.
    words = user.display_name.casefold().split()
    if user.display_name.casefold().startswith(wanted) or any(w.startswith(wanted) for w in words):
        return True
    return not user.hide_email and user.email.casefold().startswith(wanted)


@routes.route("/rest/api/3/mypermissions", "GET", auth="basic")
def my_permissions(ctx: RequestContext) -> Response:
    wanted = ctx.query_list("permissions")
    if not wanted:
        raise JiraError(400, ["The 'permissions' query parameter is required."])
    unknown = [p for p in wanted if p not in PROJECT_PERMISSIONS]
    if unknown:
        raise JiraError(400, [f"Invalid permission key(s): {', '.join(unknown)}."])
    project_keys = context_projects(ctx)
    return json_response({"permissions": {key: permission_json(ctx, key, project_keys) for key in wanted}})


def permission_json(ctx: RequestContext, key: str, project_keys: list[str]) -> dict[str, Any]:
    """One ``mypermissions`` entry: held when the caller has it in any of ``project_keys``."""
    permission_id, name = PROJECT_PERMISSIONS[key]
    return {
        "id": permission_id,
        "key": key,
        "name": name,
        "type": "PROJECT",
        "description": f"Ability to {name.lower()}.",
        "havePermission": any(key in ctx.user.permissions_in(p) for p in project_keys),
    }


def context_projects(ctx: RequestContext) -> list[str]:
    """The project(s) the question is about; without context, a permission held anywhere counts."""
    args = ctx.request.args
    project_ref = args.get("projectKey") or args.get("projectId")
    issue_ref = args.get("issueKey") or args.get("issueId")
    if project_ref:
        project = ctx.site.project(project_ref)
        if project is None or "BROWSE_PROJECTS" not in ctx.user.permissions_in(project.key):
            raise JiraError(404, [f"No project could be found with key '{project_ref}'."])
        return [project.key]
    if issue_ref:
        with ctx.state.lock:
            issue = find_visible_issue(ctx.state, ctx.user, issue_ref)
        return [ctx.site.project_by_id(issue.project_id).key]
    return [p.key for p in ctx.site.projects]

"""Issue comments (ADF bodies): list, add, read, update, delete; a comment's properties."""

from __future__ import annotations

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.errors import JiraError
from jira_sim.issues import find_visible_issue
from jira_sim.routes import RouteTable, json_response, no_content

routes = RouteTable("platform")
COMMENTS = "/rest/api/3/issue/<issue_id_or_key>/comment"


@routes.route(COMMENTS, "GET", auth="basic")
def list_comments(ctx: RequestContext, issue_id_or_key: str) -> Response:
    start = ctx.query_int("startAt", 0)
    limit = ctx.query_int("maxResults", 100, minimum=1, maximum=5000)
    newest_first = ctx.request.args.get("orderBy", "created").lstrip("+") == "-created"
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        comments = list(reversed(issue.comments)) if newest_first else list(issue.comments)
        project = ctx.site.project_by_id(issue.project_id)
        if "SERVICEDESK_AGENT" not in ctx.user.permissions_in(project.key):  # internal notes are agents' only
            comments = [c for c in comments if not c.internal]
        return json_response(ctx.renderer().comments_page(issue, comments, start, limit))


@routes.route(COMMENTS, "POST", auth="basic")
def add_comment(ctx: RequestContext, issue_id_or_key: str) -> Response:
    payload = ctx.json()
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        comment = ctx.services.comments.add(ctx.user, issue, payload)
        return json_response(ctx.renderer().comment(issue, comment), 201)


@routes.route(f"{COMMENTS}/<comment_id>", "GET", auth="basic")
def get_comment(ctx: RequestContext, issue_id_or_key: str, comment_id: str) -> Response:
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        comment = ctx.services.comments.find(issue, comment_id)
        return json_response(ctx.renderer().comment(issue, comment))


@routes.route(f"{COMMENTS}/<comment_id>", "PUT", auth="basic")
def update_comment(ctx: RequestContext, issue_id_or_key: str, comment_id: str) -> Response:
    payload = ctx.json()
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        comment = ctx.services.comments.update(ctx.user, issue, comment_id, payload)
        return json_response(ctx.renderer().comment(issue, comment))


@routes.route(f"{COMMENTS}/<comment_id>", "DELETE", auth="basic")
def delete_comment(ctx: RequestContext, issue_id_or_key: str, comment_id: str) -> Response:
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        ctx.services.comments.delete(ctx.user, issue, comment_id)
    return no_content()


@routes.route("/rest/api/3/comment/<comment_id>/properties/<property_key>", "GET", auth="basic")
def get_comment_property(ctx: RequestContext, comment_id: str, property_key: str) -> Response:
    """``getCommentProperty`` (Cloud; Data Center serves the same under ``/rest/api/2``): 404 when the
    comment has no such property, or is not one the caller may see (an internal note, to a non-agent)."""
    with ctx.state.lock:
        found = next(((i, c) for i in ctx.state.all() for c in i.comments if c.id == comment_id), None)
        if found is not None:
            issue, comment = found
            project = ctx.site.project_by_id(issue.project_id)
            permissions = ctx.user.permissions_in(project.key)
            if "BROWSE_PROJECTS" not in permissions or (comment.internal and "SERVICEDESK_AGENT" not in permissions):
                found = None
        if found is None:
            raise JiraError(404, [f"Can not find a comment for the id: {comment_id}."])
        if property_key not in found[1].properties:
            raise JiraError(404, [f"The property with key '{property_key}' does not exist."])
        return json_response({"key": property_key, "value": found[1].properties[property_key]})

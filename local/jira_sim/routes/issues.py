"""Issues: create, read, edit, delete; their transitions and their properties."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.errors import JiraError
from jira_sim.field_meta import field_metadata
from jira_sim.issues import find_visible_issue
from jira_sim.render import FieldSelection, Renderer
from jira_sim.routes import RouteTable, json_response, no_content
from jira_sim.seed import TransitionSeed
from jira_sim.state import Issue

routes = RouteTable("platform")
ISSUE = "/rest/api/3/issue/<issue_id_or_key>"


@routes.route("/rest/api/3/issue", "POST", auth="basic")
def create_issue(ctx: RequestContext) -> Response:
    body = ctx.json()
    with ctx.state.lock:
        issue = ctx.services.issues.create(ctx.user, body)
        created = {"id": issue.id, "key": issue.key, "self": ctx.renderer().rest(f"issue/{issue.id}")}
    return json_response(created, 201)


@routes.route(ISSUE, "GET", auth="basic")
def get_issue(ctx: RequestContext, issue_id_or_key: str) -> Response:
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        return json_response(render_issue(ctx, issue))


def render_issue(
    ctx: RequestContext,
    issue: Issue,
    *,
    selection: FieldSelection | None = None,
    expand: list[str] | None = None,
    properties: list[str] | None = None,
) -> dict[str, Any]:
    """An issue as ``fields``, ``expand`` and ``properties`` ask for it (query parameters by default)."""
    selection = selection or FieldSelection.parse(ctx.query_list("fields"), "*all")
    expand = ctx.query_list("expand") if expand is None else expand
    properties = ctx.query_list("properties") if properties is None else properties
    renderer = ctx.renderer()
    rendered = renderer.issue(issue, selection, expand=expand, property_keys=properties)
    # Jira's expansion takes dotted paths: `transitions.fields` expands the transitions and their screens.
    if "transitions" in expand or "transitions.fields" in expand:
        available = ctx.services.workflows.available(ctx.user, issue)
        with_fields = "transitions.fields" in expand
        rendered["transitions"] = [transition_json(renderer, issue, t, with_fields=with_fields) for t in available]
    return rendered


@routes.route(ISSUE, "PUT", auth="basic")
def edit_issue(ctx: RequestContext, issue_id_or_key: str) -> Response:
    body = ctx.json()
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        comment_operations = ctx.services.issues.edit(ctx.user, issue, body)
        for operation in comment_operations:
            if not isinstance(operation, dict) or "add" not in operation:
                raise JiraError.field_errors({"comment": "Only 'add' is supported for comments in an edit."})
            ctx.services.comments.add(ctx.user, issue, operation["add"])
        if ctx.request.args.get("returnIssue") == "true":
            return json_response(render_issue(ctx, issue))
    return no_content()


@routes.route(f"{ISSUE}/assignee", "PUT", auth="basic")
def assign_issue(ctx: RequestContext, issue_id_or_key: str) -> Response:
    body = ctx.json()
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        ctx.services.issues.assign(ctx.user, issue, body)
    return no_content()


@routes.route(ISSUE, "DELETE", auth="basic")
def delete_issue(ctx: RequestContext, issue_id_or_key: str) -> Response:
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        ctx.services.issues.delete(ctx.user, issue)
    return no_content()


# -- transitions --


@routes.route(f"{ISSUE}/transitions", "GET", auth="basic")
def get_transitions(ctx: RequestContext, issue_id_or_key: str) -> Response:
    with_fields = "transitions.fields" in ctx.query_list("expand")
    only = ctx.request.args.get("transitionId")
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        available = [t for t in ctx.services.workflows.available(ctx.user, issue) if only in (None, t.id)]
        renderer = ctx.renderer()
        transitions = [transition_json(renderer, issue, t, with_fields=with_fields) for t in available]
    return json_response({"expand": "transitions", "transitions": transitions})


def transition_json(
    renderer: Renderer, issue: Issue, transition: TransitionSeed, *, with_fields: bool
) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "id": transition.id,
        "name": transition.name,
        "to": renderer.status(transition.to_status),
        "hasScreen": bool(transition.screen_fields),
        "isGlobal": transition.is_global,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }
    if with_fields:
        project = renderer.site.project_by_id(issue.project_id)
        rendered["fields"] = {
            field_id: field_metadata(
                renderer,
                project,
                issue.issue_type_id,
                field_id,
                required=field_id in transition.required_fields,
                with_field_id=False,
            )
            for field_id in transition.screen_fields
        }
    return rendered


@routes.route(f"{ISSUE}/transitions", "POST", auth="basic")
def do_transition(ctx: RequestContext, issue_id_or_key: str) -> Response:
    body = ctx.json()
    if not isinstance(body, dict):
        raise JiraError(400, ["'transition' identifier must be an integer"])
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        ctx.services.workflows.transition(ctx.user, issue, body)
    return no_content()


# -- properties --


@routes.route(f"{ISSUE}/properties", "GET", auth="basic")
def property_keys(ctx: RequestContext, issue_id_or_key: str) -> Response:
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        renderer = ctx.renderer()
        keys = [{"self": renderer.rest(f"issue/{issue.id}/properties/{k}"), "key": k} for k in issue.properties]
    return json_response({"keys": keys})


@routes.route(f"{ISSUE}/properties/<property_key>", "GET", auth="basic")
def get_property(ctx: RequestContext, issue_id_or_key: str, property_key: str) -> Response:
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        if property_key not in issue.properties:
            raise JiraError(404, [f"The property with key '{property_key}' does not exist."])
        return json_response({"key": property_key, "value": issue.properties[property_key]})


@routes.route(f"{ISSUE}/properties/<property_key>", "PUT", auth="basic")
def set_property(ctx: RequestContext, issue_id_or_key: str, property_key: str) -> Response:
    value = ctx.json()
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        created = ctx.services.issues.set_property(ctx.user, issue, property_key, value)
    return Response(status=201 if created else 200)


@routes.route(f"{ISSUE}/properties/<property_key>", "DELETE", auth="basic")
def delete_property(ctx: RequestContext, issue_id_or_key: str, property_key: str) -> Response:
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        if property_key not in issue.properties:
            raise JiraError(404, [f"The property with key '{property_key}' does not exist."])
        del issue.properties[property_key]
    return no_content()

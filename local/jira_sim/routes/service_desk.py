"""Jira Service Management: ``/rest/servicedeskapi`` service desks, request types and customer requests.

Shapes follow the JSM Cloud REST API: paged lists are ``{size, start, limit, isLastPage, values}``;
``POST /request`` takes ``serviceDeskId``, ``requestTypeId``, ``requestFieldValues`` (only the
request type's fields) and optionally ``raiseOnBehalfOf`` (agents only), and answers the customer
request (``issueId``, ``issueKey``, ``requestTypeId``, ``serviceDeskId``).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from jira_sim.adf import text_doc
from jira_sim.context import RequestContext
from jira_sim.errors import JiraError
from jira_sim.issues import find_visible_issue
from jira_sim.routes import RouteTable, json_response
from jira_sim.seed import ServiceDeskSeed
from jira_sim.state import Issue

routes = RouteTable("platform")
API = "/rest/servicedeskapi"


def _page(values: list[dict[str, Any]], start: int, limit: int) -> dict[str, Any]:
    page = values[start : start + limit]
    return {"size": len(page), "start": start, "limit": limit, "isLastPage": start + limit >= len(values),
            "values": page}


def _desk(ctx: RequestContext, service_desk_id: str) -> ServiceDeskSeed:
    desk = ctx.site.service_desk(service_desk_id)
    if desk is None or "BROWSE_PROJECTS" not in ctx.user.permissions_in(desk.project_key):
        raise JiraError(404, [f"The service desk {service_desk_id} does not exist or you do not have access."])
    return desk


@routes.route(f"{API}/servicedesk", "GET", auth="basic")
def service_desks(ctx: RequestContext) -> Response:
    values = []
    for desk in ctx.site.service_desks:
        project = ctx.site.project(desk.project_key)
        if project is not None and "BROWSE_PROJECTS" in ctx.user.permissions_in(project.key):
            values.append({"id": desk.id, "projectId": project.id, "projectName": project.name,
                           "projectKey": project.key})
    return json_response(_page(values, ctx.query_int("start", 0), ctx.query_int("limit", 50, minimum=1)))


@routes.route(f"{API}/servicedesk/<service_desk_id>/requesttype", "GET", auth="basic")
def request_types(ctx: RequestContext, service_desk_id: str) -> Response:
    desk = _desk(ctx, service_desk_id)
    values = [{"id": t.id, "name": t.name, "description": "", "issueTypeId": t.issue_type_id,
               "serviceDeskId": desk.id} for t in desk.request_types]
    return json_response(_page(values, ctx.query_int("start", 0), ctx.query_int("limit", 50, minimum=1)))


@routes.route(f"{API}/servicedesk/<service_desk_id>/requesttype/<request_type_id>/field", "GET", auth="basic")
def request_type_fields(ctx: RequestContext, service_desk_id: str, request_type_id: str) -> Response:
    desk = _desk(ctx, service_desk_id)
    request_type = desk.request_type(request_type_id)
    if request_type is None:
        raise JiraError(404, [f"The request type {request_type_id} does not exist."])
    agent = "SERVICEDESK_AGENT" in ctx.user.permissions_in(desk.project_key)
    fields = [{"fieldId": f, "name": f, "required": f == "summary"} for f in sorted(request_type.fields)]
    return json_response({"requestTypeFields": fields, "canRaiseOnBehalfOf": agent,
                          "canAddRequestParticipants": agent})


@routes.route(f"{API}/request", "POST", auth="basic")
def create_request(ctx: RequestContext) -> Response:
    body = ctx.json()
    if not isinstance(body, dict):
        raise JiraError(400, ["The request body must be a JSON object."])
    with ctx.state.lock:
        desk = _desk(ctx, str(body.get("serviceDeskId") or ""))
        request_type = desk.request_type(str(body.get("requestTypeId") or ""))
        if request_type is None:
            raise JiraError(400, [f"The request type {body.get('requestTypeId')} does not exist in this service desk."])
        values = body.get("requestFieldValues") or {}
        if not isinstance(values, dict):
            raise JiraError(400, ["requestFieldValues must be an object of field id -> value."])
        unknown = sorted(set(values) - request_type.fields)
        if unknown:
            raise JiraError(400, [f"These fields are not on the request type {request_type.name!r}: "
                                  f"{', '.join(unknown)}."])
        agent = "SERVICEDESK_AGENT" in ctx.user.permissions_in(desk.project_key)
        on_behalf = body.get("raiseOnBehalfOf")
        reporter = None
        if on_behalf:
            if not agent:
                raise JiraError(400, ["Only agents can raise requests on behalf of customers."])
            reporter = ctx.site.find_user(str(on_behalf))
            if reporter is None:
                raise JiraError(400, [f"The user {on_behalf} does not exist."])
        fields = dict(values)
        if isinstance(fields.get("description"), str) and not ctx.services.datacenter:
            # the servicedeskapi takes plain text here; Cloud stores it as ADF, Data Center as wiki markup
            fields["description"] = text_doc(fields["description"])
        fields |= {"project": {"key": desk.project_key}, "issuetype": {"id": request_type.issue_type_id}}
        issue = ctx.services.issues.create(ctx.user, {"fields": fields})
        issue.request_type_id = request_type.id
        if reporter is not None:
            issue.fields["reporter"] = reporter.account_id
        return json_response(_request(ctx, issue, desk), 201)


@routes.route(f"{API}/request/<issue_id_or_key>", "GET", auth="basic")
def get_request(ctx: RequestContext, issue_id_or_key: str) -> Response:
    with ctx.state.lock:
        issue = find_visible_issue(ctx.state, ctx.user, issue_id_or_key)
        project = ctx.site.project_by_id(issue.project_id)
        desk = ctx.site.service_desk(project.key)
        if desk is None or issue.request_type_id is None:
            raise JiraError(404, [f"{issue.key} is not a customer request."])
        return json_response(_request(ctx, issue, desk))


def _request(ctx: RequestContext, issue: Issue, desk: ServiceDeskSeed) -> dict[str, Any]:
    return {
        "issueId": issue.id, "issueKey": issue.key, "requestTypeId": issue.request_type_id,
        "serviceDeskId": desk.id, "reporter": ctx.renderer().user(issue.fields.get("reporter")),
        "_links": {"jiraRest": ctx.renderer().rest(f"issue/{issue.id}")},
    }

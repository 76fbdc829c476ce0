"""Builds and deployments, on the site (Connect JWT) and on the api.atlassian.com gateway (OAuth Bearer).

The same handlers serve both forms: ``/rest/{builds,deployments}/0.1/...`` and
``/jira/{builds,deployments}/0.1/cloud/{cloudId}/...``, as the contracts notes ask.
"""

from __future__ import annotations

from typing import Literal

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.errors import JiraError, SoftwareError
from jira_sim.routes import RouteTable, json_response
from jira_sim.software import StoredEntity

routes = RouteTable("software")

BUILDS_SITE = "/rest/builds/0.1"
BUILDS_GATEWAY = "/jira/builds/0.1/cloud/<cloud_id>"
DEPLOYMENTS_SITE = "/rest/deployments/0.1"
DEPLOYMENTS_GATEWAY = "/jira/deployments/0.1/cloud/<cloud_id>"
BUILD = "/pipelines/<path:pipeline_id>/builds/<int:build_number>"
DEPLOYMENT = "/pipelines/<path:pipeline_id>/environments/<path:environment_id>/deployments/<int:sequence>"
_MODULES = {"builds": "jiraBuildInfoProvider", "deployments": "jiraDeploymentInfoProvider"}


def authorize(
    ctx: RequestContext,
    kind: Literal["builds", "deployments"],
    access: Literal["read", "write"],
    cloud_id: str | None,
) -> None:
    """Apps need the provider module (Connect) or the scope (OAuth); the gateway needs our cloudId."""
    principal = ctx.principal
    assert principal is not None
    if cloud_id is not None and cloud_id != ctx.site.cloud_id:
        raise SoftwareError(404, f"No Jira site with cloudId '{cloud_id}' is available to this app.")
    if principal.connect_app is not None and _MODULES[kind] not in principal.connect_app.modules:
        raise SoftwareError(403, f"The app does not define the {_MODULES[kind]} module.")
    if principal.oauth is not None:
        singular = kind.removesuffix("s")
        wanted = {f"{access}:{singular}:jira-software", f"write:{singular}:jira-software"}
        if not wanted & set(principal.oauth.scopes):
            raise SoftwareError(403, f"The access token lacks the {access}:{singular}:jira-software scope.")


def _bulk_body(ctx: RequestContext, kind: Literal["builds", "deployments"]) -> object:
    ctx.services.software.check_size(kind, len(ctx.request.get_data(cache=True)))
    return _json(ctx)


def _json(ctx: RequestContext) -> object:
    try:
        return ctx.json()
    except JiraError as error:
        raise SoftwareError(error.status, *error.messages) from error


def _found(entity: StoredEntity | None, what: str) -> Response:
    if entity is None:
        raise SoftwareError(404, f"No {what} found with the given key.")
    return json_response(entity.data)


# -- builds --


@routes.route(f"{BUILDS_SITE}/bulk", "POST", auth="connect")
@routes.route(f"{BUILDS_GATEWAY}/bulk", "POST", auth="oauth")
def submit_builds(ctx: RequestContext, cloud_id: str | None = None) -> Response:
    authorize(ctx, "builds", "write", cloud_id)
    body = _bulk_body(ctx, "builds")
    with ctx.state.lock:
        return json_response(ctx.services.software.submit_builds(body), 202)


@routes.route(f"{BUILDS_SITE}{BUILD}", "GET", auth="connect")
@routes.route(f"{BUILDS_GATEWAY}{BUILD}", "GET", auth="oauth")
def get_build(ctx: RequestContext, pipeline_id: str, build_number: int, cloud_id: str | None = None) -> Response:
    authorize(ctx, "builds", "read", cloud_id)
    return _found(ctx.services.software.build(pipeline_id, build_number), "build")


@routes.route(f"{BUILDS_SITE}{BUILD}", "DELETE", auth="connect")
@routes.route(f"{BUILDS_GATEWAY}{BUILD}", "DELETE", auth="oauth")
def delete_build(ctx: RequestContext, pipeline_id: str, build_number: int, cloud_id: str | None = None) -> Response:
    authorize(ctx, "builds", "write", cloud_id)
    ctx.services.software.delete_build(pipeline_id, build_number)
    return Response(status=202)


# -- deployments --


@routes.route(f"{DEPLOYMENTS_SITE}/bulk", "POST", auth="connect")
@routes.route(f"{DEPLOYMENTS_GATEWAY}/bulk", "POST", auth="oauth")
def submit_deployments(ctx: RequestContext, cloud_id: str | None = None) -> Response:
    authorize(ctx, "deployments", "write", cloud_id)
    body = _bulk_body(ctx, "deployments")
    with ctx.state.lock:
        return json_response(ctx.services.software.submit_deployments(body), 202)


@routes.route(f"{DEPLOYMENTS_SITE}{DEPLOYMENT}", "GET", auth="connect")
@routes.route(f"{DEPLOYMENTS_GATEWAY}{DEPLOYMENT}", "GET", auth="oauth")
def get_deployment(
    ctx: RequestContext, pipeline_id: str, environment_id: str, sequence: int, cloud_id: str | None = None
) -> Response:
    authorize(ctx, "deployments", "read", cloud_id)
    return _found(ctx.services.software.deployment(pipeline_id, environment_id, sequence), "deployment")


@routes.route(f"{DEPLOYMENTS_SITE}{DEPLOYMENT}", "DELETE", auth="connect")
@routes.route(f"{DEPLOYMENTS_GATEWAY}{DEPLOYMENT}", "DELETE", auth="oauth")
def delete_deployment(
    ctx: RequestContext, pipeline_id: str, environment_id: str, sequence: int, cloud_id: str | None = None
) -> Response:
    authorize(ctx, "deployments", "write", cloud_id)
    ctx.services.software.delete_deployment(pipeline_id, environment_id, sequence)
    return Response(status=202)


@routes.route(f"{DEPLOYMENTS_SITE}{DEPLOYMENT}/gating-status", "GET", auth="connect")
@routes.route(f"{DEPLOYMENTS_GATEWAY}{DEPLOYMENT}/gating-status", "GET", auth="oauth")
def gating_status(
    ctx: RequestContext, pipeline_id: str, environment_id: str, sequence: int, cloud_id: str | None = None
) -> Response:
    authorize(ctx, "deployments", "read", cloud_id)
    status = ctx.services.software.gating_status(ctx.services.base_url, pipeline_id, environment_id, sequence)
    if status is None:
        raise SoftwareError(404, "No deployment found with the given key.")
    return json_response(status)

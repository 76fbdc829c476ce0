"""Jira Data Center 10.x's webhook REST API, ``/rest/jira-webhook/1.0/webhooks`` (a 10.0 plugin; 9.x
and Cloud have ``/rest/webhooks/1.0/webhook`` only, so this answers 404 there).

Shapes as jira.js's Data Center client reads them (``src/server/api/webhooks.ts``): a webhook is
``{id, name, url, events, configuration, active, sslVerificationRequired, createdDate, updatedDate}``
and the list is a bare array. The secret is taken from ``configuration.SECRET`` (a third-party note,
not confirmed by Atlassian) and never returned.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.errors import JiraError
from jira_sim.routes import RouteTable, json_response, no_content
from jira_sim.webhooks import ALL_EVENTS, Webhook

routes = RouteTable("platform")
WEBHOOKS = "/rest/jira-webhook/1.0/webhooks"


def _require_10x(ctx: RequestContext) -> None:
    if not ctx.services.datacenter or ctx.services.dc_version < (10, 0, 0):
        raise JiraError(404, [f"null for uri: {ctx.request.url}"])


def _json(webhook: Webhook) -> dict[str, Any]:
    millis = int(webhook.created.timestamp() * 1000)
    return {"id": webhook.id, "name": webhook.name, "url": webhook.url, "events": list(webhook.events),
            "configuration": {"EXCLUDE_BODY": str(webhook.exclude_body).lower()}, "active": webhook.enabled,
            "scopeType": "GLOBAL", "sslVerificationRequired": True, "createdDate": millis, "updatedDate": millis}


@routes.route(WEBHOOKS, "GET", auth="basic")
def list_webhooks(ctx: RequestContext) -> Response:
    _require_10x(ctx)
    return json_response([_json(w) for w in ctx.services.webhooks.registrations()])


@routes.route(WEBHOOKS, "POST", auth="basic")
def create_webhook(ctx: RequestContext) -> Response:
    _require_10x(ctx)
    body = ctx.json()
    if not isinstance(body, dict):
        raise JiraError(400, ["The request body must be a JSON object."])
    url, events = body.get("url"), body.get("events") or []
    errors: dict[str, str] = {}
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https"):
        errors["url"] = "A valid http(s) URL is required."
    if not events or any(e not in ALL_EVENTS for e in events):
        errors["events"] = f"Events must be a non-empty subset of: {', '.join(ALL_EVENTS)}."
    if errors:
        raise JiraError.field_errors(errors)
    raw_configuration = body.get("configuration")
    configuration: dict[str, Any] = raw_configuration if isinstance(raw_configuration, dict) else {}
    webhook = ctx.services.webhooks.register(
        str(url), events, secret=configuration.get("SECRET") or None, name=body.get("name"),
        exclude_body=str(configuration.get("EXCLUDE_BODY", "false")).lower() == "true",
        created_by=ctx.user.account_id,
    )
    return json_response(_json(webhook), 201)


@routes.route(f"{WEBHOOKS}/<int:webhook_id>", "DELETE", auth="basic")
def delete_webhook(ctx: RequestContext, webhook_id: int) -> Response:
    _require_10x(ctx)
    if not ctx.services.webhooks.unregister(webhook_id):
        raise JiraError(404, [f"Webhook with id {webhook_id} does not exist."])
    return no_content()

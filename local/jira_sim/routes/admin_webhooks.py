"""The admin webhook REST API, ``/rest/webhooks/1.0/webhook`` (not in the platform OpenAPI spec).

Bodies follow Jira's admin API: ``name``, ``url``, ``events``, ``filters`` with the JQL under
``issue-related-events-section``, ``excludeBody``, plus ``secret`` (Cloud's "secure admin webhooks").
``jqlFilter`` is accepted as a shorthand. The secret is never returned.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext, Services
from jira_sim.errors import JiraError
from jira_sim.jql import JqlError, parse
from jira_sim.jql_eval import JqlCompiler
from jira_sim.render import jira_timestamp
from jira_sim.routes import RouteTable, json_response, no_content
from jira_sim.webhooks import ALL_EVENTS, Webhook

routes = RouteTable("platform")
WEBHOOKS = "/rest/webhooks/1.0/webhook"


def webhook_json(services: Services, webhook: Webhook) -> dict[str, Any]:
    creator = services.site.find_user(webhook.created_by) if webhook.created_by else None
    return {
        "self": f"{services.base_url}{WEBHOOKS}/{webhook.id}",
        "name": webhook.name,
        "url": webhook.url,
        "events": list(webhook.events),
        "filters": {"issue-related-events-section": webhook.jql_filter or ""},
        "excludeBody": webhook.exclude_body,
        "enabled": webhook.enabled,
        "hasSecret": webhook.secret is not None,
        "lastUpdatedUser": creator.account_id if creator else None,
        "lastUpdatedDisplayName": creator.display_name if creator else None,
        "lastUpdated": int(webhook.created.timestamp() * 1000),
        "lastUpdatedTimestamp": jira_timestamp(webhook.created),
    }


def register_from_json(services: Services, body: Any, created_by: str | None) -> Webhook:
    """Validate an admin-API body and register it (also used by ``POST /_sim/webhooks``)."""
    if not isinstance(body, dict):
        raise JiraError(400, ["The request body must be a JSON object."])
    errors: dict[str, str] = {}
    url = body.get("url")
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https"):
        errors["url"] = "A valid http(s) URL is required."
    events = body.get("events") or []
    unknown = [e for e in events if e not in ALL_EVENTS]
    if not events or unknown:
        errors["events"] = f"Events must be a non-empty subset of: {', '.join(ALL_EVENTS)}."
    jql = body.get("jqlFilter") or (body.get("filters") or {}).get("issue-related-events-section") or None
    if jql:
        try:
            with services.state.lock:
                JqlCompiler(services.state, None).compile(parse(jql), require_bounded=False)
        except JqlError as error:
            errors["filters"] = str(error)
    if errors:
        raise JiraError.field_errors(errors)
    return services.webhooks.register(
        str(url),
        events,
        secret=body.get("secret"),
        jql_filter=jql,
        name=body.get("name"),
        exclude_body=bool(body.get("excludeBody", False)),
        created_by=created_by,
    )


@routes.route(WEBHOOKS, "POST", auth="basic")
def register_webhook(ctx: RequestContext) -> Response:
    webhook = register_from_json(ctx.services, ctx.json(), ctx.user.account_id)
    return json_response(webhook_json(ctx.services, webhook), 201)


@routes.route(WEBHOOKS, "GET", auth="basic")
def list_webhooks(ctx: RequestContext) -> Response:
    return json_response([webhook_json(ctx.services, w) for w in ctx.services.webhooks.registrations()])


@routes.route(f"{WEBHOOKS}/<int:webhook_id>", "GET", auth="basic")
def get_webhook(ctx: RequestContext, webhook_id: int) -> Response:
    webhook = ctx.services.webhooks.get(webhook_id)
    if webhook is None:
        raise JiraError(404, [f"Webhook with id {webhook_id} does not exist."])
    return json_response(webhook_json(ctx.services, webhook))


@routes.route(f"{WEBHOOKS}/<int:webhook_id>", "DELETE", auth="basic")
def delete_webhook(ctx: RequestContext, webhook_id: int) -> Response:
    if not ctx.services.webhooks.unregister(webhook_id):
        raise JiraError(404, [f"Webhook with id {webhook_id} does not exist."])
    return no_content()

"""The simulator's own surface: an HTML index at ``/`` and JSON admin endpoints under ``/_sim``.

No auth (the server only listens on loopback), never faulted, never in the request log.

===========================================  =================================================
``GET /`` (HTML), ``GET /_sim/state``         issues with status and comments, builds, deployments,
                                              webhooks, seeded users and credentials
``GET /_sim/requests`` / ``DELETE``           the request log (``?method=&pathPrefix=``) / clear it
``GET /_sim/faults``, ``POST``, ``DELETE``    active fault rules / add one (JSON, see `faults.py`) / clear
``GET /_sim/webhooks/deliveries`` / DELETE    the webhook delivery log / clear it
``POST /_sim/webhooks``                       register an admin webhook without credentials
``POST /_sim/oauth/expire``                   expire every OAuth access token handed out
``POST /_sim/oauth/ttl``                      ``{"seconds": n}``: lifetime of new access tokens
``POST /_sim/reset``                          back to the seed (drops issues, webhooks, faults, logs)
===========================================  =================================================
"""

from __future__ import annotations

import html
from typing import Any

from werkzeug.wrappers import Response

from jira_sim.adf import to_plain_text
from jira_sim.context import RequestContext, Services, reset_site
from jira_sim.errors import JiraError
from jira_sim.render import jira_timestamp
from jira_sim.routes import RouteTable, json_response, no_content
from jira_sim.routes.admin_webhooks import register_from_json, webhook_json

routes = RouteTable("admin")


def site_state(services: Services) -> dict[str, Any]:
    site = services.site
    with services.state.lock:
        issues = [
            {
                "id": issue.id,
                "key": issue.key,
                "previousKeys": issue.previous_keys,
                "type": site.issue_type(issue.issue_type_id).name,
                "status": site.status(issue.status_id).name,
                "summary": issue.fields.get("summary"),
                "priority": site.priority(issue.fields["priority"]).name if issue.fields.get("priority") else None,
                "assignee": issue.fields.get("assignee"),
                "labels": issue.fields.get("labels", []),
                "updated": jira_timestamp(issue.updated),
                "properties": issue.properties,
                "comments": [
                    {"id": c.id, "author": site.user(c.author).display_name, "text": to_plain_text(c.body)}
                    for c in issue.comments
                ],
            }
            for issue in sorted(services.state.all(), key=lambda i: int(i.id))
        ]
    return {
        "baseUrl": services.base_url,
        "cloudId": site.cloud_id,
        "users": [
            {
                "accountId": u.account_id,
                "email": u.email,
                "displayName": u.display_name,
                "apiToken": u.api_token,
                "hiddenEmail": u.hide_email,
                "permissions": sorted(u.permissions),
            }
            for u in site.users
        ],
        "projects": [{"id": p.id, "key": p.key, "name": p.name, "workflow": p.workflow} for p in site.projects],
        "issues": issues,
        "software": services.software.summary(),
        "webhooks": [webhook_json(services, w) for w in services.webhooks.registrations()],
        "faults": [rule.describe() for rule in services.faults.active()],
    }


@routes.route("/_sim/state", "GET", auth="none")
def state(ctx: RequestContext) -> Response:
    return json_response(site_state(ctx.services))


@routes.route("/", "GET", auth="none")
def index(ctx: RequestContext) -> Response:
    snapshot = site_state(ctx.services)
    rows = "".join(
        "<tr><td>{key}</td><td>{type}</td><td>{status}</td><td>{summary}</td><td>{comments}</td></tr>".format(
            key=html.escape(i["key"]),
            type=html.escape(i["type"]),
            status=html.escape(i["status"]),
            summary=html.escape(str(i["summary"])),
            comments="<br>".join(html.escape(f"{c['author']}: {c['text']}") for c in i["comments"]),
        )
        for i in snapshot["issues"]
    )
    users = "".join(
        f"<li>{html.escape(u['email'])} / token <code>{html.escape(str(u['apiToken']))}</code></li>"
        for u in snapshot["users"]
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Jira simulator</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}</style></head><body>
<h1>Jira simulator</h1><p>Base URL <code>{html.escape(snapshot["baseUrl"])}</code>, cloudId
<code>{html.escape(snapshot["cloudId"])}</code>. JSON: <a href="/_sim/state">/_sim/state</a>,
<a href="/_sim/requests">/_sim/requests</a>,
<a href="/_sim/webhooks/deliveries">/_sim/webhooks/deliveries</a>.</p>
<h2>Issues</h2><table>
<tr><th>Key</th><th>Type</th><th>Status</th><th>Summary</th><th>Comments</th></tr>{rows}</table>
<h2>Users (Basic auth)</h2><ul>{users}</ul></body></html>"""
    return Response(page, content_type="text/html; charset=utf-8")


@routes.route("/_sim/requests", "GET", auth="none")
def requests_log(ctx: RequestContext) -> Response:
    args = ctx.request.args
    entries = ctx.services.log.matching(args.get("method"), args.get("pathPrefix", ""))
    return json_response({"requests": [e.as_json() for e in entries]})


@routes.route("/_sim/requests", "DELETE", auth="none")
def clear_requests(ctx: RequestContext) -> Response:
    ctx.services.log.clear()
    return no_content()


@routes.route("/_sim/faults", "GET", auth="none")
def list_faults(ctx: RequestContext) -> Response:
    return json_response({"faults": [r.describe() for r in ctx.services.faults.active()]})


@routes.route("/_sim/faults", "POST", auth="none")
def add_fault(ctx: RequestContext) -> Response:
    spec = ctx.json()
    try:
        rule = ctx.services.faults.add_from_json(spec if isinstance(spec, dict) else {})
    except (ValueError, KeyError, TypeError) as error:
        raise JiraError(400, [f"Bad fault specification: {error}"]) from error
    return json_response(rule.describe(), 201)


@routes.route("/_sim/faults", "DELETE", auth="none")
def clear_faults(ctx: RequestContext) -> Response:
    ctx.services.faults.clear()
    return no_content()


@routes.route("/_sim/webhooks", "POST", auth="none")
def register_webhook(ctx: RequestContext) -> Response:
    webhook = register_from_json(ctx.services, ctx.json(), created_by=None)
    return json_response(webhook_json(ctx.services, webhook), 201)


@routes.route("/_sim/webhooks/deliveries", "GET", auth="none")
def deliveries(ctx: RequestContext) -> Response:
    return json_response(
        {
            "deliveries": [
                {
                    "identifier": d.identifier,
                    "webhookId": d.webhook_id,
                    "url": d.url,
                    "event": d.event,
                    "attempt": d.attempt,
                    "status": d.status,
                    "error": d.error,
                    "willRetry": d.will_retry,
                    "headers": d.headers,
                    "at": d.at.isoformat(),
                }
                for d in ctx.services.webhooks.deliveries
            ]
        }
    )


@routes.route("/_sim/webhooks/deliveries", "DELETE", auth="none")
def clear_deliveries(ctx: RequestContext) -> Response:
    ctx.services.webhooks.clear_log()
    return no_content()


@routes.route("/_sim/oauth/expire", "POST", auth="none")
def expire_tokens(ctx: RequestContext) -> Response:
    ctx.services.oauth.expire_all()
    return no_content()


@routes.route("/_sim/oauth/ttl", "POST", auth="none")
def token_ttl(ctx: RequestContext) -> Response:
    body = ctx.json()
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise JiraError(400, ['Send {"seconds": <number>}.'])
    ctx.services.oauth.ttl_seconds = float(seconds)
    return no_content()


@routes.route("/_sim/reset", "POST", auth="none")
def reset(ctx: RequestContext) -> Response:
    reset_site(ctx.services)
    return no_content()


@routes.route("/_sim/avatar/<account_id>", "GET", auth="none")
def avatar(ctx: RequestContext, account_id: str) -> Response:
    initial = html.escape(account_id[-2:])
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48">'
        '<rect width="48" height="48" fill="#0052cc"/>'
        f'<text x="24" y="30" font-size="16" fill="#fff" text-anchor="middle">{initial}</text></svg>'
    )
    return Response(svg, content_type="image/svg+xml")

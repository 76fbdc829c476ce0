"""OAuth 2.0 client credentials (``POST /oauth/token``) and the tenant lookup (``/_edge/tenant_info``).

On Cloud these live on two hosts (``api.atlassian.com`` and ``{site}.atlassian.net``); the simulator
serves both from its one base URL. Error bodies follow OAuth 2.0 (``{"error", "error_description"}``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.routes import RouteTable, json_response

routes = RouteTable("oauth")
AUDIENCE = "api.atlassian.com"


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _token_request(ctx: RequestContext) -> dict[str, Any]:
    """The token request as JSON (what the notes document) or as a form (what OAuth clients default to)."""
    if ctx.request.mimetype == "application/x-www-form-urlencoded":
        return dict(ctx.request.form)
    try:
        body = json.loads(ctx.request.get_data() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@routes.route("/oauth/token", "POST", auth="none")
def issue_token(ctx: RequestContext) -> Response:
    request = _token_request(ctx)
    if request.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only the client_credentials grant is supported here.")
    client = ctx.site.oauth_client(str(request.get("client_id", "")))
    secret = str(request.get("client_secret", ""))
    if client is None or not secrets.compare_digest(client.client_secret, secret):
        return _oauth_error(401, "access_denied", "Unauthorized")
    if request.get("audience") != AUDIENCE:
        return _oauth_error(403, "access_denied", f"The audience must be '{AUDIENCE}'.")
    token = ctx.services.oauth.issue(client)
    return json_response(
        {
            "access_token": token.access_token,
            "expires_in": int(ctx.services.oauth.ttl_seconds),
            "token_type": "Bearer",
            "scope": " ".join(token.scopes),
        }
    )


@routes.route("/_edge/tenant_info", "GET", auth="none")
def tenant_info(ctx: RequestContext) -> Response:
    return json_response({"cloudId": ctx.site.cloud_id})

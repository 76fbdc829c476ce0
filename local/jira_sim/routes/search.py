"""Enhanced JQL search: ``GET`` and ``POST /rest/api/3/search/jql`` with ``nextPageToken`` paging.

As on Cloud: the query must be bounded; ``fields`` defaults to ``id`` only (each issue is then just
``{"id": ...}``); pages hold up to 5000 issues when only ids/keys are asked for and up to 100
otherwise; the last page has ``isLast: true`` and no ``nextPageToken``. Only issues the caller may
browse are returned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from werkzeug.wrappers import Response

from jira_sim.context import RequestContext
from jira_sim.errors import JiraError
from jira_sim.jql import JqlError, parse
from jira_sim.jql_eval import JqlCompiler
from jira_sim.render import FieldSelection
from jira_sim.routes import RouteTable, json_response
from jira_sim.routes.issues import render_issue

routes = RouteTable("platform")
SEARCH = "/rest/api/3/search/jql"
REMOVED_SEARCH = "/rest/api/3/search"
REMOVED_MESSAGE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


@routes.route(REMOVED_SEARCH, "GET", "POST", auth="basic")
def removed_search(ctx: RequestContext) -> Response:
    """Cloud removed the old search (CHANGE-2046): it answers 410 Gone, not 404."""
    raise JiraError(410, [REMOVED_MESSAGE])


@routes.route(SEARCH, "GET", auth="basic")
def search_get(ctx: RequestContext) -> Response:
    args = ctx.request.args
    return _search(
        ctx,
        jql=args.get("jql", ""),
        token=args.get("nextPageToken"),
        max_results=ctx.query_int("maxResults", 50),
        fields=ctx.query_list("fields"),
        expand=ctx.query_list("expand"),
        properties=ctx.query_list("properties"),
    )


@routes.route(SEARCH, "POST", auth="basic")
def search_post(ctx: RequestContext) -> Response:
    body = ctx.json()
    if not isinstance(body, dict):
        raise JiraError(400, ["The request body must be a JSON object."])
    max_results = body.get("maxResults", 50)
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise JiraError(400, ["'maxResults' must be an integer."])
    expand = body.get("expand") or ""
    return _search(
        ctx,
        jql=str(body.get("jql") or ""),
        token=body.get("nextPageToken"),
        max_results=max_results,
        fields=[str(f) for f in body.get("fields") or []],
        expand=[e.strip() for e in str(expand).split(",") if e.strip()],
        properties=[str(p) for p in body.get("properties") or []],
        reconcile=_reconcile_ids(body.get("reconcileIssues")),
    )


def _reconcile_ids(value: Any) -> frozenset[str]:
    """``reconcileIssues``: "Strong consistency issue ids to be reconciled with search results. Accepts
    max 50 ids" (REST v3, search/jql POST)."""
    if value is None:
        return frozenset()
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise JiraError(400, ["'reconcileIssues' must be an array of issue ids (integers)."])
    if len(value) > 50:
        raise JiraError(400, ["'reconcileIssues' accepts at most 50 issue ids."])
    return frozenset(str(v) for v in value)


def _search(
    ctx: RequestContext,
    *,
    jql: str,
    token: str | None,
    max_results: int,
    fields: list[str],
    expand: list[str],
    properties: list[str],
    reconcile: frozenset[str] = frozenset(),
) -> Response:
    selection = FieldSelection.parse(fields, default="id")
    page_size = max(1, min(max_results, 5000 if selection.only_ids else 100))
    offset = _decode_token(token, jql) if token else 0
    with ctx.state.lock:
        try:
            compiled = JqlCompiler(ctx.state, ctx.user).compile(parse(jql))
        except JqlError as error:
            raise JiraError(400, [str(error)]) from error
        visible = [
            issue
            for issue in ctx.state.all()
            if "BROWSE_PROJECTS" in ctx.user.permissions_in(ctx.site.project_by_id(issue.project_id).key)
            and ctx.state.indexed(issue, reconcile)
            and compiled.predicate(issue)
        ]
        ordered = compiled.sort(visible)
        page = ordered[offset : offset + page_size]
        issues = [_issue_json(ctx, issue, selection, expand, properties) for issue in page]
    result: dict[str, Any] = {"issues": issues}
    if offset + page_size < len(ordered):
        result["nextPageToken"] = _encode_token(offset + page_size, jql)
    result["isLast"] = "nextPageToken" not in result
    return json_response(result)


def _issue_json(
    ctx: RequestContext, issue: Any, selection: FieldSelection, expand: list[str], properties: list[str]
) -> dict[str, Any]:
    if selection.only_ids and not expand and not properties and "key" not in selection.names:
        return {"id": issue.id}
    return render_issue(ctx, issue, selection=selection, expand=expand, properties=properties)


def _encode_token(offset: int, jql: str) -> str:
    raw = json.dumps({"o": offset, "q": _fingerprint(jql)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, jql: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded))
        offset = int(decoded["o"])
        if decoded["q"] != _fingerprint(jql) or offset < 0:
            raise ValueError("token belongs to another query")
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise JiraError(
            400, ["The provided next page token is invalid or was issued for a different query."]
        ) from error
    return offset


def _fingerprint(jql: str) -> str:
    return hashlib.sha256(jql.encode()).hexdigest()[:16]

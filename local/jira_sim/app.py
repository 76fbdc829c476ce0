"""The WSGI application: faults, routing, authentication, error shapes and the request log.

Order per request, as on the real service: the edge (injected faults) answers first, then an unknown
path gets Jira's 404, then credentials are checked, then the handler runs. Every request outside the
simulator's own admin surface is recorded with its outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from jira_sim.auth import (
    AuthFailure,
    DataCenterAuthenticator,
    Principal,
    basic_auth_user,
    bearer_token,
    connect_app,
)
from jira_sim.context import RequestContext, Services
from jira_sim.errors import NOT_AUTHENTICATED, JiraError, SoftwareError
from jira_sim.faults import FaultOutcome, FaultRule
from jira_sim.request_log import RecordedRequest, parse_body, redact_headers
from jira_sim.routes import ApiFamily, Route, RouteTable, json_response


def is_admin_path(path: str) -> bool:
    return path == "/" or path.startswith("/_sim")


def api_family(path: str) -> ApiFamily:
    if path.startswith(("/rest/builds", "/rest/deployments", "/jira/")):
        return "software"
    if path.startswith("/oauth"):
        return "oauth"
    return "admin" if is_admin_path(path) else "platform"


def error_response(api: ApiFamily, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if api == "software":
        return json_response(SoftwareError(status, message).body(), status, headers)
    if api == "oauth":
        return json_response({"error": "access_denied", "error_description": message}, status, headers)
    return json_response(JiraError(status, [message]).body(), status, headers)


@cache
def compiled_routes(tables: tuple[RouteTable, ...]) -> tuple[dict[str, Route], Map]:
    """Routes by endpoint and the URL map. Compiling the map takes tens of milliseconds, so it is
    done once per process rather than once per simulator (tests start one per test)."""
    routes: dict[str, Route] = {}
    rules = []
    for table in tables:
        for route in table.routes:
            routes[route.endpoint] = route
            rules.append(Rule(route.path, methods=list(route.methods), endpoint=route.endpoint))
    return routes, Map(rules, strict_slashes=False, merge_slashes=False)


V2, V3 = "/rest/api/2/", "/rest/api/3/"
GATEWAY, GATEWAY_FLAG = "/ex/jira/", "jira_sim.gateway"
_CLOUD_ONLY_PREFIXES = (V3, "/rest/builds", "/rest/deployments", "/jira/", "/oauth", "/_edge/")


class SimulatorApp:
    def __init__(self, services: Services, tables: tuple[RouteTable, ...]) -> None:
        self.services = services
        self.routes, self.url_map = compiled_routes(tables)
        self.dc_auth = DataCenterAuthenticator(services.site)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        started = time.perf_counter()
        response, principal, faults = self.handle(request)
        if not is_admin_path(request.path):
            self._record(request, response, principal, faults, started)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def handle(self, request: Request) -> tuple[Response, Principal | None, tuple[int, ...]]:
        admin = is_admin_path(request.path)
        outcome = FaultOutcome() if admin else self.services.faults.outcome(request.method, request.path)
        if outcome.delay:
            self.services.faults.sleep(outcome.delay)
        if outcome.rule is not None:
            return self._fault_response(request, outcome.rule), None, outcome.applied
        response, principal = self._dispatch(request)
        return response, principal, outcome.applied

    def _match(self, request: Request) -> tuple[str, dict[str, Any]]:
        """The route for the request. A Data Center site has no Cloud-only API (404) and serves each
        ``/rest/api/2`` operation it shares with Cloud from the Cloud route, rendered as v2; a Cloud
        site does not serve the Data Center-only ``/rest/api/2`` shapes."""
        adapter = self.url_map.bind_to_environ(request.environ)
        path = request.path
        if self.services.datacenter:
            if path.startswith(_CLOUD_ONLY_PREFIXES):
                raise NotFound()
            try:
                endpoint, arguments = adapter.match()
            except NotFound:
                if not path.startswith(V2):
                    raise
                endpoint, arguments = adapter.match(path_info=V3 + path[len(V2):])
            return str(endpoint), dict(arguments)
        if path.startswith(V2):
            raise NotFound()
        if path.startswith(GATEWAY):  # api.atlassian.com/ex/jira/{cloudId}/rest/api/3/... (scoped tokens)
            cloud_id, _, rest = path[len(GATEWAY):].partition("/")
            if cloud_id != self.services.site.cloud_id or not rest.startswith("rest/api/3/"):
                raise NotFound()
            request.environ[GATEWAY_FLAG] = True
            endpoint, arguments = adapter.match(path_info="/" + rest)
            return str(endpoint), dict(arguments)
        endpoint, arguments = adapter.match()
        return str(endpoint), dict(arguments)

    def _dispatch(self, request: Request) -> tuple[Response, Principal | None]:
        api = api_family(request.path)
        try:
            endpoint, arguments = self._match(request)
        except NotFound:
            return error_response(api, 404, f"null for uri: {request.url}"), None
        except MethodNotAllowed as not_allowed:
            return Response(status=405, headers=not_allowed.get_headers()), None
        route = self.routes[endpoint]
        if self.services.datacenter and route.auth in ("basic", "optional"):
            return self._dispatch_datacenter(route, request, arguments)
        principal: Principal | None = None
        try:
            principal = self._authenticate(route, request)
            context = RequestContext(request, self.services, principal)
            return route.handler(context, **arguments), principal
        except AuthFailure as failure:
            message = NOT_AUTHENTICATED if route.api == "platform" else str(failure)
            return error_response(route.api, 401, message), principal
        except JiraError as error:
            return json_response(error.body(), error.status, error.headers), principal
        except SoftwareError as error:
            return json_response(error.body(), error.status), principal

    def _dispatch_datacenter(
        self, route: Route, request: Request, arguments: dict[str, Any]
    ) -> tuple[Response, Principal | None]:
        login = self.dc_auth.login(request.headers.get("Authorization"), self.services.base_url)
        if login.captcha:
            page = Response("<html><body>CAPTCHA required: log in at /login.jsp</body></html>", status=403,
                            content_type="text/html;charset=UTF-8", headers=login.headers)
            return page, None
        principal = Principal("user", user=login.user) if login.user is not None else None
        if principal is None and route.auth != "optional":
            body = {"message": NOT_AUTHENTICATED, "status-code": 401}  # DC's 401 shape (measured, 10.3.19)
            return json_response(body, 401, login.headers), None
        context = RequestContext(request, self.services, principal)
        try:
            response = route.handler(context, **arguments)
        except JiraError as error:
            response = json_response(error.body(), error.status, error.headers)
        response.headers.update(login.headers)
        return response, principal

    def _authenticate(self, route: Route, request: Request) -> Principal | None:
        authorization = request.headers.get("Authorization")
        if route.auth == "basic":
            gateway = bool(request.environ.get(GATEWAY_FLAG))
            return Principal("user", user=basic_auth_user(self.services.site, authorization, gateway=gateway))
        if route.auth == "oauth":
            return Principal("oauth", oauth=bearer_token(self.services.oauth, authorization))
        if route.auth == "connect":
            query = request.args.to_dict(flat=False)
            app = connect_app(self.services.site, authorization, request.method, request.path, query)
            return Principal("connect", connect_app=app)
        return None

    def _fault_response(self, request: Request, rule: FaultRule) -> Response:
        assert rule.status is not None
        headers = rule.headers(self.services.faults.now_utc())
        message = {
            "rate_limit": "Rate limit exceeded.",
            "outage": "The service is temporarily unavailable (simulated outage).",
        }.get(rule.kind, f"Simulated server error ({rule.status}).")
        return error_response(api_family(request.path), rule.status, message, headers)

    def _record(
        self,
        request: Request,
        response: Response,
        principal: Principal | None,
        faults: tuple[int, ...],
        started: float,
    ) -> None:
        response_body: Any = None
        if response.mimetype == "application/json":
            response_body = json.loads(response.get_data()) if response.get_data() else None
        self.services.log.record(
            RecordedRequest(
                at=datetime.now(UTC),
                method=request.method,
                path=request.path,
                query=request.args.to_dict(flat=False),
                headers=redact_headers(dict(request.headers)),
                body=parse_body(request.get_data(cache=True)),
                status=response.status_code,
                response_body=response_body,
                principal=principal.label if principal else None,
                duration_ms=(time.perf_counter() - started) * 1000,
                faults=faults,
            )
        )

"""The stack's API routes on loopback: each `Api` event of template.yaml becomes a route that turns the
HTTP request into an API Gateway proxy event and the handler's answer back into HTTP.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from local_runtime.runner import LocalRunner, api_gateway_event

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway REST's own payload limit


class LocalApi:
    def __init__(self, runner: LocalRunner, stage: str = "v1") -> None:
        self.runner = runner
        self.stage = stage
        self.routes: list[tuple[str, str, str]] = []  # (method, template path, function)
        rules = []
        for spec in runner.specs.values():
            for event in spec.events:
                if event.type != "Api":
                    continue
                path = str(event.properties["Path"])
                method = str(event.properties["Method"]).upper()
                self.routes.append((method, path, spec.logical_id))
                rules.append(
                    Rule(f"/{stage}" + re.sub(r"\{(\w+)\}", r"<\1>", path), methods=[method],
                         endpoint=(spec.logical_id, path))
                )
        self.url_map = Map(rules)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.stage}{path}"

    def start(self, port: int = 0) -> LocalApi:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server("127.0.0.1", port, self._wsgi, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except HTTPException as error:
            response = error.get_response()
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        try:
            (logical_id, resource), params = self.url_map.bind_to_environ(request.environ).match()
        except NotFound:
            return Response('{"message":"Missing Authentication Token"}', 403, mimetype="application/json")
        body = request.get_data(cache=False)
        if len(body) > MAX_BODY_BYTES:
            return Response('{"message":"Request Too Long"}', 413, mimetype="application/json")
        event = api_gateway_event(
            method=request.method,
            resource=resource,
            path=request.path.removeprefix(f"/{self.stage}"),
            body=body,
            headers=dict(request.headers.items()),
            query=dict(request.args.items()),
            path_parameters=dict(params),
            stage=self.stage,
        )
        try:
            result = self.runner.invoke(logical_id, event)
        except Exception:  # noqa: BLE001 - API Gateway answers 502 when the function fails
            return Response('{"message": "Internal server error"}', 502, mimetype="application/json")
        return _to_response(result)


def _to_response(result: Any) -> Response:
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response('{"message": "Internal server error"}', 502, mimetype="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = Response(data, status=int(result["statusCode"]))
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    return response

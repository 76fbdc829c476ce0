"""HTTP routes, one module per API area. Each module fills a `RouteTable`; `app.py` merges them.

A route declares its auth scheme and its API family; the family decides the error body shape
(platform ``{"errorMessages", "errors"}``, software ``[{"message"}]``, OAuth ``{"error", ...}``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from werkzeug.wrappers import Response

AuthKind = Literal["none", "basic", "optional", "connect", "oauth"]
"""``optional``: Data Center routes that answer the anonymous user too (with what anonymous may see)."""
ApiFamily = Literal["platform", "software", "oauth", "admin"]
Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    endpoint: str
    path: str
    methods: tuple[str, ...]
    auth: AuthKind
    api: ApiFamily
    handler: Handler


@dataclass(eq=False)  # hashed by identity: `app.compiled_routes` caches per set of tables
class RouteTable:
    api: ApiFamily
    routes: list[Route] = field(default_factory=list)

    def route(self, path: str, *methods: str, auth: AuthKind) -> Callable[[Handler], Handler]:
        """Register a handler; stack several decorators to serve one handler on several paths."""

        def register(handler: Handler) -> Handler:
            endpoint = f"{handler.__module__}.{handler.__name__}@{path}"
            self.routes.append(Route(endpoint, path, methods, auth, self.api, handler))
            return handler

        return register


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type="application/json;charset=UTF-8")


def no_content() -> Response:
    return Response(status=204)

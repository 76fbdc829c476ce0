"""Every request the simulator answered, for tests to assert on ("exactly one create, no retries").

Credentials never reach the log: the ``Authorization`` value keeps only its scheme.
Requests to the simulator's own admin surface (``/_sim/*`` and the ``/`` index) are not recorded.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    at: datetime
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int
    response_body: Any
    #: accountId for users; ``oauth:<client id>`` or ``connect:<client key>`` for apps; None if anonymous.
    principal: str | None
    duration_ms: float
    #: Ids of the fault rules that touched the request.
    faults: tuple[int, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
            "responseBody": self.response_body,
            "principal": self.principal,
            "durationMs": round(self.duration_ms, 2),
            "faults": list(self.faults),
        }


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    redacted = dict(headers)
    for name in list(redacted):
        if name.lower() == "authorization":
            scheme = redacted[name].split(" ", 1)[0]
            redacted[name] = f"{scheme} <redacted>"
    return redacted


def parse_body(raw: bytes) -> Any:
    """The JSON a body carried; its text when it is not JSON; None when empty."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


class RequestLog:
    def __init__(self) -> None:
        self._entries: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def matching(self, method: str | None = None, path_prefix: str = "") -> list[RecordedRequest]:
        return [
            e
            for e in self.entries()
            if (method is None or e.method == method.upper()) and e.path.startswith(path_prefix)
        ]

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        return len(self.matching(method, path_prefix))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

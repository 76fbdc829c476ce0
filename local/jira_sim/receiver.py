"""A loopback HTTP endpoint that records what it receives: a stand-in webhook consumer for tests.

It answers from a script of status codes (then ``default_status``), which is how tests make the
simulator's webhook delivery fail and retry::

    with WebhookReceiver() as receiver:
        receiver.answer_with(500)          # the first delivery fails, the retry gets 204
        sim.webhooks.register(receiver.url, secret="s3cret")
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        return


class WebhookReceiver:
    def __init__(self, default_status: int = 204) -> None:
        self.default_status = default_status
        self._script: deque[int] = deque()
        self._received: list[ReceivedRequest] = []
        self._condition = threading.Condition()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def answer_with(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order."""
        with self._condition:
            self._script.extend(statuses)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        received = ReceivedRequest(
            request.method, request.full_path.rstrip("?"), dict(request.headers), request.get_data()
        )
        with self._condition:
            self._received.append(received)
            status = self._script.popleft() if self._script else self.default_status
            self._condition.notify_all()
        return Response(status=status)(environ, start_response)

    def start(self) -> Self:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the receiver is not started"
        return f"http://127.0.0.1:{self._server.server_port}/webhooks/jira"

    @property
    def received(self) -> list[ReceivedRequest]:
        with self._condition:
            return list(self._received)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """Wait until ``count`` requests arrived; returns them (fewer if ``timeout`` ran out)."""
        with self._condition:
            self._condition.wait_for(lambda: len(self._received) >= count, timeout)
            return list(self._received)

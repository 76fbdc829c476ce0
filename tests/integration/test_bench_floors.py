"""The warm benchmark's HTTP floor (bench/warm.py) against a local HTTP server: what `make bench` reports as
the least the bridge's Jira requests cost rests on it replaying them faithfully."""

from __future__ import annotations

import pytest

from tests.bench_modules import load


def test_http_floor_replays_each_invocation_on_the_issue_it_creates() -> None:
    import http.server
    import threading

    warm = load("warm")
    seen: list[str] = []

    class Jira(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(self.path)
            if self.path == "/rest/api/3/issue":
                body = b'{"key": "OPS-2", "id": "10002"}'
                self.send_response(201)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(204 if self.path == "/rest/api/3/issue/OPS-2/transitions" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jira)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address[:2]
        sent = [[
            warm.Exchange(host, port, "POST", "/rest/api/3/issue", b'{"fields": {}}', {}, 201,
                          b'{"key": "OPS-1", "id": "10001"}'),
            warm.Exchange(host, port, "POST", "/rest/api/3/issue/OPS-1/transitions",
                          b'{"transition": {"id": "31"}}', {}, 204, b""),
        ]]

        floor = warm.http_floor(sent, per_event=2)
    finally:
        server.shutdown()

    assert seen == ["/rest/api/3/issue", "/rest/api/3/issue/OPS-2/transitions"]
    assert floor["http_floor_events_per_second_per_core"] > 0


def test_http_floor_replays_with_the_bridges_timeouts() -> None:
    import http.server
    import threading

    import urllib3

    warm = load("warm")
    release = threading.Event()

    class SlowJira(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == "/slow":
                release.wait(5)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowJira)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address[:2]
        sent: list = []  # type: ignore[type-arg]
        pool = urllib3.HTTPConnectionPool(host, port)
        timeout = urllib3.Timeout(connect=1.0, read=0.2)
        with warm.recorded(sent):
            pool.urlopen("GET", "/fast", headers={"Accept": "application/json"}, timeout=timeout, retries=False)
        pool.close()
        assert sent[0].timeout is timeout

        slow = [[warm.Exchange(host, port, "GET", "/slow", None, {}, 200, b"{}", timeout)]]
        with pytest.raises(urllib3.exceptions.ReadTimeoutError):
            warm.http_floor(slow, per_event=1)
    finally:
        release.set()
        server.shutdown()

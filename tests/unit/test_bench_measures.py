"""The benchmark's measuring helpers (bench/measures.py): what `make bench` reports rests on them."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


measures = _load("measures")


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(n) for n in range(100, 0, -1)]  # 1..100, unsorted
    assert measures.percentile(samples, 0.99) == 99.0
    assert measures.percentile(samples, 0.5) == 50.0
    assert measures.percentile(samples, 1.0) == 100.0
    assert measures.percentile([3.0, 1.0, 2.0], 0.99) == 3.0  # ceil(2.97) = 3rd smallest
    assert measures.percentile([7.0], 0.01) == 7.0


def test_percentile_refuses_nothing_and_nonsense() -> None:
    with pytest.raises(ValueError, match="no samples"):
        measures.percentile([], 0.99)
    with pytest.raises(ValueError, match="q must be"):
        measures.percentile([1.0], 0)


def test_median_ratio_pairs_each_sample_with_its_neighbour() -> None:
    # the load quadrupled for two pairs: the per-pair ratios stay 2.0, the ratio of the medians (150/100) would not
    pairs = [(100.0, 50.0), (110.0, 55.0), (400.0, 200.0), (440.0, 220.0), (150.0, 100.0)]
    assert measures.median_ratio(pairs) == 2.0
    with pytest.raises(ValueError, match="no pairs"):
        measures.median_ratio([])


def test_apparent_size_counts_directories_like_du(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_bytes(b"x" * 1000)
    (tmp_path / "pkg" / "sub" / "b.py").write_bytes(b"y" * 24)
    files_only = 1024
    dirs = sum(p.lstat().st_size for p in (tmp_path, tmp_path / "pkg", tmp_path / "pkg" / "sub"))
    assert measures.apparent_size(tmp_path) == files_only + dirs
    assert measures.apparent_size(tmp_path) > files_only


def test_lambda_cpu_share_is_proportional_below_one_vcpu() -> None:
    assert measures.lambda_cpu_share(1769) == 1.0
    assert measures.lambda_cpu_share(3538) == 1.0  # one core's worth is all a single-threaded start uses
    assert measures.lambda_cpu_share(128) == pytest.approx(128 / 1769)
    assert measures.lambda_cpu_share(512) == pytest.approx(0.2894, abs=1e-4)
    with pytest.raises(ValueError, match="positive"):
        measures.lambda_cpu_share(0)


def test_failure_of_names_failed_records_and_error_answers() -> None:
    assert measures.failure_of({"batchItemFailures": []}) is None
    assert measures.failure_of({"statusCode": 202, "body": "{}"}) is None
    assert measures.failure_of(None) is None
    assert "failed records" in str(measures.failure_of({"batchItemFailures": [{"itemIdentifier": "m1"}]}))
    assert "answered 503" in str(measures.failure_of({"statusCode": 503, "body": "Jira is unavailable"}))


def test_library_floor_keeps_every_library_and_leaves_out_only_the_bridges_own_code() -> None:
    cold_import = _load("cold_import")
    loaded = ["__main__", "asyncio", "boto3", "incident_events_handler", "jira_bridge", "jira_bridge.incidents.sync",
              "jinja2.sandbox", "pydantic", "pydantic_core._pydantic_core", "jira_bridge_extra"]

    libraries = cold_import.library_modules(loaded, "incident_events_handler")

    assert libraries == ["asyncio", "boto3", "jinja2.sandbox", "pydantic", "pydantic_core._pydantic_core",
                         "jira_bridge_extra"]


def test_http_floor_replays_each_invocation_on_the_issue_it_creates() -> None:
    import http.server
    import threading

    warm = _load("warm")
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


def test_loading_the_warm_bench_leaves_the_process_environment_alone() -> None:
    # bench/run.py imports it and goes on to run the local stack's functions in the same process
    before = dict(os.environ)

    warm = _load("warm")

    assert dict(os.environ) == before
    assert "LINK_TABLE_NAME" in warm.HANDLER_ENVIRONMENT


def test_the_warm_handlers_get_a_lambda_environment_and_nothing_of_the_parents_but_scratch_space() -> None:
    warm = _load("warm")
    cold_import = _load("cold_import")
    parent = {"TMPDIR": "/scratch", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ACCESS_KEY_ID": "testing",
              "HTTPS_PROXY": "http://proxy:3128", "AWS_CA_BUNDLE": "/etc/ca.pem", "POWERTOOLS_TRACE_DISABLED": "1"}

    environment = warm.measuring_environment(parent, cold_import.lambda_environment("bench"))

    assert environment["TMPDIR"] == "/scratch"
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "bench"  # Tracer and the Jira metrics are on
    assert environment["LINK_TABLE_NAME"] == warm.HANDLER_ENVIRONMENT["LINK_TABLE_NAME"]
    leaked = {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "HTTPS_PROXY", "AWS_CA_BUNDLE", "POWERTOOLS_TRACE_DISABLED"}
    assert not leaked & set(environment)


def test_http_floor_replays_with_the_bridges_timeouts() -> None:
    import http.server
    import threading

    import urllib3

    warm = _load("warm")
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


def test_the_warm_handlers_log_at_the_deployed_default_level() -> None:
    # each event's INFO line is part of what a deployment with the template's defaults pays per event
    from local_runtime.cfn_yaml import load_template

    warm = _load("warm")
    template = load_template(BENCH.parent / "template.yaml")

    assert warm.HANDLER_ENVIRONMENT["POWERTOOLS_LOG_LEVEL"] == template["Parameters"]["LogLevel"]["Default"]

"""Warm cost of each handler per event, with the project's real HTTP client and Jira out of the process.

The handlers run exactly as deployed (Powertools wiring, parsing, domain, the real Jira and Jira Software
clients with their urllib3 pools, retries and auth) against the Jira simulator, which runs in a
*separate process* on 127.0.0.1 (a real socket, real HTTP, the simulator's strict contract checks).
What is faked is below the bridge's own code and outside Jira: DynamoDB (links, idempotency) and SQS /
EventBridge answer from memory, as a network the benchmark leaves out. The handlers log at the template's default
level (INFO: a line per event) to a sink, as a deployment with the defaults does.

The figure is this process's CPU time per event (`time.process_time`): the simulator's time, and the
time spent waiting on the socket for it, are another process's and are excluded, like the network and
Jira's own latency would be. events/s per core = events / CPU seconds; p99 is over per-event CPU ms.
Wall time per event (with the simulator's answer time) is reported next to it.

The HTTP floor next to each figure: the requests the bridge sent in the measured run, sent again in the same
order by bare urllib3 to the same simulator, with nothing else (see http_floor). The per-event CPU above it is
what the bridge and its libraries (Powertools, pydantic, X-Ray) add to the Jira exchanges themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
for path in ("layers/shared", "functions/incident_events", "functions/jira_webhook", "functions/ci_notify", "local"):
    sys.path.insert(0, str(ROOT / path))

# The handlers' own settings (template.yaml's Environment, pointed at the bench's stand-ins). Given to the
# measuring interpreter only (see measure): set here, in the process that imports this module, they would
# stay in its environment, and bench/run.py goes on to run the local stack's functions in that process.
HANDLER_ENVIRONMENT = {
    # template.yaml's LogLevel default: each event's INFO line ("incident event applied", "ci run reported") is
    # formatted and written as deployed, to a sink (measure's stdout); at ERROR the bench left that cost out.
    "POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_METRICS_NAMESPACE": "JiraBridge",
    "LINK_TABLE_NAME": "links", "IDEMPOTENCY_TABLE_NAME": "idempotency", "CONNECTOR_SECRET_PREFIX": "bench/",
    "EVENT_BUS_NAME": "bus", "INCIDENT_EVENTS_DLQ_URL": "https://sqs.invalid/dlq", "CONFIG_DIR": str(ROOT / "config"),
    "INCIDENT_EVENTS_QUEUE_URL": "https://sqs.invalid/events.fifo",
    "JIRA_CHANGES_QUEUE_URL": "https://sqs.invalid/changes.fifo", "CI_CALLERS_SECRET_NAME": "bench/ci-callers",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# What the measuring interpreter takes from the environment it is started from: nothing that would change what
# is measured (an earlier bench stage's AWS endpoint and credentials, a developer's proxy, AWS profile or CA bundle).
INHERITED = ("PATH", "TMPDIR")

from measures import failure_of, percentile  # noqa: E402

# The bridge's modules are imported by the measuring interpreter only (inside the functions below): they read
# their environment when they load (Powertools' service and namespace), which is a Lambda function's there.
SECRET = "bench-webhook-secret"  # noqa: S105 - a benchmark's own value
CI_API_KEY = "bench-ci-api-key-0123456789"
CONTRACTS = ROOT.parent / "shared" / "contracts"

# The simulator's own process: prints the connector secret of its integration account, serves until stdin closes.
SIMULATOR = r"""
import json, sys
sys.path[:0] = sys.argv[1:3]
from pathlib import Path
import threading
import waitress
from jira_sim import JiraSimulator
from local_runtime.environment import simulator_connector_secret
contracts = Path(sys.argv[3])
from waitress.channel import HTTPChannel
from waitress.task import WSGITask


class KeepAliveTask(WSGITask):
    # waitress 3.0.2 closes the connection after every response without a Content-Length, 204 and 304 included,
    # though they carry no body and need no framing (RFC 9112 section 6.3). Jira keeps those connections open;
    # a close after each 204 (every transition) would charge the bridge a TCP connect per hop that Jira does not.
    def build_response_header(self):
        client_keeps = self.request.headers.get("CONNECTION", "").lower() != "close"
        if self.has_body or self.version != "1.1" or self.close_on_finish or not client_keeps:
            return super().build_response_header()
        self.set_close_on_finish = lambda: None
        try:
            return super().build_response_header()
        finally:
            del self.set_close_on_finish


class KeepAliveChannel(HTTPChannel):
    task_class = KeepAliveTask


# The HTTP floor's replay sends the next request while waitress's thread is still finishing the last answer:
# waitress then logs "Task queue depth is 1" on every request. The answer is not delayed by it; not a problem.
import logging
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

with JiraSimulator(contracts_dir=contracts if contracts.exists() else None) as sim:
    # Jira keeps connections alive (HTTP/1.1); werkzeug's development server closes every one. The same
    # simulator application is served by waitress, and its URLs (links, OAuth, gateway) point there.
    keep_alive = waitress.create_server(sim._app, host="127.0.0.1", port=0, threads=2)
    keep_alive.channel_class = KeepAliveChannel
    threading.Thread(target=keep_alive.run, daemon=True).start()
    sim.services.base_url = f"http://127.0.0.1:{keep_alive.effective_port}"
    print(json.dumps(simulator_connector_secret(sim)), flush=True)
    sys.stdin.read()
    keep_alive.task_dispatcher.shutdown()  # its threads done first: a thread still answering would wake a closed loop
    keep_alive.close()
"""


@contextlib.contextmanager
def simulator() -> Iterator[dict[str, Any]]:
    """The Jira simulator in a process of its own; yields the connector secret acting as its bot."""
    process = subprocess.Popen([sys.executable, "-c", SIMULATOR, str(ROOT / "local"), str(ROOT / "layers" / "shared"),
                                str(CONTRACTS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the Jira simulator did not start")
        yield json.loads(line)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)


class InstantAws:
    """SQS and EventBridge answering at once (AWS is the network the benchmark leaves out)."""

    def send_message(self, **kwargs: Any) -> dict[str, str]:
        return {"MessageId": "m"}

    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in kwargs.get("Entries", [])]}


class CachedSecrets:
    """`adapters.get_secret_json` (Powertools' secrets provider) answering from its cache, as in a warm container
    (the same object each time): the bridge's own secret handling (parsing, fingerprints) runs as deployed."""

    def __init__(self, connector: dict[str, Any]) -> None:
        self.secrets = {
            "bench/default": {**connector, "webhook_secret": SECRET},
            "bench/ci-callers": {"callers": {"bench": {"api_key": CI_API_KEY}}},
        }

    def __call__(self, name: str, max_age: int) -> Any:
        return self.secrets[name]


def incident_sqs_events(count: int) -> list[dict[str, Any]]:
    base = json.loads((ROOT / "events" / "incident-created.eventbridge.json").read_text())
    events = []
    for n in range(count):
        body = json.loads(json.dumps(base))
        incident = f"INC-{n}"
        body["detail"]["incident"]["id"] = incident
        records = [{"messageId": f"m-{n}-{kind}", "receiptHandle": "r", "attributes": {"MessageGroupId": "g"},
                    "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:1:q.fifo", "awsRegion": "us-east-1",
                    "body": json.dumps(body)} for kind in ("created",)]
        changed = json.loads(json.dumps(body))
        changed["detail"].update(event_id=f"e-{n}-2", sequence=2)
        changed["detail"]["incident"]["state"] = "resolved"
        changed["detail"]["change"] = {"kind": "field_changed", "field": "state", "old_value": "triggered",
                                       "new_value": "resolved"}
        records.append({**records[0], "messageId": f"m-{n}-state", "body": json.dumps(changed)})
        events.append({"Records": records})
    return events


def webhook_events(count: int) -> list[dict[str, Any]]:
    body = (Path(ROOT.parent / "shared" / "contracts" / "jira-webhooks" /
                 "jira-issue_updated.status-transition.cloud.json")).read_bytes()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    event = {"resource": "/webhooks/jira", "path": "/webhooks/jira", "httpMethod": "POST",
             "headers": {"X-Hub-Signature": signature, "X-Atlassian-Webhook-Identifier": "1"},
             "multiValueHeaders": {}, "queryStringParameters": None, "pathParameters": None,
             "requestContext": {"requestId": "r", "stage": "v1", "resourcePath": "/webhooks/jira",
                                "httpMethod": "POST", "path": "/v1/webhooks/jira"},
             "body": body.decode(), "isBase64Encoded": False}
    return [event] * count


class InstantOnce:
    """The idempotency record kept in memory (DynamoDB is the network the benchmark leaves out)."""

    def __init__(self) -> None:
        self.done: dict[str, dict[str, Any]] = {}

    def register_lambda_context(self, context: Any) -> None:
        return None

    def __call__(self, key: str, work: Any) -> tuple[dict[str, Any], bool]:
        if key in self.done:
            return self.done[key], False
        self.done[key] = work()
        return self.done[key], True


def ci_notify_events(count: int, per_body: int) -> list[dict[str, Any]]:
    """POST /ci/notify with an API key; every body distinct (a redelivery would cost nothing)."""
    events = []
    for n in range(count):
        notes = [{"pipeline": {"id": "acme/shop/ci.yml", "name": "shop CI"}, "build_number": n * per_body + i,
                  "url": f"https://ci.example.com/runs/{n}", "state": "success", "updated_at": "2026-11-23T03:00:00Z",
                  "pr_title": "[OPS-1] Faster checkout", "commits": [{"id": "9f1c2e4", "message": "OPS-1: cache"}],
                  "branch": "feature/OPS-1-faster-checkout"} for i in range(per_body)]
        body = json.dumps(notes[0] if per_body == 1 else {"notifications": notes})
        events.append({"resource": "/ci/notify", "path": "/ci/notify", "httpMethod": "POST",
                       "headers": {"Authorization": f"Bearer {CI_API_KEY}", "Content-Type": "application/json"},
                       "multiValueHeaders": {}, "queryStringParameters": None, "pathParameters": None,
                       "requestContext": {"requestId": "r", "stage": "v1", "resourcePath": "/ci/notify",
                                          "httpMethod": "POST", "path": "/v1/ci/notify"},
                       "body": body, "isBase64Encoded": False})
    return events


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def run(handler: Any, events: list[dict[str, Any]], per_event: int, warm_up: int = 20) -> dict[str, float]:
    # EMF metrics are printed to stdout as in Lambda; keep them (their cost is real) but off the screen.
    with contextlib.redirect_stdout(io.StringIO()):
        return _run(handler, events, per_event, warm_up)


def _run(handler: Any, events: list[dict[str, Any]], per_event: int, warm_up: int) -> dict[str, float]:
    from jira_bridge import adapters

    context = Context()
    for number, event in enumerate(events[:warm_up]):
        os.environ["_X_AMZN_TRACE_ID"] = trace_header(len(events) + number)
        check(handler(event, context))
    counter = adapters.request_counter()
    requests_before = counter.total()
    cpu, wall = [], []
    sent: list[list[Exchange]] = []
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    for number, event in enumerate(events[warm_up:]):
        os.environ["_X_AMZN_TRACE_ID"] = trace_header(number)
        sent.append([])
        with recorded(sent[-1]):
            c, w = time.process_time(), time.perf_counter()
            answer = handler(event, context)
            cpu.append((time.process_time() - c) * 1000 / per_event)
            wall.append((time.perf_counter() - w) * 1000 / per_event)
        check(answer)
    cpu_total = time.process_time() - cpu_started
    wall_total = time.perf_counter() - wall_started
    handled = len(cpu) * per_event
    return {
        "events_per_second_per_core": round(handled / cpu_total),
        "p50_ms": round(percentile(cpu, 0.50), 3),
        "p99_ms": round(percentile(cpu, 0.99), 3),
        "wall_events_per_second": round(handled / wall_total),
        "wall_p99_ms": round(percentile(wall, 0.99), 3),
        "jira_requests_per_event": round((counter.total() - requests_before) / handled, 2),
        **http_floor(sent, per_event),
    }


XRAY_SAMPLED_ONE_IN = 20  # X-Ray's default rule: the first request each second and 5% of the others


def trace_header(number: int) -> str:
    """What Lambda's runtime sets before each invocation (Tracing: Active): X-Ray starts a new trace from it.
    Lambda decides the sampling with X-Ray's default rule, the first request each second and 5% of the rest
    (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html); at hundreds of
    invocations a second that is 1 in 20, what the bench sends. A sampled invocation sends each subsegment
    to the X-Ray daemon as it ends; the others build X-Ray's placeholders and send nothing."""
    sampled = int(number % XRAY_SAMPLED_ONE_IN == 0)
    return f"Root=1-6750a000-{number:024x};Parent={number + 1:016x};Sampled={sampled}"


@dataclass(frozen=True)
class Exchange:
    """One request the bridge sent, and its answer (the created issue's key is read from it at replay)."""

    host: str
    port: int
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]
    status: int
    answer: bytes
    timeout: Any = None  # the bridge's connect and read timeouts (every request of a handler has them)

    def created(self) -> tuple[str, str] | None:
        if self.method == "POST" and self.url.endswith("/issue") and self.status == 201:
            issue = json.loads(self.answer)
            return issue["key"], issue["id"]
        return None


@contextlib.contextmanager
def recorded(into: list[Exchange]) -> Iterator[None]:
    """Every request urllib3 sends while the block runs, recorded (for the HTTP floor, see http_floor): a
    tuple appended per request, a few microseconds against the ~0.3 ms the request costs."""
    import urllib3

    urlopen = urllib3.HTTPConnectionPool.urlopen

    def recording(pool: Any, method: str, url: str, body: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        answer = urlopen(pool, method, url, body=body, headers=headers, **kwargs)
        into.append(Exchange(pool.host, pool.port, method, url, body, headers or {}, answer.status, answer.data,
                             kwargs.get("timeout")))
        return answer

    urllib3.HTTPConnectionPool.urlopen = recording  # type: ignore[method-assign]
    try:
        yield
    finally:
        urllib3.HTTPConnectionPool.urlopen = urlopen  # type: ignore[method-assign]


def http_floor(sent: list[list[Exchange]], per_event: int) -> dict[str, float]:
    """The same Jira requests, sent again by bare urllib3 to the same simulator and nothing else: no bridge, no
    Powertools, no parsing but the created issue's key. Each invocation's requests are replayed in order on a
    keep-alive pool, the created issue's key and id put where the bridge had used its own (so the
    transitions apply to the new issue). What no handler making these requests with this HTTP stack can go
    below: the part of the per-event CPU that is the Jira exchanges themselves."""
    import urllib3

    if not any(sent):
        return {}
    pools: dict[tuple[str, int], urllib3.HTTPConnectionPool] = {}
    cpu = []
    for invocation in sent:
        started = time.process_time()
        replacements: list[tuple[str, str]] = []
        for exchange in invocation:
            url, body = exchange.url, exchange.body
            for old, new in replacements:
                url = url.replace(f"/{old}/", f"/{new}/")
                body = body.replace(old.encode(), new.encode()) if body else body
            pool = pools.get((exchange.host, exchange.port))
            if pool is None:
                pool = pools[(exchange.host, exchange.port)] = urllib3.HTTPConnectionPool(
                    exchange.host, exchange.port, maxsize=1)
            timeout = {"timeout": exchange.timeout} if exchange.timeout is not None else {}
            answer = pool.urlopen(exchange.method, url, body=body, headers=exchange.headers, retries=False,
                                  redirect=False, preload_content=True, **timeout)
            created = exchange.created()
            if created is not None:
                issue = json.loads(answer.data)
                replacements += [(created[0], issue["key"]), (created[1], issue["id"])]
            if answer.status >= 400:
                raise RuntimeError(f"the HTTP floor's replay of {exchange.method} {url} got {answer.status}")
        cpu.append(time.process_time() - started)
    for pool in pools.values():
        pool.close()  # before the simulator stops (waitress would wake a closed loop for a connection still open)
    handled = len(sent) * per_event
    return {"http_floor_events_per_second_per_core": round(handled / sum(cpu))}


def check(answer: Any) -> None:
    """A benchmark of failures would be meaningless: every answer must be a success."""
    failure = failure_of(answer)
    if failure is not None:
        raise RuntimeError(f"the handler failed: {failure}")


PATCHED = ("link_store", "metadata_store", "aws_client", "ci_once")


def measure(count: int = 500) -> dict[str, Any]:
    """The handlers against the simulator, in an interpreter of their own whose environment is a Lambda
    function's from its first import: X-Ray's recorder and Powertools' Tracer decide when they load whether
    they run in Lambda (outside it they trace nothing, and the Jira metrics are not kept), and Lambda traces
    these functions (`Tracing: Active`): each subsegment is sent to the X-Ray daemon as it ends. Nothing else of this
    process's environment goes with it (see measuring_environment): bench/run.py's earlier stages leave their local
    AWS endpoint and credentials in it."""
    from cold_import import lambda_environment

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "warm.json"
        # Its stdout is the handlers' log stream (in Lambda, the runtime's pipe to CloudWatch): written, then dropped.
        subprocess.run([sys.executable, str(Path(__file__).resolve()), str(count), str(out)], check=True,
                       env=measuring_environment(os.environ, lambda_environment("bench")), stdout=subprocess.DEVNULL)
        figures: dict[str, Any] = json.loads(out.read_text())
        return figures


def measuring_environment(parent: Mapping[str, str], function: dict[str, str]) -> dict[str, str]:
    """The measuring interpreter's whole environment: a Lambda function's (`function`) with the handlers'
    settings, and from the `parent` process only what locates programs and scratch space."""
    return {**{name: parent[name] for name in INHERITED if name in parent}, **HANDLER_ENVIRONMENT, **function}


def measure_here(count: int) -> dict[str, Any]:
    """`measure` in this interpreter; the real factories and settings are restored afterwards."""
    from jira_bridge import adapters
    from jira_bridge.settings import load_settings

    saved = {name: getattr(adapters, name) for name in PATCHED}
    get_secret_json = adapters.get_secret_json
    try:
        with simulator() as secret:
            adapters.get_secret_json = CachedSecrets(secret)  # type: ignore[assignment]
            return _measure(count)
    finally:
        adapters.get_secret_json = get_secret_json
        for name, factory in saved.items():
            setattr(adapters, name, factory)
        load_settings.cache_clear()
        adapters.reset()


def _measure(count: int) -> dict[str, Any]:
    from jira_bridge import adapters
    from jira_bridge.links.store import InMemoryLinkStore
    from jira_bridge.settings import load_settings

    load_settings.cache_clear()  # settings an earlier stack in this process cached (e.g. its request budget)
    adapters.reset()
    store = InMemoryLinkStore()
    adapters.link_store = lambda _settings: store  # type: ignore[assignment]
    from jira_bridge.incidents.metadata_store import InMemoryMetadataStore

    shared = InMemoryMetadataStore()  # the stack-wide metadata cache (DynamoDB is the network left out)
    adapters.metadata_store = lambda _settings: shared  # type: ignore[assignment]
    adapters.aws_client = lambda _service: InstantAws()  # type: ignore[assignment]
    once = InstantOnce()
    adapters.ci_once = lambda _settings: once  # type: ignore[assignment]

    import ci_notify_handler
    import incident_events_handler
    import jira_webhook_handler

    return {
        "IncidentEventsFunction": run(incident_events_handler.lambda_handler, incident_sqs_events(count), per_event=2),
        "JiraWebhookFunction": run(jira_webhook_handler.lambda_handler, webhook_events(count * 2), per_event=1),
        "CiNotifyFunction": run(ci_notify_handler.lambda_handler, ci_notify_events(count * 2, 1), per_event=1),
        "CiNotifyFunction (10 per body)":
            run(ci_notify_handler.lambda_handler, ci_notify_events(count // 5, 10), per_event=10, warm_up=5),
    }


if __name__ == "__main__":
    if len(sys.argv) > 2:  # the measuring interpreter `measure` starts
        Path(sys.argv[2]).write_text(json.dumps(measure_here(int(sys.argv[1]))))
    else:
        print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 500), indent=2))

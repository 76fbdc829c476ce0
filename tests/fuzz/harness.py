"""Hostile input for every entry point, through the real handlers (hypothesis).

Each entry point gets inputs built from its real sample, broken every way a sender (or an attacker)
can break it: random bytes, truncated, deeply nested and oversized JSON, wrong types in any field,
unicode (lone surrogates included), header variants (missing, re-cased, garbage, huge) and, for the
signed entry points, garbage that is *correctly signed* so it reaches the parsers. The handler runs
in-process against moto and the Jira simulator (``LocalEnvironment``), exactly as the integration
tier runs it. Per entry point we count:

* unhandled exceptions (Lambda would report an error; API Gateway answers 502);
* 5xx answers (every input here is a client's fault, so any 5xx is a bug), or for a queue entry
  point, records reported as batch failures (a poison record must be parked, not retried);
* writes from invalid input: Jira writes (non-GET requests), ``PutEvents`` on the bus and
  ``SendMessage`` to a non-dead-letter queue made while handling an input the handler refused (4xx,
  or an invalid queue record).

``python -m tests.fuzz.harness [N]`` (``make fuzz``) runs N inputs per entry point and prints the
table; ``tests/fuzz/test_fuzz.py`` runs a few hundred per entry point inside ``make test``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from jira_bridge.ci.callers import sign_request
from local_runtime.clock import SimClock
from local_runtime.environment import (
    LOCAL_CI_API_KEY,
    LOCAL_CI_HMAC_CALLER,
    LOCAL_CI_HMAC_SECRET,
    LOCAL_GITHUB_WEBHOOK_SECRET,
    LOCAL_PAGERDUTY_SECRET,
    LOCAL_WEBHOOK_SECRET,
    LocalEnvironment,
)
from local_runtime.runner import api_gateway_event
from local_runtime.sqs_model import INVALID_SQS_CHARACTERS

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
CONTRACTS = ROOT.parent / "shared" / "contracts"
QUIET = {"Parameters": {"POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true",
                        "POWERTOOLS_TRACE_DISABLED": "true"}}


def _sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def _sample_body(name: str) -> bytes:
    return str(_sample(name)["body"]).encode()


def _pagerduty_sample() -> bytes:
    path = CONTRACTS / "pagerduty" / "webhooks-v3" / "incident.triggered.zulip.json"
    if path.exists():
        return path.read_bytes()
    return json.dumps({"event": {"id": "01", "event_type": "incident.triggered", "resource_type": "incident",
                                 "occurred_at": "2026-01-01T00:00:00Z", "data": {}}}).encode()


# ----- strategies ---------------------------------------------------------------------------------

UNICODE = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), UNICODE,
                    st.sampled_from(["²", "¹²³", "9" * 5000, "\u202e", "OPS-1", "", " ", "null"]))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(UNICODE, inner, max_size=4), max_leaves=12)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


@st.composite
def mutated(draw: st.DrawFn, sample: bytes) -> bytes:
    """The sample with one field (at any depth) replaced by a value of any type, or removed."""
    document = json.loads(sample)
    node: Any = document
    for _ in range(draw(st.integers(0, 6))):
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node)) \
            if isinstance(node, list) else []
        containers = [(k, v) for k, v in children if isinstance(v, dict | list) and v]
        if not containers:
            break
        _, node = draw(st.sampled_from(containers))
    if isinstance(node, dict) and node:
        key = draw(st.sampled_from(sorted(node, key=str)))
        if draw(st.booleans()):
            node[key] = draw(JSON_VALUES)
        else:
            del node[key]
    elif isinstance(node, list) and node:
        node[draw(st.integers(0, len(node) - 1))] = draw(JSON_VALUES)
    return _dumps(document)


def _deep(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"event":' * depth + b"1" + b"}" * depth


def hostile_bodies(sample: bytes) -> st.SearchStrategy[bytes]:
    lone = sample.replace(b'"', b'"\\ud800', 1) if b'"' in sample else b'"\\udc00"'
    return st.one_of(
        st.binary(max_size=600),
        JSON_VALUES.map(_dumps),
        mutated(sample),
        mutated(sample),
        st.integers(0, len(sample)).map(lambda n: sample[:n]),  # truncated
        st.tuples(st.integers(1, 50_000), st.sampled_from(["list", "dict"])).map(lambda d: _deep(*d)),
        st.sampled_from([lone, b'{"a": "\\ud800"}', sample + b"\xff", b"\xef\xbb\xbf" + sample,
                         b" " * (256 * 1024 + 1), sample.replace(b"{", b"{" + b'"x":' + b'"y",' * 20_000, 1)]),
        st.just(sample),
    )


def header_names(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.lower(), name.upper(), f" {name}", name.replace("-", "_")])


HEADER_VALUES = st.one_of(UNICODE, st.sampled_from(["", " ", "x" * 10_000, "sha256=", "v1=", "Bearer", "Bearer  "]))


def _hub(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _pagerduty(body: bytes, secret: str) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@st.composite
def signed_request(draw: st.DrawFn, sample: bytes, signature_header: str, sign: Callable[[bytes], str],
                   extra: st.SearchStrategy[dict[str, str]] | None = None) -> tuple[bytes, dict[str, str]]:
    body = draw(hostile_bodies(sample))
    headers: dict[str, str] = {}
    how = draw(st.sampled_from(["signed", "signed", "signed", "none", "garbage", "wrong-secret"]))
    if how == "signed":
        headers[draw(header_names(signature_header))] = sign(body)
    elif how == "garbage":
        headers[signature_header] = draw(HEADER_VALUES)
    elif how == "wrong-secret":
        headers[signature_header] = _hub(body, "not-the-secret-0123456789")
    if draw(st.booleans()):
        headers["Content-Type"] = draw(st.sampled_from(["application/json", "text/plain", "", "☃"]))
    if extra is not None:
        headers.update(draw(extra))
    return body, headers


def _api(method: str, resource: str, path: str, body: bytes, headers: dict[str, str],
         query: dict[str, str] | None = None, path_parameters: dict[str, str] | None = None,
         base64_body: bool = False) -> dict[str, Any]:
    event = api_gateway_event(method, resource, path, body, headers, query or {}, path_parameters or {})
    if base64_body:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


@st.composite
def jira_webhook(draw: st.DrawFn) -> dict[str, Any]:
    extra = st.fixed_dictionaries({}, optional={"X-Atlassian-Webhook-Identifier": HEADER_VALUES,
                                                "X-Atlassian-Webhook-Retry": HEADER_VALUES})
    body, headers = draw(signed_request(_sample_body("jira-webhook.apigw-signed.json"), "X-Hub-Signature",
                                        lambda b: _hub(b, LOCAL_WEBHOOK_SECRET), extra))
    query = draw(st.one_of(st.just({}), st.fixed_dictionaries({"connector": UNICODE})))
    return _api("POST", "/webhooks/jira", "/webhooks/jira", body, headers, query, base64_body=draw(st.booleans()))


@st.composite
def pagerduty_webhook(draw: st.DrawFn) -> dict[str, Any]:
    body, headers = draw(signed_request(_pagerduty_sample(), "X-PagerDuty-Signature",
                                        lambda b: _pagerduty(b, LOCAL_PAGERDUTY_SECRET)))
    account = draw(st.one_of(st.none(), st.just("default"), UNICODE))  # several accounts: /webhooks/pagerduty/{account}
    if account is None:
        return _api("POST", "/webhooks/pagerduty", "/webhooks/pagerduty", body, headers)
    return _api("POST", "/webhooks/pagerduty/{account}", f"/webhooks/pagerduty/{account}", body, headers,
                path_parameters={"account": account})


NOTIFICATION = _dumps({"pipeline": {"id": "acme/shop/ci.yml", "name": "shop CI"}, "build_number": 1,
                       "url": "https://ci.example.com/1", "state": "success", "updated_at": "2026-11-23T03:00:00Z",
                       "commits": ["OPS-1: fix"], "branch": "feature/OPS-1"})


@st.composite
def ci_notify(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):  # API key (right, wrong, garbage) or the HMAC caller
        body = draw(hostile_bodies(draw(st.sampled_from([NOTIFICATION, _dumps({"notifications": [
            json.loads(NOTIFICATION)] * 3})]))))
        key = draw(st.one_of(st.just(LOCAL_CI_API_KEY), HEADER_VALUES))
        headers = {draw(st.sampled_from(["Authorization", "authorization"])): f"Bearer {key}"} \
            if draw(st.booleans()) else {"X-Api-Key": key}
    else:
        extra = st.just({"X-Jira-Bridge-Caller": LOCAL_CI_HMAC_CALLER})
        body, headers = draw(signed_request(NOTIFICATION, "X-Hub-Signature-256",
                                            lambda b: _hub(b, LOCAL_CI_HMAC_SECRET), extra))
    return _api("POST", "/ci/notify", "/ci/notify", body, headers)


# A comment on an issue the fuzz site does not have: every input ends before Jira is written to (a
# create or a transition can be refused by Jira after a write, which this harness would count).
ISSUE_STEP = _dumps({"idempotencyKey": "pipeline-1-comment", "issueKey": "OPS-1", "comment": "Deployed **v2**",
                     "fields": {"labels": ["shipped"]}, "transition": {"to": "Done", "fields": {"resolution": "Done"}}})


@st.composite
def issue_step(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        body = draw(hostile_bodies(ISSUE_STEP))
        headers = {"X-Api-Key": draw(st.one_of(st.just(LOCAL_CI_API_KEY), HEADER_VALUES))}
    else:
        extra = st.just({"X-Jira-Bridge-Caller": LOCAL_CI_HMAC_CALLER})
        body, headers = draw(signed_request(ISSUE_STEP, "X-Hub-Signature-256",
                                            lambda b: _hub(b, LOCAL_CI_HMAC_SECRET), extra))
    return _api("POST", "/ci/issues", "/ci/issues", body, headers)


@st.composite
def github_webhook(draw: st.DrawFn) -> dict[str, Any]:
    extra = st.fixed_dictionaries({"X-GitHub-Event": st.one_of(
        st.sampled_from(["workflow_run", "deployment_status", "ping", "push"]), HEADER_VALUES)},
        optional={"X-GitHub-Delivery": HEADER_VALUES})
    body, headers = draw(signed_request(_sample_body("github-workflow-run.signed.apigw.json"), "X-Hub-Signature-256",
                                        lambda b: _hub(b, LOCAL_GITHUB_WEBHOOK_SECRET), extra))
    query = draw(st.one_of(st.just({}), st.fixed_dictionaries({"caller": UNICODE})))
    return _api("POST", "/webhooks/github", "/webhooks/github", body, headers, query)


@st.composite
def approval(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.one_of(st.sampled_from(["OPS-1", "OPS-0", "ops-1", "OPS-99999999999999999999", "PAY-1"]), UNICODE))
    names = st.sampled_from(["pipeline", "deployment", "environment", "environmentId", "x", "DEPLOYMENT"])
    values = st.one_of(st.sampled_from(["21", "²", "¹²³", "9" * 5000, "-1", "0x10", " 1", "1e3"]), UNICODE)
    query = draw(st.dictionaries(names, values, max_size=4))
    path = f"/ci/approval/{key}"
    if draw(st.booleans()):
        headers = {"X-Api-Key": draw(st.one_of(st.just(LOCAL_CI_API_KEY), HEADER_VALUES))}
    else:
        from urllib.parse import urlencode

        skew = draw(st.sampled_from([0, 0, -1000, 1000]))
        signed_query = urlencode(query, errors="surrogatepass")
        headers = sign_request(LOCAL_CI_HMAC_CALLER, LOCAL_CI_HMAC_SECRET, "GET", path, signed_query,
                               time.time() + skew)
        if draw(st.booleans()):
            headers["X-Jira-Bridge-Timestamp"] = draw(HEADER_VALUES)
    return _api("GET", "/ci/approval/{issueKey}", path, b"", headers, query, {"issueKey": key})


@st.composite
def ci_native_event(draw: st.DrawFn) -> dict[str, Any]:
    sample = _dumps(_sample("codebuild-build-state-change.eventbridge.json"))
    body = draw(st.one_of(mutated(sample), mutated(sample), JSON_VALUES.map(_dumps)))
    event = json.loads(body)
    return event if isinstance(event, dict) and "httpMethod" not in event else {"detail": event}


def sqs_body(body: bytes) -> str:
    """``body`` as SQS would hold it: text, with what SQS refuses on send (characters outside XML's
    set) replaced; SQS cannot deliver a record it could not have accepted."""
    return INVALID_SQS_CHARACTERS.sub("\ufffd", body.decode("utf-8", "replace"))


@st.composite
def incident_events_batch(draw: st.DrawFn) -> dict[str, Any]:
    sample = _dumps(_sample("incident-created.eventbridge.json"))
    records = []
    for _ in range(draw(st.integers(1, 3))):
        body = draw(st.one_of(mutated(sample), hostile_bodies(sample)).filter(bool))  # SQS has no empty bodies
        records.append(sqs_record(sqs_body(body)))
    return {"Records": records}


def sqs_record(body: str) -> dict[str, Any]:
    """One record of a FIFO queue's Lambda event carrying ``body``."""
    return {"messageId": str(uuid.uuid4()), "receiptHandle": "rh", "body": body,
            "attributes": {"MessageGroupId": "g", "ApproximateReceiveCount": "1"},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo", "awsRegion": "us-east-1"}


@dataclass(frozen=True)
class EntryPoint:
    name: str
    function: str
    inputs: st.SearchStrategy[dict[str, Any]]
    kind: str = "api"  # api | async | sqs


ENTRY_POINTS = (
    EntryPoint("Jira webhook", "JiraWebhookFunction", jira_webhook()),
    EntryPoint("PagerDuty webhook", "PagerDutyWebhookFunction", pagerduty_webhook()),
    EntryPoint("CI notify", "CiNotifyFunction", ci_notify()),
    EntryPoint("GitHub webhook", "CiNotifyFunction", github_webhook()),
    EntryPoint("approval GET", "CiNotifyFunction", approval()),
    EntryPoint("issue step", "CiNotifyFunction", issue_step()),
    EntryPoint("CodeBuild/CodePipeline event", "CiNotifyFunction", ci_native_event(), "async"),
    EntryPoint("incident-events SQS batch", "IncidentEventsFunction", incident_events_batch(), "sqs"),
)


# ----- running ------------------------------------------------------------------------------------


@dataclass
class Tally:
    entry: str
    inputs: int = 0
    unhandled: int = 0
    server_errors: int = 0
    invalid_writes: int = 0
    examples: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(what[:300])


class Writes:
    """Counts writes to Jira and the bus (and non-DLQ queues): boto3 calls through botocore's event
    hooks, the template's queues (the local SQS model) by wrapping the model's send operations."""

    def __init__(self, env: LocalEnvironment) -> None:
        self.env = env
        self.aws = 0
        self.parked = 0

    def install(self) -> None:
        import boto3

        from jira_bridge import adapters

        session = boto3._get_default_session()
        session.events.register("before-call.events.PutEvents", self._count)
        session.events.register("before-call.sqs.SendMessage", self._count_queue)
        session.events.register("before-call.sqs.SendMessageBatch", self._count_queue)
        model = self.env.sqs_model
        if model is not None:
            for operation in ("send_message", "send_message_batch"):
                setattr(model, operation, self._counting(getattr(model, operation)))
        adapters.reset()  # clients made from now on carry the hooks
        self.env.configure()  # the model as the handlers' SQS, and the simulated clock, again

    def _counting(self, send: Callable[..., Any]) -> Callable[..., Any]:
        def counted(**params: Any) -> Any:
            self._count_queue(params)
            return send(**params)

        return counted

    def _count(self, **_: Any) -> None:
        self.aws += 1

    def _count_queue(self, params: dict[str, Any], **_: Any) -> None:
        url = str(params.get("QueueUrl", ""))
        if "DLQ" not in url and "Failures" not in url:
            self.aws += 1
        else:
            self.parked += 1

    def total(self) -> int:
        jira_writes = sum(1 for r in self.env.jira.requests  # a token request reads, it changes nothing
                          if r.method != "GET" and not r.path.startswith("/oauth/token"))
        return self.aws + jira_writes


def classify(entry: EntryPoint, result: Any, event: dict[str, Any], parked: int) -> tuple[bool, bool]:
    """(server error, refused as invalid) for one handler answer (``parked``: records it dead-lettered)."""
    if entry.kind == "api":
        status = int(result.get("statusCode", 0)) if isinstance(result, dict) else 0
        return status >= 500 or status == 0, 400 <= status < 500
    if entry.kind == "sqs":
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        return bool(failures), parked >= len(event["Records"])
    invalid = isinstance(result, dict) and ("invalid" in result or "ignored" in result)
    return False, invalid


def run_entry(env: LocalEnvironment, writes: Writes, entry: EntryPoint, examples: int,
              derandomize: bool = False) -> Tally:
    """``derandomize``: the same inputs every run (the tier inside ``make test`` must not fail by chance;
    ``make fuzz`` draws new ones each time and is where new defects are found)."""
    tally = Tally(entry.name)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(event=entry.inputs)
    def one(event: dict[str, Any]) -> None:
        tally.inputs += 1
        before, parked = writes.total(), writes.parked
        try:
            result = env.runner.invoke(entry.function, event)
        except Exception as error:  # noqa: BLE001 - counting exactly these
            tally.unhandled += 1
            tally.note(f"unhandled {type(error).__name__}: {error} <- {json.dumps(event)[:200]}")
            return
        server_error, refused = classify(entry, result, event, writes.parked - parked)
        if server_error:
            tally.server_errors += 1
            tally.note(f"5xx/failed {str(result)[:150]} <- {json.dumps(event)[:200]}")
        if refused and writes.total() > before:
            tally.invalid_writes += 1
            tally.note(f"write from refused input {str(result)[:150]} <- {json.dumps(event)[:200]}")

    one()
    return tally


@contextmanager
def fuzz_environment() -> Iterator[tuple[LocalEnvironment, Writes]]:
    import logging
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.disable(logging.CRITICAL)  # tens of thousands of refusals would flood the terminal
    try:
        # The template's queues in the local SQS model on a simulated clock: in-process (no HTTP per
        # send, no moto FIFO queue whose every send scans all it holds, so parking 10,000s of poison
        # records stays linear) and nothing a handler waits for (Jira retries, request budgets) takes
        # real time.
        with LocalEnvironment(env_overrides=QUIET, with_api=False, queues="model", clock=SimClock()) as env:
            env.jira.reset_log()
            writes = Writes(env)
            writes.install()
            yield env, writes
    finally:
        logging.disable(logging.NOTSET)


def table(tallies: list[Tally]) -> str:
    lines = ["| entry point | inputs | unhandled exceptions | 5xx for client faults "
             "| writes to Jira/bus from invalid input |", "|---|---|---|---|---|"]
    lines += [f"| {t.entry} | {t.inputs:,} | {t.unhandled} | {t.server_errors} | {t.invalid_writes} |" for t in tallies]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    examples = int(argv[1]) if len(argv) > 1 else 10_000
    only = set(argv[2:])
    tallies = []
    with fuzz_environment() as (env, writes):
        for entry in ENTRY_POINTS:
            if only and entry.name not in only:
                continue
            started = time.monotonic()
            tally = run_entry(env, writes, entry, examples)
            tallies.append(tally)
            print(f"{entry.name}: {tally.inputs:,} inputs in {time.monotonic() - started:.0f} s", flush=True)
            for example in tally.examples:
                print(f"    {example}", flush=True)
    print(table(tallies))
    bad = any(t.unhandled or t.server_errors or t.invalid_writes for t in tallies)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

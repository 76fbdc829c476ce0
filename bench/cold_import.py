"""What a cold start costs the user: handler import PLUS the first event (its lazy imports, client
construction, secrets and settings), each as a ratio to `import boto3`, interleaved in fresh interpreters.

How it is measured:

* The layer is the one `sam build` ships, rebuilt by the same recipe (layers/shared/Makefile: pinned
  wheels, prune, finalize_layer.py's precompiled cold-start closure), but for this machine's platform
  (x86_64 wheels: the arm64 layer's extensions cannot load here). Same package set, same pycs.
* Each sample is a fresh interpreter started like Lambda's: `python -S` (no dev venv site-packages),
  the function's code, the layer's python/, then a "runtime" directory holding only what the Lambda
  Python runtime provides (boto3, botocore, s3transfer, dateutil, six, jmespath, urllib3).
* The first event is a real one: the whole local stack runs in this process (moto server mode, the
  Jira simulator, the local API) and a scenario drives every function once (an incident is created,
  Jira's webhook comes back, CI notifies, PagerDuty and an incident tool post, the reconcile schedule
  fires). The runner's first invocation of each function runs in a fresh interpreter instead of
  in-process, and that interpreter's answer goes back into the stack (so the scenario goes on).
* The figure is the child's CPU time (`time.process_time`): the servers run in this process, so the
  time a child spends waiting for Jira or moto is excluded, as a network would be. Wall time is
  reported too. Right before each handler sample an `import boto3` sample runs (A/B interleaved); the
  ratio is the median over rounds of handler / its adjacent boto3 sample.
* The boto3 floor: right after, a fresh interpreter imports boto3 and builds the same boto3 clients the
  first event built (read from the handler's interpreter). Any handler using those AWS services pays it;
  `floor_ratio` is that floor over `import boto3`, so what the bridge adds on top of it is visible.
* The library floor: then a fresh interpreter builds the same floor and imports every module the handler's
  first event had loaded except the bridge's own (the handler, `jira_bridge.*`): pydantic, Powertools,
  the X-Ray SDK, Jinja, urllib3, the stdlib modules they pull in. That is the least any handler built on
  the same libraries pays; `bridge_cpu_ms` (handler minus library floor) is what the bridge's own code
  costs: its modules, model classes, settings, first calls.
* Peak RSS (VmHWM) after the first event is recorded per function (MemorySize choice), and the cold
  start is modelled at Lambda memory sizes: CPU ms / CPU share (1 vCPU at 1,769 MB, proportional below,
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). A model, not a measurement:
  this machine is x86_64, Lambda's arm64 is a Graviton core; only the proportional CPU share is applied.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from measures import failure_of, lambda_cpu_share, median_ratio  # noqa: E402

LAYER_BUILD = ROOT / ".aws-sam" / "bench"
HOST_PLATFORMS = "--platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64"
# What the Lambda Python 3.13 runtime ships in /var/runtime (boto3 and its dependencies).
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "dateutil", "six.py", "jmespath", "urllib3")

PROBE = r"""
import importlib, json, resource, sys, time
spec = json.loads(sys.argv[1])
event = json.loads(open(spec["event"]).read()) if spec.get("event") else None


class Context:
    def __init__(self, **fields):
        self.__dict__.update(fields)

    def get_remaining_time_in_millis(self):
        return 60_000


profiler = None
if spec.get("profile"):  # --profile DIR: where the cold start goes, per function (not timed)
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
cpu0, wall0 = time.process_time(), time.perf_counter()
module = importlib.import_module(spec["module"])
cpu1, wall1 = time.process_time(), time.perf_counter()
for service in spec.get("clients", []):  # the boto3 floor: `import boto3` and the clients a handler built
    module.client(service)
for name in spec.get("imports", []):  # the library floor: + every module the handler's first event loaded
    try:
        importlib.import_module(name)
    except Exception:  # a module only its package can load (e.g. six.moves' virtual ones): its package did
        pass
result, error = None, None
if spec.get("function"):
    try:
        result = getattr(module, spec["function"])(event, Context(**spec["context"]))
    except Exception as caught:
        error = f"{type(caught).__name__}: {caught}"
cpu2, wall2 = time.process_time(), time.perf_counter()
if profiler is not None:
    profiler.disable()
    profiler.dump_stats(spec["profile"])
import gc  # after the clock: which boto3 clients the first event built (for the floor sample)
clients = sorted({o.meta.service_model.service_name for o in gc.get_objects()
                  if type(o).__module__ == "botocore.client" and hasattr(o, "meta")})
# Peak RSS of this interpreter: VmHWM (ru_maxrss would carry over the forking parent's peak across exec).
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open("/proc/self/status") as status:
    peak_kb = next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), peak_kb)
with open(spec["out"], "w") as out:
    json.dump({"import_cpu_ms": (cpu1 - cpu0) * 1000, "total_cpu_ms": (cpu2 - cpu0) * 1000,
               "total_wall_ms": (wall2 - wall0) * 1000, "peak_rss_mb": peak_kb / 1024, "modules": len(sys.modules),
               "clients": clients, "result": result, "error": error, "loaded": sorted(sys.modules)},
              out, default=str)
"""


def build_layer(platforms: str | None, name: str) -> Path:
    """Build the shared layer with the recipe `sam build` runs (layers/shared/Makefile) into
    .aws-sam/bench/<name>; `platforms` None = the Makefile's own (arm64, what ships)."""
    target = LAYER_BUILD / name
    command = ["make", "--no-print-directory", "-f", str(ROOT / "layers" / "shared" / "Makefile"),
               "build-JiraBridgeLayer", f"ARTIFACTS_DIR={target}"]
    if platforms:
        command.append(f"PLATFORMS={platforms}")
    subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return target


def runtime_dir() -> Path:
    """A directory holding only what Lambda's Python runtime provides, linked from the dev venv."""
    site = Path(__import__("boto3").__file__).resolve().parents[1]
    where = Path(tempfile.mkdtemp(prefix="jira-bridge-runtime-"))
    for name in RUNTIME_MODULES:
        (where / name).symlink_to(site / name)
    return where


@dataclass
class Sample:
    function: str
    cpu_ms: float
    import_cpu_ms: float
    wall_ms: float
    boto3_cpu_ms: float
    peak_rss_mb: float
    modules: int
    floor_cpu_ms: float  # `import boto3` + the boto3 clients this first event built, in a fresh interpreter
    clients: tuple[str, ...]
    library_cpu_ms: float  # that floor + every module the first event loaded but the bridge's own
    libraries: tuple[str, ...]  # the layer's third-party packages among them

    @property
    def ratio(self) -> float:
        return self.cpu_ms / self.boto3_cpu_ms


@dataclass
class ColdProbe:
    """Runs a probe interpreter: `import module`, then (optionally) one invocation."""

    layer_python: Path
    runtime: Path
    scratch: Path
    base_env: dict[str, str] = field(default_factory=dict)
    profile_dir: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, module: str, code_dir: Path | None = None, env: dict[str, str] | None = None,
            event: Any = None, function: str | None = None, context: dict[str, Any] | None = None,
            clients: list[str] | None = None, imports: list[str] | None = None) -> dict[str, Any]:
        with self._lock:  # one probe at a time: Jira's webhooks reach the stack from another thread
            return self._run(module, code_dir, env, event, function, context, clients, imports)

    def _run(self, module: str, code_dir: Path | None, env: dict[str, str] | None, event: Any,
             function: str | None, context: dict[str, Any] | None, clients: list[str] | None,
             imports: list[str] | None) -> dict[str, Any]:
        out = self.scratch / "out.json"
        event_file = self.scratch / "event.json"
        spec: dict[str, Any] = {"module": module, "out": str(out), "clients": clients or [], "imports": imports or []}
        if function is not None:
            event_file.write_text(json.dumps(event))
            spec.update(event=str(event_file), function=function, context=context or {})
        if self.profile_dir is not None and not self.base_env.get("PYTHONPROFILEIMPORTTIME"):
            spec["profile"] = str(self.profile_dir / f"{module}.prof")
        paths = [str(code_dir)] if code_dir else []
        child_env = {**self.base_env, **(env or {}),
                     "PYTHONPATH": os.pathsep.join([*paths, str(self.layer_python), str(self.runtime)])}
        done = subprocess.run([sys.executable, "-S", "-c", PROBE, json.dumps(spec)], env=child_env,
                              capture_output=True, text=True, cwd=self.scratch, check=False)
        if self.profile_dir is not None and self.base_env.get("PYTHONPROFILEIMPORTTIME"):
            (self.profile_dir / f"{module}.importtime").write_text(done.stderr)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"cold probe of {module} failed: {done.stderr[-3000:]}")
        report: dict[str, Any] = json.loads(out.read_text())
        out.unlink()
        if report["error"]:
            raise RuntimeError(f"cold first event of {module} raised {report['error']}")
        failure = failure_of(report["result"])
        if failure is not None:  # a cold start that fails is not the cold start a user pays for
            raise RuntimeError(f"cold first event of {module} failed: {failure}\n{done.stdout[-3000:]}")
        return report


def library_modules(loaded: list[str], handler_module: str) -> list[str]:
    """What a first event loaded that is not the bridge's own code: the handler and `jira_bridge.*` aside,
    every module (the libraries, stdlib included) stays, so `import boto3` + clients + these is the least
    any handler that uses the same libraries pays."""
    return [name for name in loaded
            if name not in (handler_module, "__main__") and name.split(".")[0] != "jira_bridge"]


def lambda_environment(function: str) -> dict[str, str]:
    """What Lambda sets in every function's environment (libraries branch on some at import)."""
    return {"AWS_LAMBDA_FUNCTION_NAME": function, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13", "LAMBDA_TASK_ROOT": "/var/task",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "TZ": ":UTC", "LANG": "en_US.UTF-8",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # Tracing: Active. Lambda sets the invocation's trace header and the X-Ray daemon's address;
            # the SDK sends its segments by UDP (nothing listens here: sent and dropped, as cheap as in Lambda).
            "_X_AMZN_TRACE_ID": "Root=1-6750a000-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}


def scenario(env: Any, round_number: int) -> None:
    """Drive every function of the stack once, as a day's traffic would (see the module docstring)."""
    import requests

    from jira_bridge.pagerduty.signature import sign
    from local_runtime.environment import (
        LOCAL_CI_API_KEY,
        LOCAL_INCIDENT_API_KEY,
        LOCAL_PAGERDUTY_SECRET,
    )

    base = json.loads((ROOT / "events" / "incident-created.eventbridge.json").read_text())
    detail = base["detail"]
    detail["incident"]["id"] = f"INC-COLD-{round_number}"
    detail["event_id"] = f"cold-{round_number}"
    bus = env.stack.resolve({"Ref": "IncidentBus"})
    env.put_events([{"Source": base["source"], "DetailType": base["detail-type"], "Detail": json.dumps(detail),
                     "EventBusName": bus}])
    env.drain()  # IncidentRouterFunction, IncidentEventsFunction: the issue is created
    env.jira.webhooks.wait_idle(10)  # JiraWebhookFunction: Jira's issue_created webhook comes back
    env.drain()  # JiraChangesFunction
    [issue] = env.jira.issues()
    note = {"pipeline": {"name": "cold CI"}, "build_number": round_number, "url": "https://ci.example.com/1",
            "state": "success", "commits": [f"{issue.key} cold start"]}
    answer = requests.post(env.api.url("/ci/notify"), data=json.dumps(note), timeout=60,
                           headers={"Authorization": f"Bearer {LOCAL_CI_API_KEY}", "Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text
    samples = ROOT.parent / "shared" / "contracts" / "pagerduty" / "webhooks-v3"
    body = (samples / "incident.triggered.zulip.json").read_bytes()
    answer = requests.post(env.api.url("/webhooks/pagerduty"), data=body, timeout=60, headers={
        "Content-Type": "application/json", "X-PagerDuty-Signature": sign(body, LOCAL_PAGERDUTY_SECRET)})
    assert answer.status_code == 202, answer.text
    tool = json.loads(json.dumps(detail))
    tool["incident"]["id"] = f"INC-TOOL-{round_number}"
    tool["event_id"] = f"tool-{round_number}"
    answer = requests.post(env.api.url("/incidents"), data=json.dumps(tool), timeout=60,
                           headers={"X-Api-Key": LOCAL_INCIDENT_API_KEY})
    assert answer.status_code == 202, answer.text
    env.runner.invoke("JiraReconcileFunction", {
        "version": "0", "id": f"cold-{round_number}", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-12-04T12:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/reconcile"], "detail": {}})
    env.drain()


def measure(rounds: int = 5, layer: Path | None = None, profile_dir: Path | None = None,
            importtime: bool = False) -> dict[str, Any]:
    """Median per function over `rounds` rounds of the scenario, each function cold once per round."""
    for path in ("layers/shared", "local"):
        if str(ROOT / path) not in sys.path:
            sys.path.insert(0, str(ROOT / path))
    from local_runtime.environment import LocalEnvironment

    layer = layer or build_layer(HOST_PLATFORMS, "layer-host")
    runtime = runtime_dir()
    layer_packages = {path.name.removesuffix(".py") for path in (layer / "python").iterdir()
                      if path.name != "jira_bridge" and not path.name.endswith((".dist-info", "__pycache__"))}
    samples: dict[str, list[Sample]] = {}
    # The in-process (warm) invocations of the scenario stay quiet; the cold ones publish metrics as in Lambda.
    # The site's request budget is shared by MaximumConcurrency containers (2 requests/s each by default):
    # a cold create's requests would wait for tokens, or back off. Pacing is not what is measured here.
    quiet = {"Parameters": {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"},
             "IncidentEventsFunction": {"JIRA_REQUEST_BUDGET_SHARE": "1"}}
    with tempfile.TemporaryDirectory() as scratch, LocalEnvironment(env_overrides=quiet) as env:
        probe = ColdProbe(layer.resolve() / "python", runtime, Path(scratch), profile_dir=profile_dir,
                          base_env={"PYTHONPROFILEIMPORTTIME": "1"} if importtime else {})
        original: Callable[[str, Any], Any] = env.runner.invoke
        cold_done: set[str] = set()
        failures: list[str] = []

        def invoke(logical_id: str, event: Any) -> Any:
            if logical_id in cold_done:
                return original(logical_id, event)
            cold_done.add(logical_id)
            spec = env.stack.function(logical_id)
            function_env = {**lambda_environment(logical_id), **env.aws.environment(),
                            **env.runner.environment_for(spec)}
            function_env.pop("POWERTOOLS_METRICS_DISABLED")
            boto3 = probe.run("boto3", env=lambda_environment("boto3"))
            context = {"function_name": logical_id, "memory_limit_in_mb": spec.memory_mb,
                       "invoked_function_arn": env.stack.arn(logical_id), "aws_request_id": "cold",
                       "function_version": "$LATEST"}
            try:
                report = probe.run(spec.module_name, Path(spec.code_uri), function_env, event, spec.function_name,
                                   context)
            except RuntimeError as error:  # the runner would take it for a failed batch and retry in-process
                failures.append(f"{logical_id}: {error}")
                raise
            floor = probe.run("boto3", env={**lambda_environment("boto3"), **env.aws.environment()},
                              clients=report["clients"])
            own_libraries = library_modules(report["loaded"], spec.module_name)
            libraries = probe.run("boto3", env={**lambda_environment("boto3"), **env.aws.environment()},
                                  clients=report["clients"], imports=own_libraries)
            samples.setdefault(logical_id, []).append(Sample(
                logical_id, report["total_cpu_ms"], report["import_cpu_ms"], report["total_wall_ms"],
                boto3["total_cpu_ms"], report["peak_rss_mb"], report["modules"], floor["total_cpu_ms"],
                tuple(report["clients"]), libraries["total_cpu_ms"],
                tuple(sorted({name.split(".")[0] for name in own_libraries if name.split(".")[0] in layer_packages}))))
            return report["result"]

        env.runner.invoke = invoke  # type: ignore[method-assign]
        for number in range(rounds):
            if number:
                env.reset()
            cold_done.clear()
            scenario(env, number)
    if failures:
        raise RuntimeError("cold first events failed:\n" + "\n".join(failures))
    missing = set(env.stack.functions()) - set(samples)
    if missing:
        raise RuntimeError(f"the cold scenario never invoked {sorted(missing)}")
    return summarise(samples)


MEMORY_SIZES_MB = (128, 256, 512, 1024)


def summarise(samples: dict[str, list[Sample]]) -> dict[str, Any]:
    """Per function: median ratio (handler / adjacent boto3), median CPU and wall ms, peak RSS, and the
    cold start modelled at Lambda memory sizes (CPU ms / CPU share: 1 vCPU at 1,769 MB, linear below)."""
    results: dict[str, Any] = {}
    for function, runs in sorted(samples.items()):
        cpu_ms = statistics.median(s.cpu_ms for s in runs)
        results[function] = {
            "ratio": round(median_ratio([(s.cpu_ms, s.boto3_cpu_ms) for s in runs]), 2),
            "cold_cpu_ms": round(cpu_ms, 1),
            "import_cpu_ms": round(statistics.median(s.import_cpu_ms for s in runs), 1),
            "cold_wall_ms": round(statistics.median(s.wall_ms for s in runs), 1),
            "boto3_cpu_ms": round(statistics.median(s.boto3_cpu_ms for s in runs), 1),
            "boto3_floor_cpu_ms": round(statistics.median(s.floor_cpu_ms for s in runs), 1),
            "floor_ratio": round(statistics.median(s.floor_cpu_ms / s.boto3_cpu_ms for s in runs), 2),
            "library_floor_cpu_ms": round(statistics.median(s.library_cpu_ms for s in runs), 1),
            "library_floor_ratio": round(statistics.median(s.library_cpu_ms / s.boto3_cpu_ms for s in runs), 2),
            "bridge_cpu_ms": round(statistics.median(s.cpu_ms - s.library_cpu_ms for s in runs), 1),
            "libraries": list(runs[-1].libraries),
            "clients": list(runs[-1].clients),
            "peak_rss_mb": round(max(s.peak_rss_mb for s in runs), 1),
            "modules": max(s.modules for s in runs),
            "rounds": len(runs),
            "modelled_cold_ms": {str(mb): round(cpu_ms / lambda_cpu_share(mb)) for mb in MEMORY_SIZES_MB},
        }
    return results


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=2))

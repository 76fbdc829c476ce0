"""Cold import of each handler, as a ratio to `import boto3` measured in the same run.

Each sample is a fresh interpreter that imports one module and reports how long the import took
(interpreter start-up excluded). The median of several samples is reported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = {
    "IncidentEventsFunction": ("functions/incident_events", "incident_events_handler"),
    "JiraWebhookFunction": ("functions/jira_webhook", "jira_webhook_handler"),
    "CiNotifyFunction": ("functions/ci_notify", "ci_notify_handler"),
    "JiraChangesFunction": ("functions/jira_changes", "jira_changes_handler"),
    "JiraReconcileFunction": ("functions/jira_reconcile", "jira_reconcile_handler"),
    "PagerDutyWebhookFunction": ("functions/pagerduty_webhook", "pagerduty_webhook_handler"),
}
PROBE = "import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"


def sample(module: str, extra_path: list[str], layer: Path) -> float:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*extra_path, str(layer)])
    # What Lambda sets; Powertools reads them at import.
    env.update({"POWERTOOLS_SERVICE_NAME": "bench", "AWS_DEFAULT_REGION": "us-east-1"})
    out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], env=env, check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def measure(samples: int = 7, layer: Path | None = None) -> dict[str, dict[str, float]]:
    layer = layer or ROOT / "layers" / "shared"
    present = {name: spec for name, spec in HANDLERS.items() if (ROOT / spec[0] / f"{spec[1]}.py").exists()}
    for module_dir, module in present.values():  # write .pyc once, as a built layer would ship them
        sample(module, [str(ROOT / module_dir)], layer)
    boto3 = statistics.median(sample("boto3", [], layer) for _ in range(samples))
    results = {"boto3": {"median_ms": round(boto3, 1), "ratio": 1.0}}
    for name, (module_dir, module) in present.items():
        median = statistics.median(sample(module, [str(ROOT / module_dir)], layer) for _ in range(samples))
        results[name] = {"median_ms": round(median, 1), "ratio": round(median / boto3, 2)}
    return results


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))

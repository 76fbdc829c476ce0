"""`make bench`: every figure issue 14 tracks, in one table, each next to its goal (not a timed test).

- cold start per function: handler import + first event (CPU ms, fresh interpreter, built layer) as a
  ratio to `import boto3` in the same run, interleaved (bench/cold_import.py); goal <= 1.5
- warm per function: events/s per core and p99 CPU ms with the real Jira client against the simulator
  in its own process (bench/warm.py); goal >= 1,000/s and p99 <= 5 ms
- Jira requests per operation, cold and warm, next to the minimum (bench/jira_requests.py)
- DynamoDB write units per whole incident (bench/dynamodb_writes.py)
- the layer `sam build` ships (layers/shared/Makefile, arm64), apparent size; goal <= 20 MB

Timing figures depend on the machine's load: the ratios are interleaved for that reason.
`--json` prints the raw figures instead of the table.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from measures import apparent_size  # noqa: E402

COLD_RATIO_GOAL = 1.5
WARM_RATE_GOAL = 1000
WARM_P99_GOAL_MS = 5.0
LAYER_GOAL_MB = 20.0
# Write units of one whole incident today (before issue 14 part B): a regression bound, not a target.
DYNAMODB_UNITS_BOUND = 35  # a steady incident after the link writes became single PutItems (was 73)


@dataclass(frozen=True)
class Row:
    what: str
    measured: str
    goal: str
    ok: bool


def rows(figures: dict[str, Any]) -> list[Row]:
    table: list[Row] = []
    for function, cold in figures["cold"].items():
        table.append(Row(f"{function}: cold import + first event / import boto3",
                         f"{cold['ratio']:.2f}x ({cold['cold_cpu_ms']:.0f} vs {cold['boto3_cpu_ms']:.0f} ms CPU; "
                         f"boto3 + its {len(cold['clients'])} clients alone {cold['floor_ratio']:.2f}x, "
                         f"+ the libraries it loads {cold['library_floor_ratio']:.2f}x, bridge's own code "
                         f"{cold['bridge_cpu_ms']:.0f} ms; "
                         f"handler import {cold['import_cpu_ms']:.0f} ms; peak RSS {cold['peak_rss_mb']:.0f} MB)",
                         f"<= {COLD_RATIO_GOAL}x", cold["ratio"] <= COLD_RATIO_GOAL))
    for function, warm in figures["warm"].items():
        floor = warm.get("http_floor_events_per_second_per_core")
        table.append(Row(f"{function}: warm, real client",
                         f"{warm['events_per_second_per_core']}/s per core, p99 {warm['p99_ms']:.2f} ms CPU "
                         f"({warm['jira_requests_per_event']} Jira req/event"
                         + (f", the same requests by bare urllib3 alone {floor}/s" if floor else "")
                         + f"; wall p99 with the simulator {warm['wall_p99_ms']:.1f} ms)",
                         f">= {WARM_RATE_GOAL}/s, p99 <= {WARM_P99_GOAL_MS:g} ms",
                         warm["events_per_second_per_core"] >= WARM_RATE_GOAL and warm["p99_ms"] <= WARM_P99_GOAL_MS))
    for operation, counts in figures["jira_requests"].items():
        minimum, cold_minimum = counts["minimum"], counts.get("cold_minimum", counts["minimum"])
        goal = (f"= {minimum} (minimum)" if cold_minimum == minimum else
                f"= {minimum} warm, {cold_minimum} cold (minimum: + OAuth token per container)")
        table.append(Row(f"Jira requests: {operation}", f"cold {counts['cold']}, warm {counts['warm']}",
                         goal, counts["cold"] <= cold_minimum and counts["warm"] <= minimum))
    for run, writes in figures["dynamodb"].items():
        detail = ", ".join(f"{op} {w['calls']}x = {w['wcu']}" for op, w in writes["by_operation"].items())
        table.append(Row(f"DynamoDB write units per incident ({run})", f"{writes['wcu']} ({detail})",
                         f"<= {DYNAMODB_UNITS_BOUND} (+4 once per deployment)",
                         writes["wcu"] <= DYNAMODB_UNITS_BOUND + (4 if run == "first" else 0)))
    layer = figures["layer"]
    table.append(Row("Layer as `sam build` ships it (arm64), apparent size",
                     f"{layer['apparent_mb']:.2f} MB (files {layer['files_mb']:.2f} MB, pycs {layer['pyc_mb']:.2f} MB)",
                     f"<= {LAYER_GOAL_MB:g} MB", layer["apparent_mb"] <= LAYER_GOAL_MB))
    return table


def render(table: list[Row]) -> str:
    widths = [max(len(r.what) for r in table), max(len(r.measured) for r in table), max(len(r.goal) for r in table)]
    header = f"{'what':<{widths[0]}}  {'measured':<{widths[1]}}  {'goal':<{widths[2]}}  result"
    lines = [header, "-" * len(header)]
    for r in table:
        lines.append(f"{r.what:<{widths[0]}}  {r.measured:<{widths[1]}}  {r.goal:<{widths[2]}}  "
                     f"{'PASS' if r.ok else 'FAIL'}")
    failed = sum(not r.ok for r in table)
    lines.append(f"{len(table) - failed} PASS, {failed} FAIL")
    return "\n".join(lines)


def layer_figures() -> dict[str, float]:
    import cold_import

    layer = cold_import.build_layer(None, "layer-arm64")  # the Makefile's own platforms: what sam build ships
    files = [p for p in layer.rglob("*") if p.is_file()]
    return {"apparent_mb": apparent_size(layer) / 1e6, "files_mb": sum(p.stat().st_size for p in files) / 1e6,
            "pyc_mb": sum(p.stat().st_size for p in files if p.suffix == ".pyc") / 1e6}


def collect() -> dict[str, Any]:
    import cold_import
    import dynamodb_writes
    import jira_requests
    import warm

    figures: dict[str, Any] = {"layer": layer_figures()}
    figures["cold"] = cold_import.measure(rounds=5)  # interleaved A/B; 5 rounds keep `make bench` near 3 minutes
    figures["warm"] = warm.measure()
    figures["jira_requests"] = jira_requests.measure()
    figures["dynamodb"] = dynamodb_writes.measure()
    return figures


if __name__ == "__main__":
    collected = collect()
    print(json.dumps(collected, indent=2) if "--json" in sys.argv else render(rows(collected)))

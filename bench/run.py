"""`make bench`: every speed figure the project tracks, printed as JSON (not a timed test).

- cold import of each handler as a ratio to `import boto3` (target <= 1.5)
- warm overhead per event with the network taken out (target >= 1,000 events/s per core, p99 <= 5 ms)
- Jira requests per operation next to the minimum
- the built layer's unzipped size, when `make build` has produced one (target <= 20 MB)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import cold_import  # noqa: E402
import jira_requests  # noqa: E402
import warm  # noqa: E402


def layer_size() -> dict[str, float] | str:
    layer = BENCH.parent / ".aws-sam" / "build" / "JiraBridgeLayer"
    if not layer.exists():
        return "run `make build` first"
    files = [p for p in layer.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    pyc = sum(p.stat().st_size for p in files if p.suffix == ".pyc")
    return {"unzipped_mb": round(total / 1e6, 1), "of_which_pyc_mb": round(pyc / 1e6, 1)}


if __name__ == "__main__":
    report = {
        "cold_import": cold_import.measure(),
        "warm_overhead": warm.measure(),
        "jira_requests_per_operation": jira_requests.measure(),
        "layer": layer_size(),
    }
    print(json.dumps(report, indent=2))

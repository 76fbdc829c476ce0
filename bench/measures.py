"""Small measuring helpers the benchmarks share (unit-tested in tests/unit/test_bench_measures.py)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# DynamoDB write units per item, for items up to 1 KB: transactions are billed twice (prepare + commit).


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-quantile by the nearest-rank method: the ceil(q * n)-th smallest sample (p99 of 100: the 99th)."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1], not {q}")
    ordered = sorted(samples)
    rank = math.ceil(round(q * len(ordered), 9))
    return ordered[max(rank, 1) - 1]


def median_ratio(pairs: Sequence[tuple[float, float]]) -> float:
    """Median of a/b over A/B pairs measured next to each other (load drifts between pairs, less within)."""
    if not pairs:
        raise ValueError("no pairs")
    return statistics.median(a / b for a, b in pairs)


def apparent_size(path: Path) -> int:
    """What `du -sb --apparent-size PATH` reports: the sizes of every file and directory (links not followed)."""
    return path.lstat().st_size + sum(p.lstat().st_size for p in path.rglob("*"))


def lambda_cpu_share(memory_mb: int, full_vcpu_mb: int = 1769) -> float:
    """Lambda's CPU share at `memory_mb`: 1 vCPU at 1,769 MB, proportionally less below (AWS documents the
    1,769 MB = 1 vCPU point; the linear share below it is the documented "proportional" allocation)."""
    if memory_mb <= 0:
        raise ValueError("memory must be positive")
    return min(1.0, memory_mb / full_vcpu_mb)


def failure_of(answer: Any) -> str | None:
    """Why a handler's answer is a failure (failed batch records, a non-2xx API answer), or None."""
    if not isinstance(answer, dict):
        return None
    if answer.get("batchItemFailures"):
        return f"failed records: {answer['batchItemFailures']}"
    status = answer.get("statusCode")
    if status is not None and not 200 <= int(status) < 300:
        return f"answered {status}: {str(answer.get('body'))[:500]}"
    return None

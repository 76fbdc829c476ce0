"""The team's contracts (../shared/contracts beside the repo), loaded the one way every contract test does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CONTRACTS = Path(__file__).resolve().parents[2].parent / "shared" / "contracts"


def load_contract(name: str) -> dict[str, Any]:
    """A JSON contract by its path under shared/contracts; the test is skipped if it is absent."""
    path = CONTRACTS / name
    if not path.is_file():
        pytest.skip(f"contract {path} not found (expected ../shared/contracts next to the repo)")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data

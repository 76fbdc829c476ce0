"""Shared by the PagerDuty unit tests (a uniquely named module, like ``tests.unit.jira.jira_fakes``)."""

from __future__ import annotations

from pathlib import Path

import pytest

CONTRACTS = Path(__file__).resolve().parents[3].parent / "shared" / "contracts" / "pagerduty"
SAMPLES = CONTRACTS / "webhooks-v3"

REST = "https://api.pagerduty.com"
EVENTS = "https://events.pagerduty.com"
API_TOKEN = "u+pd-api-token-value"
FROM_EMAIL = "jira-bridge@example.com"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


def sample_bytes(name: str) -> bytes:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"contract sample {path} not found (expected ../shared/contracts next to the repo)")
    return path.read_bytes()


def sample_names() -> list[str]:
    return sorted(path.name for path in SAMPLES.glob("*.json")) if SAMPLES.is_dir() else []

"""Helpers for the CI -> Jira integration tests: notifications, signed requests, counted Jira calls."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import requests

from jira_sim.seed import ALICE_EMAIL
from local_runtime.environment import (
    LOCAL_CI_API_KEY,
    LOCAL_CI_HMAC_CALLER,
    LOCAL_CI_HMAC_SECRET,
    LOCAL_GITHUB_WEBHOOK_SECRET,
    LocalEnvironment,
)

PIPELINE = {"id": "acme/shop/.github/workflows/ci.yml", "name": "shop CI", "url": "https://ci.example.com/acme/shop"}


def notification(number: int = 1, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pipeline": PIPELINE, "build_number": number, "url": f"https://ci.example.com/acme/shop/runs/{number}",
        "state": "success", "updated_at": "2026-11-23T03:00:00Z", "commits": ["OPS-1: cache the basket"],
        "branch": "feature/OPS-1-faster-checkout",
    }
    body.update(changes)
    return body


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notify(env: LocalEnvironment, body: Any, *, api_key: str | None = LOCAL_CI_API_KEY,
           headers: dict[str, str] | None = None) -> requests.Response:
    """POST /ci/notify through the local API routes (API key auth unless ``headers`` say otherwise)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json"}
    if api_key is not None:
        sent["Authorization"] = f"Bearer {api_key}"
    sent.update(headers or {})
    return requests.post(env.api.url("/ci/notify"), data=raw, headers=sent, timeout=30)


def notify_signed(env: LocalEnvironment, body: Any, secret: str = LOCAL_CI_HMAC_SECRET) -> requests.Response:
    raw = json.dumps(body).encode()
    return notify(env, raw, api_key=None, headers={"X-Jira-Bridge-Caller": LOCAL_CI_HMAC_CALLER,
                                                  "X-Hub-Signature-256": sign(raw, secret)})


def github(env: LocalEnvironment, event: str, body: bytes, *, delivery: str = "d-1",
           secret: str = LOCAL_GITHUB_WEBHOOK_SECRET, query: str = "") -> requests.Response:
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": delivery,
               "X-Hub-Signature-256": sign(body, secret), "User-Agent": "GitHub-Hookshot/test"}
    return requests.post(env.api.url("/webhooks/github") + query, data=body, headers=headers, timeout=30)


def approval(env: LocalEnvironment, key: str, params: dict[str, str] | None = None,
             api_key: str = LOCAL_CI_API_KEY) -> requests.Response:
    return requests.get(env.api.url(f"/ci/approval/{key}"), params=params, headers={"X-Api-Key": api_key}, timeout=30)


def open_issues(env: LocalEnvironment, count: int = 2, project: str = "OPS") -> list[str]:
    alice = env.jira.as_user(ALICE_EMAIL)
    return [alice.create_issue(project, f"CI test issue {n}") for n in range(count)]


def bulk_requests(env: LocalEnvironment, kind: str = "builds") -> int:
    return sum(1 for r in env.jira.requests
               if r.method == "POST" and r.path.endswith("/bulk") and f"/{kind}/" in r.path)


def approval_signed(env: LocalEnvironment, key: str, params: dict[str, str] | None = None,
                    secret: str = LOCAL_CI_HMAC_SECRET) -> requests.Response:
    """GET /ci/approval/KEY as an HMAC caller (the scheme in jira_bridge.ci.callers)."""
    from jira_bridge.ci.callers import sign_request

    path = f"/ci/approval/{key}"
    prepared = requests.Request("GET", env.api.url(path), params=params).prepare()
    query = requests.utils.urlparse(prepared.url).query
    headers = sign_request(LOCAL_CI_HMAC_CALLER, secret, "GET", path, query)
    return requests.get(prepared.url, headers=headers, timeout=30)

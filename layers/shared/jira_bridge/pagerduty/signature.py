"""HMAC verification of PagerDuty V3 webhook bodies (`X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`).

The same shape as :mod:`jira_bridge.webhooks.signature`: checked over the raw bytes, before anything
parses them, in constant time, raising the same :class:`SignatureInvalid` so one handler path answers
both. PagerDuty's rules (developer-docs `docs/webhooks/04-Signatures.md`; go-pagerduty `webhookv3`):

* the header holds one or more comma-separated entries; during a zero-downtime secret rotation
  PagerDuty signs with every active secret, so there is one `v1=` entry per secret;
* only `v1=` entries count, and an entry that is not 64 hex characters is skipped (not fatal):
  a future `v2=` scheme must not break today's verification;
* the request is genuine if any entry matches the HMAC-SHA256 of the body under any secret we hold
  (we may hold two ourselves while rotating).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from jira_bridge.webhooks.signature import SignatureInvalid

HEADER = "X-PagerDuty-Signature"
_HEX_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

__all__ = ["HEADER", "SignatureInvalid", "sign", "verify_pagerduty_signature"]


def sign(body: bytes, secret: str) -> str:
    """The header entry a sender with `secret` puts on `body` (`v1=<lowercase hex>`)."""
    return "v1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _v1_digests(header: str) -> list[str]:
    digests = []
    for entry in header.split(","):
        scheme, _, digest = entry.strip().partition("=")
        if scheme == "v1" and _HEX_SHA256.match(digest):
            digests.append(digest.lower())
    return digests


def verify_pagerduty_signature(body: bytes, header: str | None, secrets: Sequence[str]) -> None:
    """Raise :class:`SignatureInvalid` unless some `v1` entry is the body's HMAC under some secret."""
    if not secrets:
        # Fail closed: with no secret configured nothing can be verified, so nothing is accepted.
        raise SignatureInvalid("no PagerDuty webhook secret is configured")
    if not header or not header.strip():
        raise SignatureInvalid(f"missing {HEADER} header")
    digests = _v1_digests(header)
    if not digests:
        raise SignatureInvalid(f"{HEADER} has no v1=<64 hex> entry")
    expected = [hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest() for secret in secrets]
    # Every pair is compared (no early exit), so the time taken does not depend on which one matched.
    matched = False
    for want in expected:
        for got in digests:
            matched |= hmac.compare_digest(want, got)
    if not matched:
        raise SignatureInvalid("signature does not match the body")

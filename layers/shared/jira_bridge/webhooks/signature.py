"""HMAC verification of webhook bodies (Jira admin webhooks: `X-Hub-Signature: sha256=<hex>`).

Checked over the raw bytes, before anything parses them, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_HEX_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


class SignatureInvalid(Exception):
    """The request is not from the holder of the webhook secret; answer 401 and do nothing else."""


def sign(body: bytes, secret: str) -> str:
    """The header value a sender with `secret` puts on `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_hub_signature(body: bytes, header: str | None, secret: str) -> None:
    if not header:
        raise SignatureInvalid("missing X-Hub-Signature header")
    method, _, digest = header.strip().partition("=")
    if method.lower() != "sha256":
        raise SignatureInvalid(f"unsupported signature method {method!r} (expected sha256)")
    if not _HEX_SHA256.match(digest):
        raise SignatureInvalid("signature is not 64 hex characters")
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest.lower()):
        raise SignatureInvalid("signature does not match the body")

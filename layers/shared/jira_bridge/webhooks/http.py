"""HTTP helpers shared by the webhook endpoints: raw body, size guard, JSON error answers."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

MAX_WEBHOOK_BODY_BYTES = 256 * 1024


class BodyRejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def raw_body(event: dict[str, Any]) -> bytes:
    """The request body exactly as the sender signed it (API Gateway may have base64-encoded it)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BodyRejected(400, "body is marked base64 but does not decode") from None
    else:
        data = body.encode("utf-8")
    if len(data) > MAX_WEBHOOK_BODY_BYTES:
        raise BodyRejected(413, f"body is {len(data)} bytes; the limit is {MAX_WEBHOOK_BODY_BYTES}")
    return data


def header(event: dict[str, Any], name: str) -> str | None:
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return str(value)
    return None


def json_response(status: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload),
    }

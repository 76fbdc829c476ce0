"""HTTP helpers shared by the webhook endpoints: raw body, size guard, JSON error answers."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

MAX_WEBHOOK_BODY_BYTES = 256 * 1024
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads pairs valid ones; only lone ones remain


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
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError:  # API Gateway hands Lambda UTF-8; only a forged event gets here
            raise BodyRejected(400, "body is not UTF-8 text") from None
    if len(data) > MAX_WEBHOOK_BODY_BYTES:
        raise BodyRejected(413, f"body is {len(data)} bytes; the limit is {MAX_WEBHOOK_BODY_BYTES}")
    return data


def parse_json(body: bytes | str) -> Any:
    """JSON from outside the bridge. Anything that is not JSON, including nesting too deep for the
    parser (a ``RecursionError`` otherwise), is a ``ValueError`` saying so. Lone surrogates (legal as
    ``\\u`` escapes, not encodable as UTF-8, so they would fail every later ``json.dumps``/publish)
    become U+FFFD, the way a UTF-8 decoder treats a broken sequence."""
    try:
        value = json.loads(body)
        escaped = b"\\u" in body if isinstance(body, bytes) else "\\u" in body
        return _without_lone_surrogates(value) if escaped else value
    except RecursionError:
        raise ValueError("JSON is nested too deeply") from None


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def header(event: dict[str, Any], name: str) -> str | None:
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return str(value)
    return None


def misconfigured() -> dict[str, Any]:
    """503 while the function's configuration files are invalid: callers retry (Jira, CI), and what is
    wrong is in the function's log (`adapters.config_problem`), not in an answer to an unverified caller."""
    return json_response(503, {"message": "jira-bridge is misconfigured; the function's log says what to fix"})


def json_response(status: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload),
    }

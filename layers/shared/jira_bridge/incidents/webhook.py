"""POST /incidents: the canonical "Incident Changed" event from tools that can only send webhooks.

The body is the event's ``detail`` exactly as a tool would put it on the bus
(schemas/incident-changed.schema.json), or a whole EventBridge-shaped event whose ``detail`` it is.
The caller is authenticated before this parses anything (API key or HMAC, per caller, as CI callers).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from jira_bridge.incidents.events import IncidentChanged
from jira_bridge.settings import describe_validation_error
from jira_bridge.webhooks.http import parse_json

WEBHOOK_SOURCE = "jira-bridge.incident-webhook"  # the EventBridge source of what this route publishes


class InvalidIncidentBody(ValueError):
    """The body is not a valid Incident Changed event; the message says what to fix."""


def parse_incident_body(body: bytes) -> IncidentChanged:
    try:
        payload: Any = parse_json(body)
    except ValueError as error:
        raise InvalidIncidentBody(f"body is not JSON: {error}") from None
    if isinstance(payload, dict) and payload.get("detail-type") == "Incident Changed" and "detail" in payload:
        payload = payload["detail"]
    if not isinstance(payload, dict):
        raise InvalidIncidentBody("body must be a JSON object: an Incident Changed event (its detail)")
    try:
        return IncidentChanged.model_validate(payload)
    except ValidationError as error:
        raise InvalidIncidentBody(describe_validation_error(error, "not an Incident Changed event")) from None

"""PagerDuty -> the canonical "Incident Changed" event, whichever way PagerDuty delivered it.

Two delivery paths reach :func:`to_canonical`:

* the API route (`POST /webhooks/pagerduty`): a V3 webhook body, `{"event": {...}}`, passed in
  *after* :func:`jira_bridge.pagerduty.signature.verify_pagerduty_signature` accepted the raw bytes;
* an EventBridge event: PagerDuty's Amazon EventBridge integration puts a V2 webhook message in
  `detail` (see :mod:`jira_bridge.pagerduty.eventbridge` for what PagerDuty documents), and an
  envelope whose `detail` is a V3 body (a relay of V3 webhooks onto a bus) is read too.

The result is published with :func:`put_events_entry` as detail-type "Incident Changed" on the
incident bus, where the incident rule and the incident events function take over. Mapping is pure:
no I/O, no clock; the caller passes the PagerDuty user id -> e-mail table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from jira_bridge.incidents.events import DETAIL_TYPE, IncidentChanged
from jira_bridge.pagerduty.errors import PagerDutyPayloadInvalid
from jira_bridge.webhooks.http import parse_json

PUBLISH_SOURCE = "jira-bridge.pagerduty"
"""EventBridge `source` of the "Incident Changed" events this adapter publishes."""

__all__ = ["PUBLISH_SOURCE", "PagerDutyPayloadInvalid", "event_type_of", "put_events_entry", "to_canonical"]


def to_canonical(
    pd_event: Mapping[str, Any] | bytes | str, user_emails: Mapping[str, str] | None = None
) -> IncidentChanged | None:
    """The canonical event for one PagerDuty event, or ``None`` when its type is not mapped.

    ``pd_event`` is a V3 webhook body or an EventBridge event (parsed, or the raw JSON bytes/text);
    ``user_emails`` maps PagerDuty user ids to e-mail addresses (owners and actors not in it have no
    e-mail). Raises :class:`PagerDutyPayloadInvalid` for anything that is not a PagerDuty event, or a
    mapped event whose content is not what PagerDuty sends.
    """
    emails = user_emails or {}
    payload = _as_mapping(pd_event)
    # Each delivery path's models are imported when a payload takes it: POST /incidents publishes with
    # put_events_entry and reads neither; the webhook route reads V3 only (~3-5 ms of pydantic model
    # building per model module at cold start).
    try:
        if "detail-type" in payload and "detail" in payload:
            from jira_bridge.pagerduty.eventbridge import EventBridgeEnvelope, V2Message, map_v2_message

            detail = EventBridgeEnvelope.model_validate(payload).detail
            if isinstance(detail.get("event"), str):
                return map_v2_message(V2Message.model_validate(detail), emails)
            payload = detail
        if isinstance(payload.get("event"), Mapping):
            from jira_bridge.pagerduty.v3 import V3Body, map_v3

            return map_v3(V3Body.model_validate(payload).event, emails)
    except ValidationError as error:
        raise PagerDutyPayloadInvalid(f"not a PagerDuty event PagerDuty would send: {_first(error)}") from None
    except ValueError as error:
        raise PagerDutyPayloadInvalid(f"not a PagerDuty event PagerDuty would send: {error}") from None
    raise PagerDutyPayloadInvalid(
        "neither a V3 webhook body ({\"event\": {...}}) nor an EventBridge event from PagerDuty"
    )


def event_type_of(pd_event: Mapping[str, Any]) -> str | None:
    """PagerDuty's name for the event (V3 `event_type` or V2 verb), for the log line and metric of an
    event :func:`to_canonical` ignored; ``None`` if the payload has none."""
    payload = pd_event.get("detail") if "detail-type" in pd_event else pd_event
    event = payload.get("event") if isinstance(payload, Mapping) else None
    if isinstance(event, Mapping):
        event = event.get("event_type")
    return event if isinstance(event, str) else None


def put_events_entry(
    event: IncidentChanged, *, bus_name: str, source: str = PUBLISH_SOURCE
) -> dict[str, Any]:
    """One `PutEvents` entry publishing ``event`` as "Incident Changed" on ``bus_name``.

    Use as ``events_client.put_events(Entries=[put_events_entry(event, bus_name=...)])`` and check
    ``FailedEntryCount``: PutEvents reports a failed entry in its answer, not as an exception.
    """
    return {
        "Source": source,
        "DetailType": DETAIL_TYPE,
        "Detail": event.model_dump_json(),
        "EventBusName": bus_name,
        "Time": event.occurred_at,
    }


def _as_mapping(pd_event: Mapping[str, Any] | bytes | str) -> Mapping[str, Any]:
    if isinstance(pd_event, Mapping):
        return pd_event
    try:
        parsed = parse_json(pd_event)
    except ValueError as error:
        raise PagerDutyPayloadInvalid(f"the body is not JSON ({error})") from None
    if not isinstance(parsed, dict):
        raise PagerDutyPayloadInvalid("the body is not a JSON object")
    return parsed


def _first(error: ValidationError) -> str:
    item = error.errors()[0]
    where = ".".join(str(part) for part in item["loc"]) or "(root)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {item['msg']}{more}"

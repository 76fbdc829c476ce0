"""Open PagerDuty incidents from Jira through the Events API v2 (`POST /v2/enqueue`).

`dedup_key` is what makes "one issue = one PagerDuty incident": while the alert it opened is open,
every later trigger with the same key and routing key lands on that alert instead of opening another
(developer-docs `docs/events-API-v2/02-Trigger-Events.md`, "Alert De-Duplication"). That also makes
a repeated trigger harmless, so a trigger is retried after a 5xx or a lost answer, which a plain
POST is not. Once the alert is resolved, the same key opens a new one: callers that must never open
a second incident for an issue keep their own "already requested" record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jira_bridge.pagerduty.transport import events_transport, pagerduty_errors

if TYPE_CHECKING:
    from jira_bridge.jira.transport import JiraTransport
    from jira_bridge.pagerduty.credentials import PagerDutySecret

ENQUEUE_PATH = "/v2/enqueue"
SEVERITIES = ("critical", "error", "warning", "info")
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class PagerDutyEventsSink:
    def __init__(self, transport: JiraTransport) -> None:
        self.transport = transport

    @classmethod
    def from_secret(cls, secret: PagerDutySecret, **transport_options: Any) -> PagerDutyEventsSink:
        return cls(events_transport(secret.events_url, **transport_options))

    def trigger(
        self,
        routing_key: str,
        dedup_key: str,
        summary: str,
        source: str,
        severity: str,
        custom_details: Mapping[str, Any] | None = None,
        links: Iterable[Mapping[str, str]] | None = None,
        *,
        client: str | None = None,
        client_url: str | None = None,
        timestamp: datetime | None = None,
    ) -> str:
        """Trigger (or re-trigger) the alert ``dedup_key``; returns the dedup key PagerDuty confirmed.

        ``links`` are ``{"href": ..., "text": ...}``; ``client``/``client_url`` label the "View in"
        link PagerDuty shows (e.g. the Jira issue). A summary over 1024 characters is shortened.
        """
        if not routing_key:
            raise ValueError("an Events API trigger needs the integration's routing key")
        if not 0 < len(dedup_key) <= MAX_DEDUP_KEY:
            raise ValueError(f"dedup_key must be 1..{MAX_DEDUP_KEY} characters, got {len(dedup_key)}")
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
        if not summary.strip() or not source.strip():
            raise ValueError("an Events API trigger needs a summary and a source")
        payload: dict[str, Any] = {
            "summary": summary if len(summary) <= MAX_SUMMARY else summary[: MAX_SUMMARY - 1] + "\u2026",
            "source": source,
            "severity": severity,
        }
        if timestamp is not None:
            payload["timestamp"] = timestamp.isoformat()
        if custom_details:
            payload["custom_details"] = dict(custom_details)
        body: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": payload,
        }
        link_list = [_link(link) for link in links or ()]
        if link_list:
            body["links"] = link_list
        if client:
            body["client"] = client
        if client_url:
            body["client_url"] = client_url
        with pagerduty_errors():
            response = self.transport.request(
                "POST", ENQUEUE_PATH, json=body, template=ENQUEUE_PATH, headers=_HEADERS, idempotent=True
            )
        answer = response.body if isinstance(response.body, dict) else {}
        confirmed = answer.get("dedup_key")
        return str(confirmed) if confirmed else dedup_key


def _link(link: Mapping[str, str]) -> dict[str, str]:
    if not link.get("href"):
        raise ValueError("an Events API link needs an href")
    return {"href": link["href"], **({"text": link["text"]} if link.get("text") else {})}

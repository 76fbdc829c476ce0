"""Publishing what the incident side should do, as events on the incident bus (and to PagerDuty).

EventBridge is the contract: any incident tool can subscribe to "Incident Update Requested" and
"Incident Create Requested". A failed entry raises, so the caller's retry (SQS) sends it again;
consumers deduplicate on `request_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jira_bridge.incidents.updates import (
    CREATE_DETAIL_TYPE,
    SOURCE,
    UPDATE_DETAIL_TYPE,
    IncidentCreateRequested,
    IncidentUpdateRequested,
)


class PublishFailed(Exception):
    retryable = True


class EventBridgePublisher:
    def __init__(self, bus_name: str, client_factory: Callable[[], Any]) -> None:
        self._bus = bus_name
        self._client_factory = client_factory

    def publish_update(self, request: IncidentUpdateRequested) -> None:
        self._put(UPDATE_DETAIL_TYPE, request.model_dump_json(), request.incident_id)

    def publish_create(self, request: IncidentCreateRequested) -> None:
        self._put(CREATE_DETAIL_TYPE, request.model_dump_json(), request.origin.issue_key)

    def _put(self, detail_type: str, detail: str, resource: str) -> None:
        answer = self._client_factory().put_events(Entries=[{
            "EventBusName": self._bus, "Source": SOURCE, "DetailType": detail_type, "Detail": detail,
            "Resources": [],
        }])
        if answer.get("FailedEntryCount"):
            entry = answer["Entries"][0]
            raise PublishFailed(f"{detail_type} for {resource} not accepted: {entry.get('ErrorCode')} "
                                f"{entry.get('ErrorMessage')}")


class RecordingPublisher:
    """Keeps what would have been published (tests, and `jira-bridge local invoke` previews)."""

    def __init__(self) -> None:
        self.updates: list[IncidentUpdateRequested] = []
        self.creates: list[IncidentCreateRequested] = []

    def publish_update(self, request: IncidentUpdateRequested) -> None:
        self.updates.append(request)

    def publish_create(self, request: IncidentCreateRequested) -> None:
        self.creates.append(request)

"""Publishing what the incident side should do, as events on the incident bus (and to PagerDuty).

EventBridge is the contract: any incident tool can subscribe to "Incident Update Requested" and
"Incident Create Requested". A failed entry raises, so the caller's retry (SQS) sends it again;
consumers deduplicate on `request_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from jira_bridge.incidents.updates import (
    CREATE_DETAIL_TYPE,
    NOTE_DETAIL_TYPE,
    SOURCE,
    UPDATE_DETAIL_TYPE,
    IncidentCreateRequested,
    IncidentNoteRequested,
    IncidentUpdateRequested,
)


class PublishFailed(Exception):
    retryable = True


class UpdatePublisher(Protocol):
    def publish_update(self, request: IncidentUpdateRequested) -> None: ...
    def publish_create(self, request: IncidentCreateRequested) -> None: ...
    def publish_note(self, request: IncidentNoteRequested) -> None: ...


class EventBridgePublisher:
    def __init__(self, bus_name: str, client_factory: Callable[[], Any]) -> None:
        self._bus = bus_name
        self._client_factory = client_factory

    def publish_update(self, request: IncidentUpdateRequested) -> None:
        self._put(UPDATE_DETAIL_TYPE, request.model_dump_json(), request.incident_id)

    def publish_create(self, request: IncidentCreateRequested) -> None:
        self._put(CREATE_DETAIL_TYPE, request.model_dump_json(), request.origin.issue_key)

    def publish_note(self, request: IncidentNoteRequested) -> None:
        self._put(NOTE_DETAIL_TYPE, request.model_dump_json(), request.incident_id)

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
        self.notes: list[IncidentNoteRequested] = []

    def publish_update(self, request: IncidentUpdateRequested) -> None:
        self.updates.append(request)

    def publish_create(self, request: IncidentCreateRequested) -> None:
        self.creates.append(request)

    def publish_note(self, request: IncidentNoteRequested) -> None:
        self.notes.append(request)


# PagerDuty's Events API severities, from the incident severity/priority names the runbooks use.
PAGERDUTY_SEVERITY = {"p1": "critical", "sev1": "critical", "high": "critical", "p2": "error", "sev2": "error",
                      "p3": "warning", "sev3": "warning", "low": "warning"}


class PagerDutyPublisher:
    """Applies the requests to PagerDuty itself, for teams whose incident tool is PagerDuty.

    Updates go through the REST API (status, priority, assignee, note, with the `From` header); create
    requests trigger through the Events API with the request's dedup key, so one issue is one
    PagerDuty incident however often it is asked.
    """

    def __init__(self, rest: Any, events: Any, routing_key: str | None) -> None:
        self._rest = rest
        self._events = events
        self._routing_key = routing_key

    def publish_update(self, request: IncidentUpdateRequested) -> None:
        self._rest.update_incident(
            request.incident_id,
            status=request.state if request.state in {"acknowledged", "resolved"} else None,
            priority_name=request.priority,
            assignee_email=request.owner_email,
            note=_note_text(request),
        )

    def publish_note(self, request: IncidentNoteRequested) -> None:
        self._rest.update_incident(request.incident_id, note=f"Jira Bridge: {request.text}")

    def publish_create(self, request: IncidentCreateRequested) -> None:
        if not self._routing_key:
            raise PublishFailed("PagerDuty secret has no events_routing_key: cannot open incidents from Jira")
        level = (request.severity or request.priority or "").lower()
        self._events.trigger(
            self._routing_key, request.dedup_key, request.title[:1024], source=f"jira:{request.origin.issue_key}",
            severity=PAGERDUTY_SEVERITY.get(level, "info"),
            custom_details={"rule": request.rule, "description": request.description, "service": request.service},
            links=[{"href": request.origin.issue_url, "text": request.origin.issue_key}]
            if request.origin.issue_url else None,
        )


class AccountRoutedPublisher:
    """Several PagerDuty accounts: each request goes to the account its incident belongs to.

    ``account_of_incident`` answers from the incident's link (where the incident came from);
    ``account_for_service`` picks the account for an incident Jira asks to open; ``sink_for`` gives
    that account's publisher (its own secret, API token and `From`).
    """

    def __init__(
        self,
        account_of_incident: Callable[[str], str],
        account_for_service: Callable[[str | None], str],
        sink_for: Callable[[str], UpdatePublisher],
    ) -> None:
        self._account_of = account_of_incident
        self._for_service = account_for_service
        self._sink_for = sink_for

    def publish_update(self, request: IncidentUpdateRequested) -> None:
        self._sink_for(self._account_of(request.incident_id)).publish_update(request)

    def publish_note(self, request: IncidentNoteRequested) -> None:
        self._sink_for(self._account_of(request.incident_id)).publish_note(request)

    def publish_create(self, request: IncidentCreateRequested) -> None:
        self._sink_for(self._for_service(request.service)).publish_create(request)


class FanOutPublisher:
    """The bus first (the contract), then each extra sink; any failure raises for an SQS retry."""

    def __init__(self, *publishers: Any) -> None:
        self.publishers = publishers

    def publish_update(self, request: IncidentUpdateRequested) -> None:
        for publisher in self.publishers:
            publisher.publish_update(request)

    def publish_create(self, request: IncidentCreateRequested) -> None:
        for publisher in self.publishers:
            publisher.publish_create(request)

    def publish_note(self, request: IncidentNoteRequested) -> None:
        for publisher in self.publishers:
            publisher.publish_note(request)


def _note_text(request: IncidentUpdateRequested) -> str | None:
    parts = []
    if request.note is not None:
        author = f" ({request.note.author_name} in {request.origin.issue_key})" if request.note.author_name else ""
        kind = {"internal": "internal note", "public": "public reply", "customer": "customer's comment"}
        said = f" [Jira {kind[request.note.jira_visibility]}]" if request.note.jira_visibility else ""
        parts.append(request.note.text + author + said)
    if request.owner_cleared:  # the PagerDuty sink never removes assignees: say so instead of dropping it
        parts.append(f"{request.origin.issue_key} was unassigned in Jira; "
                     "the bridge does not remove PagerDuty assignees.")
    return "\n\n".join(parts) or None

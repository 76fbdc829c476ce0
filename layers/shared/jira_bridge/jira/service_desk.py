"""Jira Service Management (JSM): what the bridge does differently on a ``service_desk`` project.

- Comments: on a JSM issue a comment added through ``POST /rest/api/3/issue/{key}/comment`` is
  public (``jsdPublic`` "defaults to true") and emails the request's reporter and participants,
  unless it carries the comment property ``sd.public.comment`` ``{"internal": true}``. The bridge
  writes that property on every comment it makes in a JSM project unless a runbook says
  ``visibility: public`` (:func:`comment_properties`).
- Inbound: a comment is ``internal`` (``jsdPublic: false``), ``public`` (by an agent) or by a
  ``customer`` (an account of type ``customer``, Jira's portal-only account) (:func:`classify_comment`).
  Data Center says neither: its comments have no ``jsdPublic`` (the flag is the comment's
  ``sd.public.comment`` property, read with ``getCommentProperty``) and its users no ``accountType``
  (a user without application roles is the portal-only customer; ``DataCenterClient.get_user``).
- Requests: ``/rest/servicedeskapi`` lists service desks and request types and creates customer
  requests (:class:`ServiceDeskApi`), the same on Cloud and Data Center.

Both the property and the servicedeskapi exist on Jira Cloud and Data Center alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from jira_bridge.jira.client import JiraClient, _dict, _seg
from jira_bridge.jira.errors import JiraError

SERVICE_DESK_PROJECT_TYPE: Final = "service_desk"
SD_PUBLIC_COMMENT: Final = "sd.public.comment"
AGENT_PERMISSION: Final = "SERVICEDESK_AGENT"
AGENT_ROLE: Final = "Service Desk Team"
AGENT_GROUP_DC: Final = "jira-servicedesk-users"
API: Final = "/rest/servicedeskapi"

type Visibility = Literal["internal", "public"]
type CommentKind = Literal["internal", "public", "customer"]
"""Who could see a JSM comment: agents only; everyone, written by an agent; everyone, by a customer."""


def comment_properties(visibility: Visibility) -> dict[str, Any]:
    """The comment properties that make a JSM comment internal (or explicitly public)."""
    return {SD_PUBLIC_COMMENT: {"internal": visibility == "internal"}}


def is_internal_property(value: Any) -> bool:
    """Whether a comment's ``sd.public.comment`` value (None when it has none) makes it internal.

    Jira answers the value as JSON; Data Center's OpenAPI types ``EntityPropertyBean.value`` as a string
    (JSON text), so a string that decodes to ``{"internal": true}`` counts too."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    return isinstance(value, dict) and value.get("internal") is True


def classify_comment(jsd_public: bool | None, author_account_type: str | None) -> CommentKind:
    """``jsdPublic: false`` is an internal note (only agents can write one); a public comment by a
    ``customer`` account is the customer's; any other public comment is an agent's reply."""
    if jsd_public is False:
        return "internal"
    return "customer" if author_account_type == "customer" else "public"


@dataclass(frozen=True)
class ServiceDesk:
    id: str
    project_key: str


@dataclass(frozen=True)
class RequestType:
    id: str
    name: str
    issue_type_id: str | None


@dataclass(frozen=True)
class CreatedRequest:
    issue_id: str
    issue_key: str


class ServiceDeskApi:
    """The few ``/rest/servicedeskapi`` operations the bridge uses, over the connector's transport."""

    def __init__(self, client: JiraClient) -> None:
        self.transport = client.transport

    def _pages(self, path: str, template: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start = 0
        while True:
            body = _dict(self.transport.get(path, params={"start": start, "limit": 50}, template=template).body)
            values = [v for v in body.get("values") or [] if isinstance(v, dict)]
            out.extend(values)
            start += len(values)
            if body.get("isLastPage", True) or not values:
                return out

    def service_desk_for(self, project_key: str) -> ServiceDesk | None:
        """``getServiceDesks``: GET /rest/servicedeskapi/servicedesk, the one of ``project_key``."""
        for desk in self._pages(f"{API}/servicedesk", f"{API}/servicedesk"):
            if str(desk.get("projectKey", "")).upper() == project_key.upper():
                return ServiceDesk(id=str(desk.get("id", "")), project_key=str(desk["projectKey"]))
        return None

    def request_types(self, service_desk_id: str) -> list[RequestType]:
        """``getRequestTypes``: GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype."""
        values = self._pages(f"{API}/servicedesk/{_seg(service_desk_id)}/requesttype",
                             f"{API}/servicedesk/{{serviceDeskId}}/requesttype")
        return [RequestType(id=str(v.get("id", "")), name=str(v.get("name", "")),
                            issue_type_id=str(v["issueTypeId"]) if v.get("issueTypeId") else None) for v in values]

    def request_type_fields(self, service_desk_id: str, request_type_id: str) -> set[str]:
        """``getRequestTypeFields``: the field ids ``requestFieldValues`` may set for this request type."""
        body = _dict(self.transport.get(
            f"{API}/servicedesk/{_seg(service_desk_id)}/requesttype/{_seg(request_type_id)}/field",
            template=f"{API}/servicedesk/{{serviceDeskId}}/requesttype/{{requestTypeId}}/field").body)
        fields = body.get("requestTypeFields") or []
        return {str(f["fieldId"]) for f in fields if isinstance(f, dict) and "fieldId" in f}

    def create_request(
        self, service_desk_id: str, request_type_id: str, field_values: dict[str, Any],
        *, raise_on_behalf_of: str | None = None,
    ) -> CreatedRequest:
        """``createCustomerRequest``: POST /rest/servicedeskapi/request (not retried: it is a create)."""
        body: dict[str, Any] = {"serviceDeskId": service_desk_id, "requestTypeId": request_type_id,
                                "requestFieldValues": field_values}
        if raise_on_behalf_of:
            body["raiseOnBehalfOf"] = raise_on_behalf_of
        data = _dict(self.transport.post(f"{API}/request", json=body).body)
        if not data.get("issueId") or not data.get("issueKey"):
            raise JiraError("Jira created a request but its answer has no issueId/issueKey", status=201,
                            retryable=False)
        return CreatedRequest(issue_id=str(data["issueId"]), issue_key=str(data["issueKey"]))

"""What the bridge needs to know about a Jira site, fetched once per container and kept a while.

Field types, users by email and workflow transitions change rarely; asking Jira again for each event
would double the traffic of every operation. Entries expire after `ttl` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from jira_bridge.incidents.workflow import NoPathToStatus, TransitionOption, WorkflowMap
from jira_bridge.jira.client import JiraClient, JiraField
from jira_bridge.jira.service_desk import SERVICE_DESK_PROJECT_TYPE, RequestType, ServiceDesk, ServiceDeskApi


class JiraMetadata:
    def __init__(self, client: JiraClient, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._ttl = ttl
        self._clock = clock
        self._fields: tuple[float, dict[str, JiraField]] | None = None
        self._accounts: dict[str, tuple[float, str | None]] = {}
        self._workflows: dict[tuple[str, str], tuple[float, WorkflowMap]] = {}
        self._myself: str | None = None
        self._project_types: dict[str, tuple[float, str | None]] = {}
        self._desks: dict[str, tuple[float, ServiceDesk | None]] = {}
        self._request_types: dict[str, tuple[float, list[RequestType]]] = {}
        self._account_types: dict[str, tuple[float, str | None]] = {}
        self._request_forms: dict[tuple[str, str], tuple[float, set[str]]] = {}

    def _fresh(self, stamp: float) -> bool:
        return self._clock() - stamp < self._ttl

    def fields(self) -> dict[str, JiraField]:
        if self._fields is None or not self._fresh(self._fields[0]):
            self._fields = (self._clock(), {f.id: f for f in self.client.fields()})
        return self._fields[1]

    def schema(self, field_id: str) -> dict[str, Any] | None:
        field = self.fields().get(field_id)
        return field.schema if field else None

    def account_for_email(self, email: str) -> str | None:
        """Case-insensitive; a miss is cached too (hidden emails are not found by search)."""
        key = email.strip().lower()
        cached = self._accounts.get(key)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        user = self.client.find_user_by_email(key)
        account = user.account_id if user else None
        self._accounts[key] = (self._clock(), account)
        return account

    def integration_account_id(self) -> str:
        if self._myself is None:
            self._myself = self.client.myself().account_id
        return self._myself

    def workflow(self, project: str, issue_type: str) -> WorkflowMap:
        key = (project.upper(), issue_type.lower())
        cached = self._workflows.get(key)
        if cached is None or not self._fresh(cached[0]):
            cached = (self._clock(), WorkflowMap())
            self._workflows[key] = cached
        return cached[1]

    def transitions_from(self, issue: str, status: str, workflow: WorkflowMap) -> list[TransitionOption]:
        """The transitions leaving `status`, from the cache or (once) from the issue itself."""
        if not workflow.known(status):
            options = [
                TransitionOption(
                    id=t.id,
                    name=t.name,
                    to_status=t.to_status_name or "",
                    to_category=t.to_status_category or "",
                    required_fields=t.required_fields,
                    screen_fields=tuple(t.fields),
                )
                for t in self.client.get_transitions(issue)
                if t.is_available and t.to_status_name
            ]
            workflow.learn(status, options)
        return workflow.options(status)

    def path_to(self, issue: str, workflow: WorkflowMap, current: str, target: str,
                terminal: set[str]) -> list[TransitionOption]:
        """The moves from `current` to `target` planned before the first one is taken (a read of the
        transitions leaving `current`, never a move); :class:`NoPathToStatus` when none is known."""
        self.transitions_from(issue, current, workflow)
        path = workflow.shortest_path(current, target, terminal)
        if path is None:
            raise NoPathToStatus(current, target, workflow.reachable(current, terminal),
                                 workflow.unknown_on_the_way(current, terminal))
        return path

    # ----- Jira Service Management ------------------------------------------------------------------

    def is_service_desk(self, project: str) -> bool:
        """Whether `project` is a JSM project (``projectTypeKey: service_desk``), cached per project."""
        key = project.upper()
        cached = self._project_types.get(key)
        if cached is None or not self._fresh(cached[0]):
            cached = (self._clock(), self.client.get_project(key).project_type_key)
            self._project_types[key] = cached
        return cached[1] == SERVICE_DESK_PROJECT_TYPE

    def service_desk(self, project: str) -> ServiceDesk | None:
        key = project.upper()
        cached = self._desks.get(key)
        if cached is None or not self._fresh(cached[0]):
            cached = (self._clock(), ServiceDeskApi(self.client).service_desk_for(key))
            self._desks[key] = cached
        return cached[1]

    def request_types(self, service_desk_id: str) -> list[RequestType]:
        cached = self._request_types.get(service_desk_id)
        if cached is None or not self._fresh(cached[0]):
            cached = (self._clock(), ServiceDeskApi(self.client).request_types(service_desk_id))
            self._request_types[service_desk_id] = cached
        return cached[1]

    def request_form(self, service_desk_id: str, request_type_id: str) -> set[str]:
        """The field ids a request type's form takes (what ``requestFieldValues`` may set)."""
        key = (service_desk_id, request_type_id)
        cached = self._request_forms.get(key)
        if cached is None or not self._fresh(cached[0]):
            cached = (self._clock(), ServiceDeskApi(self.client).request_type_fields(*key))
            self._request_forms[key] = cached
        return cached[1]

    def account_type(self, account_id: str) -> str | None:
        """``atlassian``, ``app`` or ``customer`` (a JSM portal-only account), cached per account."""
        cached = self._account_types.get(account_id)
        if cached is None or not self._fresh(cached[0]):
            cached = (self._clock(), self.client.get_user(account_id).account_type)
            self._account_types[account_id] = cached
        return cached[1]

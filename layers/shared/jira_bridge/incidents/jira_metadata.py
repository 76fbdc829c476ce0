"""What the bridge needs to know about a Jira site, fetched once and kept a while.

Field types, users by email, the bridge's own account, project types and workflow transitions change
rarely; asking Jira again for each event would double the traffic of every operation. Two levels:
this container (entries expire after `ttl` seconds) and, given a `shared` store, every container of
the stack (`metadata_store.py`, longer TTLs), so a cold container asks Jira no more than a warm one.
Knowledge is refreshed when Jira says it is stale: an unknown field id refetches the field list
(at most once a minute), a refused transition re-reads the issue's status and transitions
(`reread_issue`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from jira_bridge.incidents.metadata_store import MetadataStore
from jira_bridge.incidents.workflow import NoPathToStatus, TransitionOption, WorkflowMap, WorkflowSnapshot
from jira_bridge.jira.client import JiraClient, JiraField, Transition
from jira_bridge.jira.service_desk import SERVICE_DESK_PROJECT_TYPE, RequestType, ServiceDesk, ServiceDeskApi

# How long every container may trust what one of them learned (seconds).
SHARED_TTL = {"fields": 86_400, "user": 86_400, "user-miss": 3_600, "myself": 30 * 86_400,
              "project-type": 86_400, "workflow": 86_400, "forgotten": 0}
FIELD_REFETCH_SECONDS = 60.0


class JiraMetadata:
    def __init__(self, client: JiraClient, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic, *,
                 shared: MetadataStore | None = None, scope: str = "", account_id: str | None = None,
                 identity: str = "") -> None:
        """`shared`/`scope`: the stack-wide cache and this site's key in it (connector + site). `account_id`:
        the bridge's own account as the connector records it (`jira-bridge connector test` fills it);
        `identity` distinguishes credentials, so a rotated account never reuses another's cached id."""
        self.client = client
        self._ttl = ttl
        self._clock = clock
        self._shared = shared
        self._scope = scope
        self._identity = identity
        self._fields_refetched: float | None = None
        self._fields: tuple[float, dict[str, JiraField]] | None = None
        self._accounts: dict[str, tuple[float, str | None]] = {}
        self._workflows: dict[tuple[str, str], tuple[float, WorkflowMap]] = {}
        self._myself: str | None = account_id
        self._project_types: dict[str, tuple[float, str | None]] = {}
        self._desks: dict[str, tuple[float, ServiceDesk | None]] = {}
        self._request_types: dict[str, tuple[float, list[RequestType]]] = {}
        self._account_types: dict[str, tuple[float, str | None]] = {}
        self._request_forms: dict[tuple[str, str], tuple[float, set[str]]] = {}

    def _fresh(self, stamp: float) -> bool:
        return self._clock() - stamp < self._ttl

    # ----- the cache every container shares ------------------------------------------------------

    def _shared_get(self, what: str) -> Any | None:
        return self._shared.get(f"{self._scope}#{what}") if self._shared is not None else None

    def _shared_put(self, what: str, value: Any, ttl: str) -> None:
        if self._shared is not None:
            self._shared.put(f"{self._scope}#{what}", value, SHARED_TTL[ttl])

    # ----- fields ------------------------------------------------------------------------------------

    def fields(self, refetch: bool = False) -> dict[str, JiraField]:
        if not refetch and self._fields is not None and self._fresh(self._fields[0]):
            return self._fields[1]
        shared = None if refetch else self._shared_get("fields")
        if isinstance(shared, list):
            known = {f["id"]: JiraField(id=f["id"], key=f["key"], name=f["name"], custom=f["custom"],
                                        schema=f.get("schema")) for f in shared if isinstance(f, dict)}
        else:
            known = {f.id: f for f in self.client.fields()}
            self._shared_put("fields", [{"id": f.id, "key": f.key, "name": f.name, "custom": f.custom,
                                         "schema": f.schema} for f in known.values()], "fields")
        self._fields = (self._clock(), known)
        return known

    def schema(self, field_id: str) -> dict[str, Any] | None:
        field = self.fields().get(field_id)
        recently = self._fields_refetched is not None and self._clock() - self._fields_refetched < FIELD_REFETCH_SECONDS
        if field is None and not recently:  # a field created since the list was cached: ask Jira once
            self._fields_refetched = self._clock()
            field = self.fields(refetch=True).get(field_id)
        return field.schema if field else None

    # ----- users ---------------------------------------------------------------------------------------

    def account_for_email(self, email: str) -> str | None:
        """Case-insensitive; a miss is cached too (hidden emails are not found by search), for less long."""
        key = email.strip().lower()
        cached = self._accounts.get(key)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        shared = self._shared_get(f"user#{key}")
        if isinstance(shared, dict) and "account" in shared:
            account = str(shared["account"]) if shared["account"] else None
        else:
            user = self.client.find_user_by_email(key)
            account = user.account_id if user else None
            self._shared_put(f"user#{key}", {"account": account}, "user" if account else "user-miss")
        self._accounts[key] = (self._clock(), account)
        return account

    def forget_user(self, email: str) -> bool:
        """Jira refused the account cached for `email`: the next lookup asks Jira. False when it was not
        cached here (so a retry would learn nothing new)."""
        key = email.strip().lower()
        cached = self._accounts.pop(key, None)
        if cached is None:
            return False
        self._shared_put(f"user#{key}", None, "forgotten")
        return True

    def integration_account_id(self) -> str:
        """The bridge's own account (echo detection): as the connector records it, else one `/myself`
        shared by every container for these credentials."""
        if self._myself is None:
            shared = self._shared_get(f"myself#{self._identity}")
            if isinstance(shared, str) and shared:
                self._myself = shared
            else:
                self._myself = self.client.myself().account_id
                self._shared_put(f"myself#{self._identity}", self._myself, "myself")
        return self._myself

    # ----- workflows -------------------------------------------------------------------------------------

    def workflow(self, project: str, issue_type: str, configured: WorkflowSnapshot | None = None) -> WorkflowMap:
        """What is known of the workflow: learned from Jira (this container or the shared cache), and the
        `configured` snapshot (`workflows:` in runbooks.yaml) for statuses not learned."""
        key = (project.upper(), issue_type.lower())
        cached = self._workflows.get(key)
        if cached is None or not self._fresh(cached[0]):
            learned = self._shared_get(self._workflow_key(key))
            cached = (self._clock(), WorkflowMap.from_json(learned) if learned is not None else WorkflowMap())
            self._workflows[key] = cached
        workflow = cached[1]
        if configured is not None and not workflow.seeded:
            workflow.seed(configured)
        return workflow

    @staticmethod
    def _workflow_key(key: tuple[str, str]) -> str:
        return f"workflow#{key[0]}#{key[1]}"

    def remember_workflow(self, workflow: WorkflowMap) -> None:
        """Share what this container learned of `workflow` (transitions read from Jira, the initial status)."""
        key = next((k for k, (_, known) in self._workflows.items() if known is workflow), None)
        if key is not None:
            self._shared_put(self._workflow_key(key), workflow.to_json(), "workflow")

    def reread_issue(self, issue: str, workflow: WorkflowMap) -> tuple[str, str]:
        """Jira refused a move planned from what was known: one read of the issue's status, type and the
        transitions offered now (``expand=transitions.fields``), which replace what was known of that status.
        Returns (status, issue type)."""
        read = self.client.get_issue(issue, fields=["status", "issuetype"], expand="transitions.fields")
        fields = read.get("fields") or {}
        status = str((fields.get("status") or {}).get("name") or "")
        offered = [Transition.from_json(t) for t in read.get("transitions") or [] if isinstance(t, dict)]
        workflow.learn(status, _options(offered))
        self.remember_workflow(workflow)
        return status, str((fields.get("issuetype") or {}).get("name") or "")

    def transitions_from(self, issue: str, status: str, workflow: WorkflowMap) -> list[TransitionOption]:
        """The transitions leaving `status`, from the cache or (once) from the issue itself."""
        if not workflow.known(status):
            workflow.learn(status, _options(self.client.get_transitions(issue)))
            self.remember_workflow(workflow)
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
            shared = self._shared_get(f"project-type#{key}")
            if isinstance(shared, dict) and "type" in shared:
                cached = (self._clock(), shared["type"])
            else:
                cached = (self._clock(), self.client.get_project(key).project_type_key)
                self._shared_put(f"project-type#{key}", {"type": cached[1]}, "project-type")
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


def _options(offered: list[Transition]) -> list[TransitionOption]:
    return [TransitionOption(id=t.id, name=t.name, to_status=t.to_status_name or "",
                             to_category=t.to_status_category or "", required_fields=t.required_fields,
                             screen_fields=tuple(t.fields))
            for t in offered if t.is_available and t.to_status_name]

"""Acting as a person on the simulated site, over real HTTP with that person's API token.

Changes made this way are indistinguishable from a human using Jira: they go through the REST API,
land in the request log, and fire webhooks with that user as ``user`` and changelog author, which is
what a "changed by a human, not by the integration" test needs::

    sim.as_user("alice@example.com").move_to("OPS-1", "Done")
"""

from __future__ import annotations

from collections import deque
from typing import Any

import requests

from jira_sim.adf import text_doc
from jira_sim.seed import SiteSeed, UserSeed


class SimulatorCallError(RuntimeError):
    """Jira answered an acting user's request with an error."""

    def __init__(self, method: str, path: str, response: requests.Response) -> None:
        self.status = response.status_code
        try:
            self.body: Any = response.json()
        except ValueError:
            self.body = response.text
        super().__init__(f"{method} {path} -> {self.status}: {self.body}")


class UserSession:
    """A person on the site. On a Data Center site (``datacenter``) they log in with username and
    password, their ``/rest/api/3`` paths are sent as ``/rest/api/2`` and their text as wiki markup."""

    def __init__(
        self, base_url: str, site: SiteSeed, user: UserSeed, *, timeout: float = 10.0, datacenter: bool = False
    ) -> None:
        if user.api_token is None:
            raise ValueError(f"{user.email} has no API token")
        self.base_url = base_url.rstrip("/")
        self.site = site
        self.user = user
        self.timeout = timeout
        self.datacenter = datacenter
        self.http = requests.Session()
        self.http.auth = (user.username if datacenter else user.email, user.api_token)

    def _text(self, text: str) -> Any:
        return text if self.datacenter else text_doc(text)

    # -- raw access --

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> requests.Response:
        if self.datacenter and path.startswith("/rest/api/3/"):
            path = "/rest/api/2/" + path[len("/rest/api/3/") :]
        return self.http.request(method, self.base_url + path, json=json, params=params, timeout=self.timeout)

    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        """Like `request`, but raises `SimulatorCallError` on an error and returns the parsed body."""
        response = self.request(method, path, json=json, params=params)
        if response.status_code >= 400:
            raise SimulatorCallError(method, path, response)
        return response.json() if response.content else None

    # -- what people do --

    def create_issue(self, project: str, summary: str, issue_type: str = "Task", **fields: Any) -> str:
        body = {
            "fields": {
                "project": {"key": project},
                "issuetype": {"name": issue_type},
                "summary": summary,
                **fields,
            }
        }
        key: str = self.call("POST", "/rest/api/3/issue", json=body)["key"]
        return key

    def edit(self, key: str, fields: dict[str, Any] | None = None, update: dict[str, Any] | None = None) -> None:
        self.call("PUT", f"/rest/api/3/issue/{key}", json={"fields": fields or {}, "update": update or {}})

    def comment(
        self, key: str, text: str | dict[str, Any], *, properties: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Add a comment; ``properties`` (key -> value) as the agent view sets them, e.g. JSM's
        ``sd.public.comment`` ``{"internal": true}`` for an internal note."""
        payload: dict[str, Any] = {"body": self._text(text) if isinstance(text, str) else text}
        if properties:
            payload["properties"] = [{"key": k, "value": v} for k, v in properties.items()]
        result: dict[str, Any] = self.call("POST", f"/rest/api/3/issue/{key}/comment", json=payload)
        return result

    def transitions(self, key: str) -> list[dict[str, Any]]:
        result = self.call("GET", f"/rest/api/3/issue/{key}/transitions", params={"expand": "transitions.fields"})
        transitions: list[dict[str, Any]] = result["transitions"]
        return transitions

    def transition(
        self, key: str, to: str, *, fields: dict[str, Any] | None = None, comment: str | None = None
    ) -> None:
        """Perform the available transition named ``to`` or leading to the status named ``to``.

        A required resolution the caller did not give is filled with "Done", as a person would pick it.
        Raises `SimulatorCallError` (Jira's 400) when no such transition is available right now.
        """
        available = self.transitions(key)
        wanted = to.casefold()
        chosen = next(
            (t for t in available if wanted in (t["name"].casefold(), t["to"]["name"].casefold())),
            None,
        )
        fields = dict(fields or {})
        if chosen is None:
            # Let Jira say no, with its own message, by asking for a transition that isn't there.
            transition_id = self._workflow_transition_id(key, to)
        else:
            transition_id = chosen["id"]
            for field_id, meta in chosen.get("fields", {}).items():
                if meta["required"] and field_id == "resolution":
                    fields.setdefault("resolution", {"name": "Done"})
        body: dict[str, Any] = {"transition": {"id": transition_id}, "fields": fields}
        if comment:
            body["update"] = {"comment": [{"add": {"body": self._text(comment)}}]}
        self.call("POST", f"/rest/api/3/issue/{key}/transitions", json=body)

    def move_to(self, key: str, status: str) -> list[str]:
        """Walk the workflow to ``status`` through the shortest chain of transitions; returns their names."""
        issue = self.call("GET", f"/rest/api/3/issue/{key}", params={"fields": "status,project"})
        project = self.site.project(issue["fields"]["project"]["key"])
        assert project is not None
        path = _shortest_path(self.site, project.workflow, issue["fields"]["status"]["id"], status)
        for transition_name in path:
            self.transition(key, transition_name)
        return path

    def _workflow_transition_id(self, key: str, to: str) -> str:
        issue = self.call("GET", f"/rest/api/3/issue/{key}", params={"fields": "project"})
        project = self.site.project(issue["fields"]["project"]["key"])
        assert project is not None
        workflow = self.site.workflow_of(project)
        names = {s.id: s.name.casefold() for s in self.site.statuses}
        for transition in workflow.transitions:
            if to.casefold() in (transition.name.casefold(), names[transition.to_status]):
                return transition.id
        return "0"

    def close(self) -> None:
        self.http.close()


def _shortest_path(site: SiteSeed, workflow_name: str, start: str, status_name: str) -> list[str]:
    workflow = next(w for w in site.workflows if w.name == workflow_name)
    target = next((s.id for s in site.statuses if s.name.casefold() == status_name.casefold()), None)
    if target is None:
        raise ValueError(f"no status called {status_name!r}")
    queue: deque[tuple[str, list[str]]] = deque([(start, [])])
    seen = {start}
    while queue:
        status, path = queue.popleft()
        if status == target:
            return path
        for transition in workflow.transitions:
            leaves = transition.is_global or status in transition.from_statuses
            if leaves and transition.to_status not in seen:
                seen.add(transition.to_status)
                queue.append((transition.to_status, [*path, transition.name]))
    raise ValueError(f"{status_name!r} cannot be reached in {workflow_name}")

"""The Jira Data Center dialect of :class:`jira_bridge.jira.client.JiraClient` (self-hosted Jira, formerly Server).

What differs from Cloud, all of it here and nowhere in the domain (contract:
``shared/contracts/jira-datacenter/``, Atlassian's DC 10.3 OpenAPI and README):

* REST v2 (``/rest/api/2``); there is no ``/rest/api/3`` and no ``/search/jql`` on Data Center.
* Rich text is wiki markup, rendered from the same ADF document the Cloud dialect sends
  (:func:`jira_bridge.jira.wiki.to_wiki`).
* Users are named by ``name`` (username); there is no ``accountId``. A domain value
  ``{"accountId": id}`` is sent as ``{"name": id}``, and :class:`JiraUser` ``account_id`` holds the
  username, so the same mapping tables work on both kinds.
* Search is ``POST /rest/api/2/search`` with offset paging (``startAt``/``total``). The server clamps
  ``maxResults`` to its limit (1,000 by default) without saying so, so the next page starts after the
  issues actually returned, never after the size asked for. Search cannot return issue properties;
  when they are asked for, each hit's properties are read from the issue (searches that ask are small).
* ``mypermissions`` takes no ``permissions`` parameter (it answers every key).
* ``user/search?username=`` matches username, display name or e-mail; ``user?username=``.
* ``priority`` is a plain array (no ``priority/search``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from jira_bridge.jira.adf import is_doc
from jira_bridge.jira.client import JiraClient, JiraUser, Priority, SearchPage, _dict
from jira_bridge.jira.wiki import to_wiki

API_V2: Final = "/rest/api/2"
SEARCH_LIMIT: Final = 1000
"""Data Center's default server-side cap on ``maxResults`` (admin-configurable, silently applied)."""


class DataCenterClient(JiraClient):
    """Jira Data Center: REST v2, wiki markup, users by username."""

    api = API_V2
    kind = "datacenter"

    # dialect hooks -------------------------------------------------------------------------

    def rich_text(self, value: str | Mapping[str, Any]) -> Any:
        return to_wiki(value)

    def user_ref(self, user_id: str) -> dict[str, str]:
        return {"name": user_id}

    def _field_value(self, value: Any) -> Any:
        """Users by name; any document (a textarea custom field's value) as wiki markup."""
        if is_doc(value):
            return self.rich_text(value)
        if isinstance(value, Mapping) and set(value) == {"accountId"}:
            return self.user_ref(str(value["accountId"]))
        if isinstance(value, list):
            return [self._field_value(item) for item in value]
        return value

    # users and permissions -----------------------------------------------------------------

    _user_search_param = "username"  # matches username, display name or e-mail

    def _permission_params(self, keys: list[str]) -> dict[str, str]:
        return {}  # Data Center's mypermissions takes no `permissions` and answers every key

    def get_user(self, account_id: str) -> JiraUser:
        """``GET /rest/api/2/user?username=&expand=applicationRoles`` (``account_id`` is the username on
        Data Center).

        Data Center has no ``accountType``; its nearest fact is the user's application roles. A user with
        none is a portal-only account, what Jira Service Management calls a customer (Cloud's
        ``accountType: customer``); anyone licensed for a product is ``atlassian``.
        """
        body = _dict(self.transport.get(
            f"{self.api}/user", params={"username": account_id, "expand": "applicationRoles"}).body)
        user = JiraUser.from_json(body)
        roles = body.get("applicationRoles")
        if isinstance(roles, dict) and isinstance(roles.get("items"), list):
            user = replace(user, account_type="atlassian" if roles["items"] else "customer")
        return user

    # metadata ------------------------------------------------------------------------------

    def priorities(self) -> list[Priority]:
        """``GET /rest/api/2/priority``: a plain array."""
        body = self.transport.get(f"{self.api}/priority").body
        return [Priority.from_json(v) for v in (body if isinstance(body, list) else []) if isinstance(v, dict)]

    # search ----------------------------------------------------------------------------------

    def search_jql(
        self,
        jql: str,
        fields: Sequence[str] | None = None,
        max_results: int = 50,
        next_page_token: str | None = None,
        *,
        properties: Sequence[str] | None = None,
        expand: str | None = None,
        reconcile_issues: Sequence[int] | None = None,
    ) -> SearchPage:
        """``POST /rest/api/2/search`` (one page). ``next_page_token`` is the next ``startAt``.

        ``reconcile_issues`` has no Data Center counterpart (its index is updated synchronously).
        """
        try:
            start = int(next_page_token) if next_page_token else 0
        except ValueError:
            raise ValueError(f"not a Data Center page token (a startAt offset): {next_page_token!r}") from None
        body: dict[str, Any] = {"jql": jql, "startAt": start, "maxResults": min(max_results, SEARCH_LIMIT)}
        if fields is not None:
            body["fields"] = list(fields)
        if expand:
            body["expand"] = [part for part in expand.split(",") if part]
        response = self.transport.post(f"{self.api}/search", json=body, idempotent=True)
        data = _dict(response.body)
        issues = [i for i in data.get("issues") or [] if isinstance(i, dict)]
        if properties:
            issues = [self._with_properties(issue, properties) for issue in issues]
        following = start + len(issues)
        total = int(data.get("total", following))
        is_last = not issues or following >= total
        return SearchPage(issues=issues, next_page_token=None if is_last else str(following), is_last=is_last)

    def _with_properties(self, issue: dict[str, Any], properties: Sequence[str]) -> dict[str, Any]:
        read = self.get_issue(str(issue.get("id") or issue.get("key")), fields=["id"], properties=properties)
        return {**issue, "properties": _dict(read.get("properties"))}

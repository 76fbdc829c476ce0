"""What request handlers can reach: the site's services, and the request being answered."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from werkzeug.wrappers import Request

from jira_sim.auth import OAuthTokenStore, Principal
from jira_sim.comments import CommentService
from jira_sim.contracts import Contracts
from jira_sim.errors import JiraError
from jira_sim.faults import FaultInjector
from jira_sim.issues import IssueService
from jira_sim.render import Flavour, Renderer
from jira_sim.request_log import RequestLog
from jira_sim.seed import SiteSeed, UserSeed
from jira_sim.software import SoftwareStore
from jira_sim.state import SiteState
from jira_sim.webhooks import WebhookDispatcher
from jira_sim.workflow import WorkflowService


@dataclass
class Services:
    site: SiteSeed
    state: SiteState
    contracts: Contracts | None
    issues: IssueService
    comments: CommentService
    workflows: WorkflowService
    software: SoftwareStore
    webhooks: WebhookDispatcher
    oauth: OAuthTokenStore
    faults: FaultInjector
    log: RequestLog
    #: Set when the server starts; every ``self`` link is built from it.
    base_url: str = ""
    #: ``datacenter``: REST v2 only, wiki markup, users by username/key, PAT or basic auth.
    flavour: Flavour = "cloud"
    #: The Jira version a Data Center site reports (and whose webhook features it has).
    dc_version: tuple[int, int, int] = (10, 3, 19)

    @property
    def datacenter(self) -> bool:
        return self.flavour == "datacenter"

    def renderer(self, api: Literal["2", "3"] = "3") -> Renderer:
        return Renderer(self.site, self.base_url, "2" if self.datacenter else api, self.flavour)


@dataclass
class RequestContext:
    request: Request
    services: Services
    principal: Principal | None

    @property
    def user(self) -> UserSeed:
        """The Basic-auth user (only routes with ``auth="basic"`` may ask)."""
        assert self.principal is not None
        assert self.principal.user is not None
        return self.principal.user

    @property
    def state(self) -> SiteState:
        return self.services.state

    @property
    def site(self) -> SiteSeed:
        return self.services.site

    def renderer(self) -> Renderer:
        return self.services.renderer("3")

    def json(self, *, required: bool = True) -> Any:
        """The parsed JSON body; Jira's 400 when it is missing (and ``required``) or not JSON."""
        raw = self.request.get_data(cache=True)
        if not raw.strip():
            if required:
                raise JiraError(400, ["No content to map due to end-of-input"])
            return None
        mimetype = self.request.mimetype
        if mimetype != "application/json" and not mimetype.endswith("+json"):
            # Jira's REST resources consume JSON only: any other Content-Type (text/plain, none) is 415.
            raise JiraError(415, ["Unsupported Media Type"])
        try:
            return json.loads(raw)
        except ValueError as error:
            raise JiraError(400, [f"Unexpected character in the request body: {error}"]) from error

    def query_list(self, name: str) -> list[str]:
        """A query parameter that may repeat and/or be comma-separated (``fields``, ``expand``...)."""
        return [part.strip() for value in self.request.args.getlist(name) for part in value.split(",") if part.strip()]

    def query_int(self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        raw = self.request.args.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as error:
            raise JiraError(400, [f"The '{name}' parameter must be a number, got '{raw}'."]) from error
        value = max(value, minimum)
        return min(value, maximum) if maximum is not None else value


def reset_site(services: Services) -> None:
    """Back to the seed: no issues, builds, webhooks, tokens, faults or logged requests."""
    with services.state.lock:
        services.state.reset()
        services.software.clear()
    services.webhooks.clear()
    services.oauth.clear()
    services.faults.clear()
    services.log.clear()

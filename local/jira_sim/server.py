"""`JiraSimulator`: the HTTP server on loopback, and the Python API tests and the demo drive it with."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from jsonschema import Draft4Validator
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from jira_sim.actors import UserSession
from jira_sim.app import SimulatorApp
from jira_sim.auth import OAuthTokenStore, mint_connect_jwt
from jira_sim.comments import CommentService
from jira_sim.context import Services, reset_site
from jira_sim.contracts import Contracts
from jira_sim.events import SiteEvent
from jira_sim.faults import FaultClock, FaultInjector
from jira_sim.fields import FieldParser
from jira_sim.issues import IssueService
from jira_sim.jql import JqlError, parse
from jira_sim.jql_eval import JqlCompiler
from jira_sim.render import Flavour
from jira_sim.request_log import RecordedRequest, RequestLog
from jira_sim.routes import (
    admin_webhooks,
    catalogue,
    comments,
    datacenter,
    datacenter_webhooks,
    issues,
    oauth,
    projects,
    remote_links,
    search,
    service_desk,
    sim_admin,
    software,
)
from jira_sim.routes import users as user_routes
from jira_sim.seed import SiteSeed, UserSeed, WorkflowSeed, default_site
from jira_sim.software import SoftwareStore
from jira_sim.state import Clock, CustomerEmail, Issue, SiteState, utc_now
from jira_sim.webhook_payloads import build_payload
from jira_sim.webhooks import DeliveryPolicy, WebhookDispatcher
from jira_sim.workflow import WorkflowService

ROUTE_TABLES = (
    datacenter.routes,
    datacenter_webhooks.routes,
    remote_links.routes,
    user_routes.routes,
    projects.routes,
    catalogue.routes,
    issues.routes,
    comments.routes,
    search.routes,
    software.routes,
    oauth.routes,
    service_desk.routes,
    admin_webhooks.routes,
    sim_admin.routes,
)


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug logs every request to stderr; the request log already keeps them."""

    def log(self, type: str, message: str, *args: Any) -> None:
        return


class JiraSimulator:
    """A Jira Cloud site, or with ``flavour="datacenter"`` a Jira Data Center one, on ``http://127.0.0.1:<port>``.

    Data Center mode (``dc_version`` is the version it reports, 10.3.19 by default) serves REST v2
    only (``/rest/api/3``, builds/deployments, OAuth and ``/_edge/tenant_info`` are 404), takes a
    personal access token as ``Authorization: Bearer`` or ``username:password`` basic auth, answers
    bad credentials as the anonymous user (``X-AUSERNAME: anonymous``, ``X-Seraph-LoginReason``),
    locks basic auth behind a CAPTCHA after ``CAPTCHA_THRESHOLD`` failed logins, stores and returns
    wiki markup, names users by ``name``/``key`` (no accountId), delivers webhooks shaped like the
    Server captures (signed with ``X-Hub-Signature`` from 10.0 only) and keeps remote issue links.

    ``contracts_dir`` (the ``shared/contracts`` folder) switches on strict ADF and software-request
    schema validation; ``seed`` replaces the default site. Use as a context manager or call
    `start` / `stop`.
    """

    def __init__(
        self,
        contracts_dir: Path | None = None,
        seed: SiteSeed | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delivery_policy: DeliveryPolicy | None = None,
        oauth_token_ttl: float = 3600.0,
        clock: Clock = utc_now,
        fault_clock: FaultClock = time,
        software_max_request_bytes: int | None = None,
        flavour: Flavour = "cloud",
        dc_version: tuple[int, int, int] = (10, 3, 19),
    ) -> None:
        self.site = seed or default_site()
        self.flavour: Flavour = flavour
        self.contracts = Contracts(contracts_dir) if contracts_dir is not None else None
        self.state = SiteState(self.site, clock)
        self._seeded_workflows = self.site.workflows
        self.webhooks = WebhookDispatcher(delivery_policy)
        self.faults = FaultInjector(fault_clock)
        self.request_log = RequestLog()
        self.oauth = OAuthTokenStore(oauth_token_ttl)
        self.software = SoftwareStore(self.state, self.contracts, software_max_request_bytes)
        parser = self._parser = FieldParser(self.site, self._adf_validator)
        comment_service = self._comments = CommentService(self.state, self._adf_validator, self._publish)
        self.services = Services(
            site=self.site,
            state=self.state,
            contracts=self.contracts,
            issues=IssueService(self.state, parser, self._publish),
            comments=comment_service,
            workflows=WorkflowService(self.state, parser, comment_service, self._publish),
            software=self.software,
            webhooks=self.webhooks,
            oauth=self.oauth,
            faults=self.faults,
            log=self.request_log,
        )
        self.webhooks.build_payload = self._payload
        self._app: SimulatorApp | None = None
        self.configure_site(flavour, dc_version)
        self.webhooks.matches_filter = self._matches_filter
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    def configure_site(self, flavour: Flavour, dc_version: tuple[int, int, int] = (10, 3, 19)) -> None:
        """Make this a Cloud or a Data Center site (of ``dc_version``), e.g. between tests on one server."""
        datacenter = flavour == "datacenter"
        self.flavour = flavour
        self.services.flavour = flavour
        self.services.dc_version = dc_version
        self._parser.datacenter = datacenter
        self._comments.datacenter = datacenter
        self.webhooks.datacenter = datacenter
        self.webhooks.signs = not datacenter or dc_version >= (10, 0, 0)
        if self._app is not None:
            self._app.dc_auth.clear_captcha()

    def start(self) -> Self:
        app = self._app = SimulatorApp(self.services, ROUTE_TABLES)
        self._server = make_server(self._host, self._port, app, threaded=True, request_handler=_QuietHandler)
        self.services.base_url = f"http://{self._host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="jira-sim-http",
            daemon=True,
        )
        self._thread.start()
        self.webhooks.start()
        return self

    def stop(self) -> None:
        self.webhooks.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if not self.services.base_url:
            raise RuntimeError("the simulator is not started")
        return self.services.base_url

    def reset(self) -> None:
        """Back to the seed: no issues, builds, webhooks, tokens, faults or logged requests."""
        self.webhooks.wait_idle(timeout=1.0)
        reset_site(self.services)
        self._set_workflows(self._seeded_workflows)

    def publish_workflow(self, workflow: WorkflowSeed) -> None:
        """An administrator edits the workflow named ``workflow.name`` and publishes it: from now on
        every issue of its projects is offered, and may take, only the new transitions (Jira applies a
        published workflow to existing issues at once when their statuses are kept)."""
        if all(w.name != workflow.name for w in self.site.workflows):
            raise KeyError(f"no workflow {workflow.name!r}")
        self._set_workflows(tuple(workflow if w.name == workflow.name else w for w in self.site.workflows))

    def _set_workflows(self, workflows: tuple[WorkflowSeed, ...]) -> None:
        # The seed is frozen and shared by every service; a published workflow replaces it in place.
        with self.state.lock:
            object.__setattr__(self.site, "workflows", workflows)

    # -- state inspection --

    def issue(self, key_or_id: str) -> Issue:
        """A snapshot of the stored issue (fields in stored form, comments, properties, changelog)."""
        with self.state.lock:
            issue = self.state.find(key_or_id)
            if issue is None:
                raise KeyError(f"no issue {key_or_id}")
            return issue.snapshot()

    def issues(self) -> list[Issue]:
        with self.state.lock:
            return [i.snapshot() for i in sorted(self.state.all(), key=lambda i: int(i.id))]

    def customer_emails(self, issue_key: str | None = None) -> list[CustomerEmail]:
        """Emails Jira Service Management would have sent customers for public comments."""
        with self.state.lock:
            return [e for e in self.state.customer_emails if issue_key is None or e.issue_key == issue_key]

    def build(self, pipeline_id: str, build_number: int) -> dict[str, Any] | None:
        stored = self.software.build(pipeline_id, build_number)
        return stored.data if stored else None

    def deployment(self, pipeline_id: str, environment_id: str, sequence: int) -> dict[str, Any] | None:
        stored = self.software.deployment(pipeline_id, environment_id, sequence)
        return stored.data if stored else None

    def development_info(self, issue_key: str) -> dict[str, list[dict[str, Any]]]:
        """Builds and deployments linked to an issue, newest first."""
        return self.software.for_issue(issue_key)

    def search_index_lag(self, seconds: float) -> None:
        """From now on, JQL search misses issues created less than `seconds` ago unless the search
        names them in ``reconcileIssues`` (Jira's index is eventually consistent)."""
        with self.state.lock:
            self.state.search_index_lag = timedelta(seconds=seconds)

    def move_issue(self, key: str, project_key: str, by: str | None = None) -> str:
        """Move an issue to another project (Jira's "Move"): new key, same id, old key still resolves;
        webhooks get ``jira:issue_updated`` with the Key and project in the changelog. ``by``: who
        moves it (email or account id; default the project lead)."""
        project = self.site.project(project_key)
        if project is None:
            raise KeyError(f"no project {project_key}")
        with self.state.lock:
            issue = self.state.find(key)
            if issue is None:
                raise KeyError(f"no issue {key}")
            actor = self.site.user(by or self.site.project_by_id(issue.project_id).lead_account_id)
            self.services.issues.move(actor, issue, project)
            return issue.key

    # -- request log --

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.request_log.entries()

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        return self.request_log.count(method, path_prefix)

    def reset_log(self) -> None:
        self.request_log.clear()

    # -- acting and credentials --

    def user(self, email_or_account_id: str) -> UserSeed:
        return self.site.user(email_or_account_id)

    def credentials(self, email: str) -> tuple[str, str]:
        """``(email, api_token)`` for ``requests``' ``auth=``."""
        user = self.site.user(email)
        assert user.api_token is not None
        return user.email, user.api_token

    def as_user(self, email: str) -> UserSession:
        return UserSession(self.base_url, self.site, self.site.user(email), datacenter=self.flavour == "datacenter")

    def connect_jwt(
        self,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]] | None = None,
        *,
        client_key: str | None = None,
        expires_in: int = 180,
    ) -> str:
        """A valid ``Authorization: JWT`` token for one request, signed like the seeded Connect app would."""
        app = self.site.connect_app(client_key) if client_key else self.site.connect_apps[0]
        assert app is not None
        return mint_connect_jwt(app, method, path, query, expires_in=expires_in)

    def issue_oauth_token(self, client_id: str | None = None) -> str:
        """An access token as ``POST /oauth/token`` would hand out, without the HTTP round trip."""
        client = self.site.oauth_client(client_id) if client_id else self.site.oauth_clients[0]
        assert client is not None
        return self.oauth.issue(client).access_token

    def expire_oauth_tokens(self) -> None:
        self.oauth.expire_all()

    # -- wiring --

    def _adf_validator(self) -> Draft4Validator | None:
        return self.contracts.adf_validator() if self.contracts is not None else None

    def _publish(self, event: SiteEvent) -> None:
        self.webhooks.publish(event)

    def _payload(self, event: SiteEvent) -> dict[str, Any]:
        timestamp = int(self.state.now().timestamp() * 1000)
        return build_payload(event, self.services.renderer("2"), timestamp)

    def _matches_filter(self, jql: str, issue: Issue) -> bool:
        try:
            compiled = JqlCompiler(self.state, None).compile(parse(jql), require_bounded=False)
        except JqlError:
            return False  # e.g. "key = X" once X is deleted: Jira skips the webhook
        return compiled.predicate(issue)

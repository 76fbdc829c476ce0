"""The site a simulator starts with: users, projects, fields, screens, workflows, credentials.

Everything here is immutable configuration. Mutable things (issues, comments, builds, tokens) live
in `state.py` and friends. `default_site()` is the site tests and the demo use; build your own
`SiteSeed` (``dataclasses.replace`` works well) for a differently shaped site.

Ids follow Jira Cloud's habits (numeric strings, custom fields ``customfield_1xxxx``, transition
ids 11, 21, 31, ...) but are **site specific**, exactly as in Jira: match by name or by the ids this
seed declares, never by ids seen on another site.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

StatusCategoryKey = Literal["new", "indeterminate", "done"]
FieldKind = Literal["string", "textarea", "number", "select", "multiselect", "url", "user", "datetime"]

#: Project permissions the simulator knows, with Jira's ids and display names.
PROJECT_PERMISSIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "BROWSE_PROJECTS": ("10", "Browse Projects"),
        "CREATE_ISSUES": ("11", "Create Issues"),
        "EDIT_ISSUES": ("12", "Edit Issues"),
        "ASSIGN_ISSUES": ("13", "Assign Issues"),
        "RESOLVE_ISSUES": ("14", "Resolve Issues"),
        "ADD_COMMENTS": ("15", "Add Comments"),
        "DELETE_ISSUES": ("16", "Delete Issues"),
        "ASSIGNABLE_USER": ("17", "Assignable User"),
        "CLOSE_ISSUES": ("18", "Close Issues"),
        "MODIFY_REPORTER": ("30", "Modify Reporter"),
        "EDIT_ALL_COMMENTS": ("34", "Edit All Comments"),
        "EDIT_OWN_COMMENTS": ("35", "Edit Own Comments"),
        "DELETE_ALL_COMMENTS": ("36", "Delete All Comments"),
        "DELETE_OWN_COMMENTS": ("37", "Delete Own Comments"),
        "TRANSITION_ISSUES": ("46", "Transition Issues"),
        # Jira Service Management only: the agent permission (the "Service Desk Team" role has it).
        "SERVICEDESK_AGENT": ("44", "Service Project Agent"),
    }
)
ALL_PERMISSIONS: frozenset[str] = frozenset(PROJECT_PERMISSIONS)


@dataclass(frozen=True)
class UserSeed:
    """A Jira user. ``api_token`` is what Basic auth accepts together with the email."""

    account_id: str
    email: str
    display_name: str
    api_token: str | None
    #: Cloud hides the email of users with a private profile: no ``emailAddress`` in responses,
    #: and user search does not find them by email.
    hide_email: bool = False
    time_zone: str = "UTC"
    account_type: str = "atlassian"
    active: bool = True
    #: Project permissions granted in every project...
    permissions: frozenset[str] = ALL_PERMISSIONS
    #: ...unless overridden for a project key here.
    project_permissions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Data Center only: the username (``name``), and the personal access token sent as
    #: ``Authorization: Bearer``. Basic auth on Data Center is ``username:password``, the password
    #: being ``api_token`` here. Data Center has no accountId: users are named by username/key.
    name: str | None = None
    personal_access_token: str | None = None
    #: Jira Cloud only: a scoped API token (service accounts), valid through api.atlassian.com's
    #: ``/ex/jira/{cloudId}`` gateway and not on the site URL.
    scoped_api_token: str | None = None

    @property
    def username(self) -> str:
        return self.name or self.email.split("@", 1)[0]

    @property
    def user_key(self) -> str:
        """Data Center's stable user key (``JIRAUSER<n>`` for users created since Jira 8.x)."""
        return f"JIRAUSER{10000 + int(self.account_id[-4:], 16)}"

    def permissions_in(self, project_key: str) -> frozenset[str]:
        return self.project_permissions.get(project_key, self.permissions)


@dataclass(frozen=True)
class StatusSeed:
    id: str
    name: str
    category: StatusCategoryKey
    description: str = ""


@dataclass(frozen=True)
class TransitionSeed:
    """One edge of a workflow. ``from_statuses`` empty means a global transition (from anywhere)."""

    id: str
    name: str
    to_status: str
    from_statuses: tuple[str, ...] = ()
    #: Fields on the transition screen (only these may be sent with the transition).
    screen_fields: tuple[str, ...] = ()
    #: Screen fields the transition refuses to run without.
    required_fields: tuple[str, ...] = ()
    #: A post function setting this resolution id when none is given (simplified workflows do this).
    default_resolution: str | None = None

    @property
    def is_global(self) -> bool:
        return not self.from_statuses


@dataclass(frozen=True)
class WorkflowSeed:
    name: str
    initial_status: str
    transitions: tuple[TransitionSeed, ...]

    def transition(self, transition_id: str) -> TransitionSeed | None:
        return next((t for t in self.transitions if t.id == transition_id), None)


@dataclass(frozen=True)
class IssueTypeSeed:
    id: str
    name: str
    description: str = ""
    avatar_id: int = 10300


@dataclass(frozen=True)
class OptionSeed:
    id: str
    value: str


@dataclass(frozen=True)
class FieldSeed:
    """A custom field (system fields are built into the simulator)."""

    id: str
    name: str
    kind: FieldKind
    options: tuple[OptionSeed, ...] = ()

    @property
    def custom_id(self) -> int:
        return int(self.id.removeprefix("customfield_"))


@dataclass(frozen=True)
class ScreenSeed:
    """Which fields a project's issue type shows on its create and edit screens, and which are required."""

    create: frozenset[str]
    edit: frozenset[str]
    required: frozenset[str] = frozenset({"summary", "issuetype", "project"})


@dataclass(frozen=True)
class ProjectSeed:
    id: str
    key: str
    name: str
    lead_account_id: str
    workflow: str
    #: issue type id -> its screens. The keys are the issue types the project offers.
    screens: Mapping[str, ScreenSeed]
    project_type: str = "software"


@dataclass(frozen=True)
class RequestTypeSeed:
    """A Jira Service Management request type: a portal form backed by one issue type."""

    id: str
    name: str
    issue_type_id: str
    #: The fields the form offers (``requestFieldValues`` may set only these).
    fields: frozenset[str] = frozenset({"summary", "description"})


@dataclass(frozen=True)
class ServiceDeskSeed:
    """The service desk of a ``service_desk`` project (``/rest/servicedeskapi/servicedesk``)."""

    id: str
    project_key: str
    request_types: tuple[RequestTypeSeed, ...]

    def request_type(self, request_type_id: str) -> RequestTypeSeed | None:
        return next((t for t in self.request_types if t.id == request_type_id), None)


@dataclass(frozen=True)
class PrioritySeed:
    id: str
    name: str
    status_color: str
    icon: str
    is_default: bool = False


@dataclass(frozen=True)
class ResolutionSeed:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class OAuthClientSeed:
    """An "OAuth credentials" entry (client credentials for on-premises tools)."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class ConnectAppSeed:
    """An installed Connect app: ``client_key`` is the JWT ``iss``, ``shared_secret`` signs HS256."""

    client_key: str
    shared_secret: str
    modules: frozenset[str] = frozenset({"jiraBuildInfoProvider", "jiraDeploymentInfoProvider"})


@dataclass(frozen=True)
class SiteSeed:
    cloud_id: str
    users: tuple[UserSeed, ...]
    statuses: tuple[StatusSeed, ...]
    workflows: tuple[WorkflowSeed, ...]
    issue_types: tuple[IssueTypeSeed, ...]
    fields: tuple[FieldSeed, ...]
    projects: tuple[ProjectSeed, ...]
    priorities: tuple[PrioritySeed, ...]
    resolutions: tuple[ResolutionSeed, ...]
    oauth_clients: tuple[OAuthClientSeed, ...]
    connect_apps: tuple[ConnectAppSeed, ...]
    #: Jira Cloud also sends the legacy ``jira:issue_updated`` / ``issue_commented`` event next to
    #: ``comment_created`` when a comment is added. Receivers must cope with both.
    legacy_comment_issue_events: bool = True
    #: Jira Service Management: one service desk per ``service_desk`` project.
    service_desks: tuple[ServiceDeskSeed, ...] = ()

    # -- lookups (linear scans: a seed holds a handful of items) --

    def user(self, email_or_account_id: str) -> UserSeed:
        found = self.find_user(email_or_account_id)
        if found is None:
            raise KeyError(f"no seeded user {email_or_account_id!r}")
        return found

    def find_user(self, email_or_account_id: str) -> UserSeed | None:
        wanted = email_or_account_id.casefold()
        return next(
            (u for u in self.users if u.account_id == email_or_account_id or u.email.casefold() == wanted),
            None,
        )

    def find_dc_user(self, username_or_key: str) -> UserSeed | None:
        """Data Center lookups by username (case-insensitive, as Jira's are) or user key."""
        wanted = username_or_key.casefold()
        return next((u for u in self.users if u.username.casefold() == wanted or u.user_key == username_or_key), None)

    def project(self, key_or_id: str) -> ProjectSeed | None:
        wanted = key_or_id.upper()
        return next((p for p in self.projects if p.key.upper() == wanted or p.id == key_or_id), None)

    def project_by_id(self, project_id: str) -> ProjectSeed:
        return next(p for p in self.projects if p.id == project_id)

    def status(self, status_id: str) -> StatusSeed:
        return next(s for s in self.statuses if s.id == status_id)

    def workflow_of(self, project: ProjectSeed) -> WorkflowSeed:
        return next(w for w in self.workflows if w.name == project.workflow)

    def issue_type(self, issue_type_id: str) -> IssueTypeSeed:
        return next(t for t in self.issue_types if t.id == issue_type_id)

    def custom_field(self, field_id: str) -> FieldSeed | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def priority(self, priority_id: str) -> PrioritySeed:
        return next(p for p in self.priorities if p.id == priority_id)

    def default_priority(self) -> PrioritySeed:
        return next(p for p in self.priorities if p.is_default)

    def resolution(self, resolution_id: str) -> ResolutionSeed:
        return next(r for r in self.resolutions if r.id == resolution_id)

    def oauth_client(self, client_id: str) -> OAuthClientSeed | None:
        return next((c for c in self.oauth_clients if c.client_id == client_id), None)

    def connect_app(self, client_key: str) -> ConnectAppSeed | None:
        return next((a for a in self.connect_apps if a.client_key == client_key), None)

    def service_desk(self, id_or_project_key: str) -> ServiceDeskSeed | None:
        wanted = id_or_project_key.upper()
        return next((d for d in self.service_desks if d.id == id_or_project_key or d.project_key == wanted), None)


# ---------------------------------------------------------------------------------------------
# The default site
# ---------------------------------------------------------------------------------------------

# Fake, loopback-only credentials. They are part of the documented seed, not secrets.
INTEGRATION_EMAIL = "jira-bridge@example.com"
INTEGRATION_TOKEN = "jira-bridge-api-token"  # noqa: S105 - seeded fake credential
ALICE_EMAIL = "alice@example.com"
ALICE_TOKEN = "alice-api-token"  # noqa: S105 - seeded fake credential
BOB_EMAIL = "bob@example.com"
BOB_TOKEN = "bob-api-token"  # noqa: S105 - seeded fake credential
CAROL_EMAIL = "carol@example.com"
CAROL_TOKEN = "carol-api-token"  # noqa: S105 - seeded fake credential
# A Jira Service Management customer: an unlicensed portal account (accountType "customer").
CUSTOMER_EMAIL = "customer@example.org"
CUSTOMER_TOKEN = "customer-api-token"  # noqa: S105 - seeded fake credential
OAUTH_CLIENT_ID = "jira-bridge-ci"
OAUTH_CLIENT_SECRET = "jira-bridge-ci-secret"  # noqa: S105 - seeded fake credential
CONNECT_CLIENT_KEY = "jira-bridge-connect"
CONNECT_SHARED_SECRET = "jira-bridge-connect-shared-secret"  # noqa: S105 - seeded fake credential
CLOUD_ID = "5d3e2a9c-7f41-4b8e-9c1a-2f6b0d4e8a17"

# Status ids (the same statuses serve both workflows, as Jira shares statuses between workflows).
TO_DO, IN_PROGRESS, IN_REVIEW, DONE, WONT_DO = "10000", "3", "10001", "10002", "10003"
# Issue type ids.
TASK, INCIDENT = "10002", "10004"
# The service desk of the HELP project and its request types.
HELP_DESK = "1"
REPORT_INCIDENT, GET_HELP = "10", "11"
# What a customer may do in a service project (through the portal); agents have SERVICEDESK_AGENT.
_CUSTOMER_PERMISSIONS = frozenset({"BROWSE_PROJECTS", "CREATE_ISSUES", "ADD_COMMENTS", "EDIT_OWN_COMMENTS"})
# Custom field ids.
INCIDENT_ID = "customfield_10040"
SEVERITY = "customfield_10041"
AFFECTED_SERVICES = "customfield_10042"
CUSTOMERS_AFFECTED = "customfield_10043"
IMPACT_SUMMARY = "customfield_10044"
INCIDENT_URL = "customfield_10045"
INCIDENT_COMMANDER = "customfield_10046"
ROOT_CAUSE = "customfield_10047"
INCIDENT_STARTED = "customfield_10048"

_BASE_CREATE = frozenset(
    {"summary", "description", "issuetype", "project", "priority", "assignee", "reporter", "labels"}
)
_BASE_EDIT = frozenset({"summary", "description", "priority", "assignee", "reporter", "labels"})
_INCIDENT_FIELDS = frozenset(
    {
        INCIDENT_ID,
        SEVERITY,
        AFFECTED_SERVICES,
        CUSTOMERS_AFFECTED,
        IMPACT_SUMMARY,
        INCIDENT_URL,
        INCIDENT_COMMANDER,
        INCIDENT_STARTED,
    }
)


def _users() -> tuple[UserSeed, ...]:
    return (
        UserSeed(
            account_id="5f0c1a2b3c4d5e6f7a8b9c01",
            email=INTEGRATION_EMAIL,
            personal_access_token="jira-bridge-pat",  # noqa: S106 - seeded fake credential
            scoped_api_token="jira-bridge-scoped-api-token",  # noqa: S106 - seeded fake credential
            display_name="Jira Bridge (integration)",
            api_token=INTEGRATION_TOKEN,
        ),
        UserSeed(
            account_id="5f0c1a2b3c4d5e6f7a8b9c02",
            email=ALICE_EMAIL,
            personal_access_token="alice-pat",  # noqa: S106 - seeded fake credential
            display_name="Alice Oncall",
            api_token=ALICE_TOKEN,
            time_zone="Europe/Berlin",
        ),
        UserSeed(
            account_id="5f0c1a2b3c4d5e6f7a8b9c03",
            email=BOB_EMAIL,
            personal_access_token="bob-pat",  # noqa: S106 - seeded fake credential
            display_name="Bob Private",
            api_token=BOB_TOKEN,
            hide_email=True,
        ),
        UserSeed(
            account_id="5f0c1a2b3c4d5e6f7a8b9c04",
            email=CAROL_EMAIL,
            personal_access_token="carol-pat",  # noqa: S106 - seeded fake credential
            display_name="Carol Readonly",
            api_token=CAROL_TOKEN,
            permissions=ALL_PERMISSIONS - {"TRANSITION_ISSUES", "RESOLVE_ISSUES", "CLOSE_ISSUES"},
            # Carol works in the HELP service project without being an agent (not in Service Desk Team).
            project_permissions={"HELP": ALL_PERMISSIONS - {"SERVICEDESK_AGENT"}},
        ),
        UserSeed(
            account_id="qm:5f0c1a2b-customer-0001",
            email=CUSTOMER_EMAIL,
            display_name="Casey Customer",
            api_token=CUSTOMER_TOKEN,
            account_type="customer",
            permissions=frozenset(),
            project_permissions={"HELP": _CUSTOMER_PERMISSIONS},
        ),
    )


def _workflows() -> tuple[WorkflowSeed, ...]:
    incident = WorkflowSeed(
        name="OPS Incident Workflow",
        initial_status=TO_DO,
        transitions=(
            TransitionSeed("11", "Start Progress", IN_PROGRESS, from_statuses=(TO_DO,)),
            TransitionSeed("21", "Request Review", IN_REVIEW, from_statuses=(IN_PROGRESS,)),
            TransitionSeed(
                "31",
                "Done",
                DONE,
                from_statuses=(IN_REVIEW,),
                screen_fields=("resolution",),
                required_fields=("resolution",),
            ),
            TransitionSeed("41", "Stop Progress", TO_DO, from_statuses=(IN_PROGRESS,)),
            TransitionSeed("51", "Back to In Progress", IN_PROGRESS, from_statuses=(IN_REVIEW,)),
            TransitionSeed("61", "Reopen", TO_DO, from_statuses=(DONE,)),
            # Global (from every status): a strict workflow's "close without doing it", done category.
            TransitionSeed(
                "91",
                "Won't Do",
                WONT_DO,
                screen_fields=("resolution",),
                required_fields=("resolution",),
            ),
        ),
    )
    simple = WorkflowSeed(
        name="Simplified Workflow",
        initial_status=TO_DO,
        transitions=(
            TransitionSeed("11", "To Do", TO_DO),
            TransitionSeed("21", "In Progress", IN_PROGRESS),
            TransitionSeed("31", "Done", DONE, default_resolution="10000"),
        ),
    )
    return incident, simple


def _fields() -> tuple[FieldSeed, ...]:
    return (
        FieldSeed(INCIDENT_ID, "Incident ID", "string"),
        FieldSeed(
            SEVERITY,
            "Severity",
            "select",
            options=tuple(OptionSeed(str(10100 + n), f"SEV{n}") for n in range(1, 5)),
        ),
        FieldSeed(
            AFFECTED_SERVICES,
            "Affected services",
            "multiselect",
            options=(
                OptionSeed("10110", "api"),
                OptionSeed("10111", "web"),
                OptionSeed("10112", "payments"),
                OptionSeed("10113", "database"),
            ),
        ),
        FieldSeed(CUSTOMERS_AFFECTED, "Customers affected", "number"),
        FieldSeed(IMPACT_SUMMARY, "Impact summary", "textarea"),
        FieldSeed(INCIDENT_URL, "Incident URL", "url"),
        FieldSeed(INCIDENT_COMMANDER, "Incident commander", "user"),
        FieldSeed(ROOT_CAUSE, "Root cause", "textarea"),
        FieldSeed(INCIDENT_STARTED, "Incident started", "datetime"),
    )


def _projects(lead: str) -> tuple[ProjectSeed, ...]:
    ops = ProjectSeed(
        id="10000",
        key="OPS",
        name="Operations",
        lead_account_id=lead,
        workflow="OPS Incident Workflow",
        screens={
            # Root cause is only on the edit screen: it can't be known when the issue is created.
            INCIDENT: ScreenSeed(
                create=_BASE_CREATE | _INCIDENT_FIELDS,
                edit=_BASE_EDIT | _INCIDENT_FIELDS | {ROOT_CAUSE},
                required=frozenset({"summary", "issuetype", "project", SEVERITY}),
            ),
            TASK: ScreenSeed(create=_BASE_CREATE | {INCIDENT_ID}, edit=_BASE_EDIT | {INCIDENT_ID}),
        },
    )
    pay = ProjectSeed(
        id="10001",
        key="PAY",
        name="Payments",
        lead_account_id=lead,
        workflow="Simplified Workflow",
        screens={
            INCIDENT: ScreenSeed(
                create=_BASE_CREATE | {INCIDENT_ID, SEVERITY, INCIDENT_URL},
                edit=_BASE_EDIT | {INCIDENT_ID, SEVERITY, INCIDENT_URL, ROOT_CAUSE},
            ),
            TASK: ScreenSeed(create=_BASE_CREATE, edit=_BASE_EDIT),
        },
    )
    # A Jira Service Management project, shaped like PAY (its requests' issue types and screens).
    help_desk = replace(pay, id="10002", key="HELP", name="Help Center", project_type="service_desk")
    return ops, pay, help_desk


def _service_desks() -> tuple[ServiceDeskSeed, ...]:
    return (
        ServiceDeskSeed(
            HELP_DESK,
            "HELP",
            request_types=(
                RequestTypeSeed(REPORT_INCIDENT, "Report a system problem", INCIDENT,
                                fields=frozenset({"summary", "description", SEVERITY})),
                RequestTypeSeed(GET_HELP, "Get IT help", TASK),
            ),
        ),
    )


def default_site() -> SiteSeed:
    """The documented default site (see the package docstring for the full inventory)."""
    users = _users()
    return SiteSeed(
        cloud_id=CLOUD_ID,
        users=users,
        statuses=(
            StatusSeed(TO_DO, "To Do", "new"),
            StatusSeed(IN_PROGRESS, "In Progress", "indeterminate", "This issue is being actively worked on."),
            StatusSeed(IN_REVIEW, "In Review", "indeterminate"),
            StatusSeed(DONE, "Done", "done"),
            StatusSeed(WONT_DO, "Won't Do", "done"),
        ),
        workflows=_workflows(),
        issue_types=(
            IssueTypeSeed(TASK, "Task", "A small, distinct piece of work.", 10318),
            IssueTypeSeed(INCIDENT, "Incident", "A problem affecting a service.", 10304),
        ),
        fields=_fields(),
        projects=_projects(lead=users[1].account_id),
        priorities=(
            PrioritySeed("1", "Highest", "#d04437", "highest.svg"),
            PrioritySeed("2", "High", "#f15C75", "high.svg"),
            PrioritySeed("3", "Medium", "#f79232", "medium.svg", is_default=True),
            PrioritySeed("4", "Low", "#707070", "low.svg"),
            PrioritySeed("5", "Lowest", "#999999", "lowest.svg"),
        ),
        resolutions=(
            ResolutionSeed("10000", "Done", "Work has been completed on this issue."),
            ResolutionSeed("10001", "Won't Do", "This issue won't be actioned."),
            ResolutionSeed("10002", "Duplicate", "The problem is a duplicate of an existing issue."),
            ResolutionSeed("10003", "Cannot Reproduce", "This issue could not be reproduced."),
        ),
        oauth_clients=(
            OAuthClientSeed(
                OAUTH_CLIENT_ID,
                OAUTH_CLIENT_SECRET,
                scopes=(
                    "read:build:jira-software",
                    "write:build:jira-software",
                    "read:deployment:jira-software",
                    "write:deployment:jira-software",
                ),
            ),
        ),
        connect_apps=(ConnectAppSeed(CONNECT_CLIENT_KEY, CONNECT_SHARED_SECRET),),
        service_desks=_service_desks(),
    )

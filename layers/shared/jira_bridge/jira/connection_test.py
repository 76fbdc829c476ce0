"""``jira-bridge connection test``: can this connector do what the flows need? One line per check.

:func:`run_connection_test` checks, in order: the credentials (``/rest/api/3/myself``), each
configured project (exists and is visible), the project permissions the flows use (via
``/rest/api/3/mypermissions`` per project) and, given a software client, that builds/deployments
credentials work (an OAuth token can be obtained). Each check passes or fails with a one-line fix;
nothing here raises or prints a stack trace.

(Named ``run_...`` so that pytest never mistakes it for a test when a test module imports it.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from jira_bridge.jira.client import JiraClient
from jira_bridge.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraNotFound,
    JiraPermissionError,
    JiraRateLimited,
    JiraUnavailable,
)
from jira_bridge.jira.service_desk import AGENT_GROUP_DC, AGENT_PERMISSION, AGENT_ROLE, SERVICE_DESK_PROJECT_TYPE
from jira_bridge.jira.software import JiraSoftwareClient

__test__ = False  # not a pytest module, whatever its file name suggests

REQUIRED_PERMISSIONS: Final[dict[str, str]] = {
    "BROWSE_PROJECTS": "Browse Projects",
    "CREATE_ISSUES": "Create Issues",
    "EDIT_ISSUES": "Edit Issues",
    "TRANSITION_ISSUES": "Transition Issues",
    "ADD_COMMENTS": "Add Comments",
}
"""Permission keys the incident and CI flows need in every configured project, with Jira's names."""

API_TOKEN_URL: Final = "https://id.atlassian.com/manage-profile/security/api-tokens"  # noqa: S105

MIN_DATACENTER_VERSION: Final = (9, 12)
"""The oldest Jira Data Center the bridge supports: 9.12, the oldest Long Term Support release still
in Atlassian's support window when this was written. It has everything the Data Center dialect uses
(personal access tokens since 8.14, REST v2 search, remote links, the 9.x admin webhook API); 10.0+
also signs webhooks (see docs/datacenter.md)."""
SIGNING_DATACENTER_VERSION: Final = (10, 0)

type Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    def line(self) -> str:
        text = f"{self.status.upper():4} {self.name}: {self.detail}"
        return text + (f"\n     fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class ConnectionReport:
    site: str
    identity: str
    checks: tuple[CheckResult, ...] = field(default_factory=tuple)
    account_id: str | None = None
    """The account the credentials act as (accountId on Cloud, username on Data Center), when they work."""

    @property
    def ok(self) -> bool:
        return all(check.status == "pass" for check in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if check.status == "fail")

    def check(self, name: str) -> CheckResult:
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_text(self) -> str:
        verdict = "all checks passed" if self.ok else f"{len(self.failures)} check(s) failed"
        lines = [f"Jira connection test for {self.site} as {self.identity}: {verdict}"]
        lines.extend(check.line() for check in self.checks)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "site": self.site,
            "identity": self.identity,
            "ok": self.ok,
            "checks": [
                {"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix} for c in self.checks
            ],
        }


def _unreachable_fix(site: str) -> str:
    return f"Check that {site} is the right site URL and that this function can reach it (network egress)"


def _generic_failure(name: str, exc: JiraError, site: str) -> CheckResult:
    if isinstance(exc, JiraRateLimited):
        return CheckResult(
            name, "fail", str(exc), "Jira is rate limiting this account; run the test again later"
        )
    if isinstance(exc, JiraUnavailable):
        return CheckResult(name, "fail", str(exc), _unreachable_fix(site))
    return CheckResult(name, "fail", str(exc), "See Jira's message above")


def _join_names(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def run_connection_test(
    client: JiraClient,
    project_keys: Iterable[str],
    software_client: JiraSoftwareClient | None = None,
) -> ConnectionReport:
    """Check credentials, projects, permissions and (optionally) builds/deployments credentials."""
    site = client.transport.base_url
    identity = client.describe_identity()
    checks: list[CheckResult] = []
    keys = list(dict.fromkeys(k.strip() for k in project_keys if k and k.strip()))

    credentials_ok = False
    account_id: str | None = None
    try:
        me = client.myself()
    except JiraAuthError as exc:
        checks.append(_credentials_refused(client, identity, exc))
    except JiraNotFound:
        checks.append(
            CheckResult(
                "credentials",
                "fail",
                f"{site}{client.api}/myself does not exist",
                "site_url must be the Jira site root, e.g. https://your-org.atlassian.net for Jira Cloud; "
                "for a self-hosted Jira Data Center set kind to datacenter (it has no /rest/api/3)"
                if client.kind == "cloud" else
                "site_url must be the Jira Data Center base URL, context path included (e.g. "
                "https://jira.example.com/jira); for Jira Cloud set kind to cloud",
            )
        )
    except JiraError as exc:
        checks.append(_generic_failure("credentials", exc, site))
    except Exception as exc:  # noqa: BLE001 - a diagnostic must report, never crash
        checks.append(CheckResult("credentials", "fail", f"unexpected {type(exc).__name__}: {exc}", None))
    else:
        credentials_ok = True
        account_id = me.account_id or None
        who = me.email_address or me.account_id
        if identity in {"anonymous", ""}:
            identity = who
        if not me.active:
            checks.append(
                CheckResult(
                    "credentials",
                    "fail",
                    f"authenticated as {me.display_name} ({who}), but the account is deactivated",
                    f"Reactivate {who} in admin.atlassian.com, or use an active account's API token",
                )
            )
        else:
            checks.append(CheckResult("credentials", "pass", f"authenticated as {me.display_name} ({who})"))
        if client.kind == "datacenter":
            checks.append(_version_check(client, site))

    for key in keys:
        if not credentials_ok:
            checks.append(CheckResult(f"project {key}", "skip", "not checked: the credentials failed"))
            checks.append(CheckResult(f"permissions in {key}", "skip", "not checked: the credentials failed"))
            continue
        checks.extend(_project_checks(client, key, identity, site))

    if software_client is not None:
        checks.append(_software_check(software_client, site))

    return ConnectionReport(site=site, identity=identity, checks=tuple(checks), account_id=account_id)


def _credentials_refused(client: JiraClient, identity: str, exc: JiraAuthError) -> CheckResult:
    if client.kind == "datacenter":
        return CheckResult(
            "credentials", "fail", f"Jira Data Center rejected the credentials of {identity}: {exc.details}",
            "Create a personal access token as that user (Profile > Personal Access Tokens, Jira 8.14+) and "
            "put it in the connector secret's personal_access_token; a PAT inherits the user's permissions "
            "and is not subject to the CAPTCHA lockout that repeated basic-auth failures trigger",
        )
    return CheckResult(
        "credentials", "fail", f"Jira rejected the credentials of {identity} ({exc.status})",
        f"Create a new API token for {identity} at {API_TOKEN_URL} and put it in the connector "
        "secret's api_token (the e-mail must be the token owner's)",
    )


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(n) for n in version)


def _version_check(client: JiraClient, site: str) -> CheckResult:
    """Data Center: the version (serverInfo), refused below the oldest supported one."""
    name = "Jira version"
    try:
        info = client.server_info()
    except JiraError as exc:
        return _generic_failure(name, exc, site)
    if info.deployment_type == "Cloud":
        return CheckResult(name, "fail", f"{site} is Jira Cloud, but the connector's kind is datacenter",
                           "Set kind to cloud in the connector secret, with email and api_token")
    if info.version_numbers[:2] < MIN_DATACENTER_VERSION:
        return CheckResult(
            name, "fail",
            f"Jira Data Center {info.version} is older than {_dotted(MIN_DATACENTER_VERSION)}, "
            "the oldest version the bridge supports",
            f"Upgrade Jira to {_dotted(MIN_DATACENTER_VERSION)} (Long Term Support) or later",
        )
    signing = ("signs webhooks (X-Hub-Signature)" if info.version_numbers[:2] >= SIGNING_DATACENTER_VERSION
               else "cannot sign webhooks: set webhook_auth to hint in the connector secret")
    return CheckResult(name, "pass", f"Jira Data Center {info.version}; {signing}")


def _project_checks(client: JiraClient, key: str, identity: str, site: str) -> list[CheckResult]:
    results: list[CheckResult] = []
    project_name = f"project {key}"
    try:
        project = client.get_project(key)
    except JiraNotFound:
        results.append(
            CheckResult(
                project_name,
                "fail",
                f"project {key} does not exist or {identity} cannot see it",
                f"Check the project key in config/connectors.yaml, or grant 'Browse Projects' to {identity} "
                f"in project {key}'s permission scheme",
            )
        )
        results.append(CheckResult(f"permissions in {key}", "skip", f"not checked: project {key} not found"))
        return results
    except JiraError as exc:
        results.append(_generic_failure(project_name, exc, site))
    except Exception as exc:  # noqa: BLE001
        results.append(CheckResult(project_name, "fail", f"unexpected {type(exc).__name__}: {exc}", None))
    else:
        results.append(CheckResult(project_name, "pass", f"{project.key} ({project.name}) exists"))
        if project.project_type_key == SERVICE_DESK_PROJECT_TYPE:
            results.append(_agent_check(client, key, identity, site))

    permissions_name = f"permissions in {key}"
    try:
        granted = client.my_permissions(REQUIRED_PERMISSIONS, project_key=key)
    except JiraError as exc:
        results.append(_generic_failure(permissions_name, exc, site))
    except Exception as exc:  # noqa: BLE001
        results.append(CheckResult(permissions_name, "fail", f"unexpected {type(exc).__name__}: {exc}", None))
    else:
        missing = [REQUIRED_PERMISSIONS.get(k, p.name) for k, p in granted.items() if not p.have]
        if missing:
            results.append(
                CheckResult(
                    permissions_name,
                    "fail",
                    f"{identity} lacks {_join_names(missing)} in {key}",
                    f"Grant {_join_names(missing)} to {identity} in project {key}'s permission scheme "
                    f"(Project settings > Permissions)",
                )
            )
        else:
            names = ", ".join(REQUIRED_PERMISSIONS.values())
            results.append(CheckResult(permissions_name, "pass", f"{identity} has {names}"))
    return results


def _agent_check(client: JiraClient, key: str, identity: str, site: str) -> CheckResult:
    """JSM projects: without an agent seat comments and transitions fail with bare permission errors."""
    name = f"service desk agent in {key}"
    try:
        granted = client.my_permissions([AGENT_PERMISSION], project_key=key)
    except JiraError as exc:
        return _generic_failure(name, exc, site)
    except Exception as exc:  # noqa: BLE001
        return CheckResult(name, "fail", f"unexpected {type(exc).__name__}: {exc}", None)
    if granted[AGENT_PERMISSION].have:
        return CheckResult(name, "pass", f"{identity} is an agent of the {key} service project")
    return CheckResult(
        name,
        "fail",
        f"{key} is a Jira Service Management project and {identity} is not one of its agents "
        f"(no 'Service Project Agent' permission): comments, internal notes and transitions will be refused",
        _agent_fix(client, key, identity),
    )


def _agent_fix(client: JiraClient, key: str, identity: str) -> str:
    """The role in the project, and the agent licence in this site kind's own terms."""
    if client.kind == "datacenter":
        return (f"Add {identity} to the '{AGENT_ROLE}' role of {key} (Project settings > Users and roles) and to "
                f"the '{AGENT_GROUP_DC}' group, which gives the Jira Service Management agent licence "
                "(Administration > User management)")
    return (f"Add {identity} to the '{AGENT_ROLE}' role of {key} (Project settings > People > Add people, role "
            f"{AGENT_ROLE}); the account needs Jira Service Management product access as an agent "
            "(admin.atlassian.com > Products, or the group that grants it)")


def _software_check(software_client: JiraSoftwareClient, site: str) -> CheckResult:
    name = "builds/deployments credentials"
    try:
        detail = software_client.check_auth()
    except (JiraAuthError, JiraPermissionError) as exc:
        return CheckResult(
            name,
            "fail",
            f"the OAuth client credentials were refused: {exc.details}",
            "Check oauth_client_id and oauth_client_secret in the connector secret; create them in Jira "
            "under Settings > Apps > OAuth credentials with the Builds and Deployments permissions",
        )
    except JiraError as exc:
        gateway = software_client.transport.base_url
        if isinstance(exc, JiraUnavailable):
            return CheckResult(
                name, "fail", str(exc), f"Check that {gateway} and {site} are reachable from here"
            )
        return _generic_failure(name, exc, site)
    except Exception as exc:  # noqa: BLE001
        return CheckResult(name, "fail", f"unexpected {type(exc).__name__}: {exc}", None)
    return CheckResult(name, "pass", detail)

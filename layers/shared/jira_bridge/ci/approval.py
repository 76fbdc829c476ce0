"""The Jira approval gate: may a deployment of this issue go ahead? approved / rejected / waiting.

Two ways to decide, so a pipeline step can poll one endpoint either way:

* **Criteria** (``config/ci.yaml`` ``approval``, per project with a default): the issue is
  *rejected* when it meets the rejected criteria, *approved* when it meets the approved ones, and
  *waiting* otherwise. Criteria are a status in a set and/or fields equal to values (every listed
  condition must hold; field ids such as ``resolution`` or ``customfield_10050``, or field names).
* **Jira's deployment gating** (a deployment gated by a change-management process in Jira): given
  the deployment's pipeline, environment and sequence number, the answer is Jira's gating status:
  ``allowed`` -> approved, ``prevented`` -> rejected, ``awaiting`` -> waiting, ``invalid`` ->
  rejected (fail closed: Jira cannot tell whether the deployment may proceed).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from jira_bridge.ci.config import ApprovalConfig, Criteria, FieldValue
from jira_bridge.ci.environments import environment_id
from jira_bridge.ci.sites import CiSite
from jira_bridge.ci.text import stable_id

type Decision = Literal["approved", "rejected", "waiting"]

ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,254}-[1-9][0-9]{0,17}$")
GATING_DECISIONS: dict[str, Decision] = {
    "allowed": "approved", "prevented": "rejected", "awaiting": "waiting", "invalid": "rejected",
}
_CUSTOM_FIELD = re.compile(r"^customfield_\d+$")
_VALUE_KEYS = ("value", "name", "key", "displayName", "emailAddress", "accountId", "id")


class NotAnIssueKey(ValueError):
    pass


class ProjectNotAllowed(PermissionError):
    """The caller is limited to other Jira projects (answer 403; Jira is not asked)."""


@dataclass(frozen=True)
class GatedDeployment:
    """A deployment as the caller reported it: pipeline id, environment name (or id) and number."""

    pipeline: str
    environment: str
    sequence: int
    environment_is_id: bool = False

    @property
    def environment_id(self) -> str:
        return stable_id(self.environment) if self.environment_is_id else environment_id(self.environment)


@dataclass(frozen=True)
class ApprovalAnswer:
    issue_key: str
    decision: Decision
    reason: str
    source: Literal["criteria", "gating-status"]
    status: str | None = None
    gating_status: str | None = None
    details: tuple[dict[str, Any], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "issueKey": self.issue_key, "decision": self.decision, "reason": self.reason, "source": self.source,
        }
        if self.status is not None:
            answer["status"] = self.status
        if self.gating_status is not None:
            answer["gatingStatus"] = self.gating_status
            answer["details"] = list(self.details)
        return answer


def _values(value: Any) -> list[str]:
    """How a Jira field value can be named: itself, or an option's value/name, a user's name/e-mail..."""
    if value is None:
        return []
    if isinstance(value, list):
        return [v for item in value for v in _values(item)]
    if isinstance(value, dict):
        return [str(value[k]) for k in _VALUE_KEYS if value.get(k) is not None]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def _matches(actual: Any, expected: FieldValue | list[FieldValue]) -> bool:
    if isinstance(expected, list):
        return any(_matches(actual, e) for e in expected)
    if expected is None:
        return actual in (None, "", [])
    wanted = str(expected).lower() if not isinstance(expected, bool) else ("true" if expected else "false")
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        try:
            return any(float(v) == float(expected) for v in _values(actual))
        except ValueError:
            return False
    return any(v.casefold() == wanted.casefold() for v in _values(actual))


class ApprovalGate:
    def __init__(
        self,
        config: ApprovalConfig,
        site_for_project: Callable[[str], CiSite],
        clock: Callable[[], float] = time.monotonic,
        field_names_ttl: float = 600.0,
    ) -> None:
        self.config = config
        self._site_for_project = site_for_project
        self._clock = clock
        self._ttl = field_names_ttl
        self._field_ids: dict[str, tuple[float, set[str], dict[str, str]]] = {}

    def decide(
        self, issue_key: str, gated: GatedDeployment | None = None, allowed_projects: Iterable[str] | None = None
    ) -> ApprovalAnswer:
        """The decision for ``issue_key``; ``allowed_projects`` (the caller's ``projects``; ``None``:
        any) limits which issues may be asked about (:class:`ProjectNotAllowed` before Jira is asked),
        and which issues Jira's gating details may name."""
        key = issue_key.strip().upper()
        if not ISSUE_KEY.match(key):
            raise NotAnIssueKey(f"{issue_key!r} is not an issue key (e.g. OPS-12)")
        project = key.rsplit("-", 1)[0]
        allowed = {p.strip().upper() for p in allowed_projects} if allowed_projects is not None else None
        if allowed is not None and project not in allowed:
            scope = f"projects {', '.join(sorted(allowed))}" if allowed else "no project"
            raise ProjectNotAllowed(f"this caller may ask about issues of {scope} only, not {key}")
        site = self._site_for_project(project)
        if gated is not None:
            answer = self._gating(key, site, gated)
            if allowed is not None:
                details = tuple(d for d in answer.details if _in_projects(d.get("issueKey"), allowed))
                answer = replace(answer, details=details)
            return answer
        return self._criteria(key, site)

    # ----- Jira's deployment gating ---------------------------------------------------------------

    def _gating(self, key: str, site: CiSite, gated: GatedDeployment) -> ApprovalAnswer:
        if site.remote_links:  # no deployment gating on this Jira: the configured criteria decide
            answer = self._criteria(key, site)
            return replace(answer, reason=f"Jira Data Center has no deployment gating; {answer.reason}")
        if site.software is None:
            return ApprovalAnswer(
                key, "rejected", f"connector {site.connector!r} has no builds/deployments credentials to read "
                "Jira's gating status", "gating-status",
            )
        status = site.software.get_deployment_gating_status(
            stable_id(gated.pipeline), gated.environment_id, gated.sequence
        )
        gating = status.gating_status or "invalid"
        decision = GATING_DECISIONS.get(gating, "rejected")
        return ApprovalAnswer(
            key, decision, f"Jira's gating status for deployment {gated.sequence} is {gating}", "gating-status",
            gating_status=gating, details=status.details,
        )

    # ----- configured criteria --------------------------------------------------------------------

    def _criteria(self, key: str, site: CiSite) -> ApprovalAnswer:
        project = key.rsplit("-", 1)[0]
        rule = self.config.rule_for(project)
        if rule is None or (rule.approved.empty and rule.rejected.empty):
            issue = site.platform.get_issue(key, fields=["status"])
            status = _status(issue)
            return ApprovalAnswer(
                key, "waiting", f"no approval criteria are configured for project {project} (config/ci.yaml)",
                "criteria", status=status,
            )
        ids = self._field_ids_for(site, rule.approved, rule.rejected)
        wanted = sorted({"status", *ids.values()})
        issue = site.platform.get_issue(key, fields=wanted)
        fields: Mapping[str, Any] = issue.get("fields") or {}
        status = _status(issue)
        for decision, criteria in (("rejected", rule.rejected), ("approved", rule.approved)):
            reason = self._meets(criteria, fields, status, ids)
            if reason is not None:
                return ApprovalAnswer(key, decision, reason, "criteria", status=status)  # type: ignore[arg-type]
        return ApprovalAnswer(
            key, "waiting", f"status {status!r} meets neither the approved nor the rejected criteria", "criteria",
            status=status,
        )

    @staticmethod
    def _meets(criteria: Criteria, fields: Mapping[str, Any], status: str | None, ids: dict[str, str]) -> str | None:
        """Why the issue meets ``criteria`` (``None``: it does not)."""
        if criteria.empty:
            return None
        reasons = []
        if criteria.status:
            if status is None or status.casefold() not in {s.casefold() for s in criteria.status}:
                return None
            reasons.append(f"status is {status}")
        for name, expected in criteria.fields.items():
            if not _matches(fields.get(ids[name]), expected):
                return None
            reasons.append(f"{name} is {expected}")
        return ", ".join(reasons)

    def _field_ids_for(self, site: CiSite, *criteria: Criteria) -> dict[str, str]:
        """Criteria field keys -> field ids: ``customfield_N`` as is; other ids and names via the site's
        field list (fetched once, cached a while)."""
        names = {name for c in criteria for name in c.fields}
        ids = {name: name for name in names if _CUSTOM_FIELD.match(name)}
        if names - set(ids):
            known_ids, by_name = self._fields(site)
            for name in names - set(ids):
                ids[name] = name if name in known_ids else by_name.get(name.casefold(), name)
        return ids

    def _fields(self, site: CiSite) -> tuple[set[str], dict[str, str]]:
        cached = self._field_ids.get(site.connector)
        if cached is None or self._clock() - cached[0] >= self._ttl:
            fields = site.platform.fields()
            cached = (self._clock(), {f.id for f in fields}, {f.name.casefold(): f.id for f in fields})
            self._field_ids[site.connector] = cached
        return cached[1], cached[2]


def _in_projects(issue_key: Any, allowed: set[str]) -> bool:
    """Whether a gating detail may be shown (one naming no issue may)."""
    return not isinstance(issue_key, str) or issue_key.upper().rsplit("-", 1)[0] in allowed


def _status(issue: Mapping[str, Any]) -> str | None:
    status = (issue.get("fields") or {}).get("status")
    return str(status["name"]) if isinstance(status, dict) and status.get("name") else None

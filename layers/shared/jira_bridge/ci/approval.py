"""The Jira approval gate: may a deployment of this issue go ahead? approved / rejected / waiting.

Two ways to decide, so a pipeline step can poll one endpoint either way:

* **Criteria** (``config/ci.yaml`` ``approval``, per project with a default): the issue is
  *rejected* when it meets the rejected criteria, *approved* when it meets the approved ones, and
  *waiting* otherwise. Criteria are a status in a set and/or fields equal to values (every listed
  condition must hold; field ids such as ``resolution`` or ``customfield_10050``, or field names).
* **The caller's own criteria** (``POST /ci/approval/{key}``, as Harness approval steps give them per
  step): approval and/or rejection criteria, each a JQL query (met when ``key = KEY AND (jql)``
  finds the issue) or field conditions combined with ``all`` (AND) or ``any`` (OR). They replace
  the configured criteria for that request; rejected wins, then approved, else waiting.
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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jira_bridge.ci.config import ApprovalConfig, Criteria, FieldValue
from jira_bridge.ci.environments import environment_id
from jira_bridge.ci.errors import CriteriaInvalid, GatingQueryInvalid, NotAnIssueKey, NotFoundInJira, ProjectNotAllowed
from jira_bridge.ci.sites import CiSite
from jira_bridge.ci.text import stable_id
from jira_bridge.jira.errors import JiraNotFound, JiraRequestRefused

type Decision = Literal["approved", "rejected", "waiting"]

ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,254}-[1-9][0-9]{0,17}$")
GATING_DECISIONS: dict[str, Decision] = {
    "allowed": "approved", "prevented": "rejected", "awaiting": "waiting", "invalid": "rejected",
}
_CUSTOM_FIELD = re.compile(r"^customfield_\d+$")
_VALUE_KEYS = ("value", "name", "key", "displayName", "emailAddress", "accountId", "id")


class Condition(BaseModel):
    """A field (id such as ``customfield_10050`` or name; ``status`` is the status name) and what it
    must be: ``equals`` one value, or any of a list (``null``: empty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1, max_length=255)
    equals: FieldValue | list[FieldValue]


class RequestCriteria(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    jql: str | None = Field(default=None, min_length=1, max_length=2000)
    match: Literal["all", "any"] = "all"
    conditions: list[Condition] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _one_kind(self) -> RequestCriteria:
        if (self.jql is None) == (not self.conditions):
            raise ValueError("give either jql or conditions")
        return self


class ApprovalRequest(BaseModel):
    """``POST /ci/approval/{key}`` body: approval and/or rejection criteria for this request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    approved: RequestCriteria | None = None
    rejected: RequestCriteria | None = None

    @model_validator(mode="after")
    def _some(self) -> ApprovalRequest:
        if self.approved is None and self.rejected is None:
            raise ValueError("give approved and/or rejected criteria")
        return self


def parse_approval_request(body: bytes) -> ApprovalRequest:
    """The criteria in a body, or :class:`CriteriaInvalid` saying what is wrong."""
    from jira_bridge.ci.sources.generic import describe

    try:
        return ApprovalRequest.model_validate_json(body)
    except ValidationError as error:
        raise CriteriaInvalid(f"not approval criteria: {describe(error)}") from None


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


DEPLOYMENT_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits within Jira's int64 (not str.isdigit: '²')


def gated_from_query(query: Mapping[str, str]) -> GatedDeployment | None:
    """``?pipeline=&environment=&deployment=`` (or ``environmentId=``): Jira's gating status for that
    deployment; no such parameter: the configured criteria (``None``)."""
    wanted = {"pipeline", "deployment"} | ({"environmentId"} if "environmentId" in query else {"environment"})
    if not wanted & set(query):
        return None
    missing = sorted(name for name in wanted if not query.get(name))  # absent or empty
    if missing or not DEPLOYMENT_NUMBER.fullmatch(str(query["deployment"])):
        raise GatingQueryInvalid(
            "Jira's gating status needs pipeline, environment (or environmentId) and deployment (a number)"
            + (f"; missing {', '.join(missing)}" if missing else "")
        )
    id_given = "environmentId" in query
    environment = query["environmentId"] if id_given else query["environment"]
    return GatedDeployment(query["pipeline"], environment, int(query["deployment"]),
                           environment_is_id=id_given)


@dataclass(frozen=True)
class ApprovalAnswer:
    issue_key: str
    decision: Decision
    reason: str
    source: Literal["criteria", "gating-status", "request"]
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
        self, issue_key: str, gated: GatedDeployment | None = None, allowed_projects: Iterable[str] | None = None,
        request: ApprovalRequest | None = None,
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
        try:
            if request is not None:
                return self._requested(key, site, request)
            if gated is None:
                return self._criteria(key, site)
            answer = self._gating(key, site, gated)
        except JiraNotFound:
            what = "deployment" if gated else "issue"
            raise NotFoundInJira(f"Jira has no such {what} (or the bridge's account may not see it)") from None
        if allowed is not None:
            details = tuple(d for d in answer.details if _in_projects(d.get("issueKey"), allowed))
            answer = replace(answer, details=details)
        return answer

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

    # ----- the caller's criteria ------------------------------------------------------------------

    def _requested(self, key: str, site: CiSite, request: ApprovalRequest) -> ApprovalAnswer:
        given = [(d, c) for d, c in (("rejected", request.rejected), ("approved", request.approved)) if c]
        names = {c.field for _, criteria in given for c in criteria.conditions} - {"status"}
        ids = self._field_ids_for(site, Criteria(fields=dict.fromkeys(names))) if names else {}
        issue = site.platform.get_issue(key, fields=sorted({"status", *ids.values()}))
        fields: Mapping[str, Any] = issue.get("fields") or {}
        status = _status(issue)
        for decision, criteria in given:
            reason = self._jql_meets(key, site, criteria.jql) if criteria.jql else _conditions_meet(
                criteria, fields, status, ids)
            if reason is not None:
                return ApprovalAnswer(key, decision, reason, "request", status=status)  # type: ignore[arg-type]
        return ApprovalAnswer(
            key, "waiting", "the issue meets neither the approved nor the rejected criteria of the request",
            "request", status=status,
        )

    @staticmethod
    def _jql_meets(key: str, site: CiSite, jql: str) -> str | None:
        try:
            page = site.platform.search_jql(f"key = {key} AND ({jql})", fields=["status"], max_results=1)
        except JiraRequestRefused as refused:
            if refused.status == 400:
                raise CriteriaInvalid(f"Jira refused the JQL {jql!r}: {refused.details}") from None
            raise
        return f"JQL matches: {jql}" if page.issues else None

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


def _conditions_meet(
    criteria: RequestCriteria, fields: Mapping[str, Any], status: str | None, ids: Mapping[str, str]
) -> str | None:
    """Why the conditions are met, combined with ``all``/``any`` (``None``: they are not)."""
    met = []
    for condition in criteria.conditions:
        actual: Any = status if condition.field == "status" else fields.get(ids.get(condition.field, condition.field))
        if _matches(actual, condition.equals):
            met.append(f"{condition.field} is {condition.equals}")
    if (criteria.match == "all" and len(met) == len(criteria.conditions)) or (criteria.match == "any" and met):
        return (" and " if criteria.match == "all" else ", ").join(met)
    return None


def _in_projects(issue_key: Any, allowed: set[str]) -> bool:
    """Whether a gating detail may be shown (one naming no issue may)."""
    return not isinstance(issue_key, str) or issue_key.upper().rsplit("-", 1)[0] in allowed


def _status(issue: Mapping[str, Any]) -> str | None:
    status = (issue.get("fields") or {}).get("status")
    return str(status["name"]) if isinstance(status, dict) and status.get("name") else None

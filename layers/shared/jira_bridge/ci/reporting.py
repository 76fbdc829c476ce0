"""CI runs reported to Jira Software as builds and deployments, in as few requests as Jira allows.

For each run: map its state (and drop it when ``STATE`` asks for another), find its issue keys (no
key: nothing to send), route the keys to their connectors (a project-level connector wins, so one
run may go to two sites), check the site the caller named, and build the entity. Then entities for
the same connector and kind go out together, up to Jira's 100 per request: several notifications
arriving together cost one request. Two updates of the same build in one batch collapse into the
newer one (Jira would ignore the older anyway).

Jira's 202 is read entity by entity: accepted; unknown issue keys only (not a failure: the keys may
belong to another site or be typos in a commit message); rejected with Jira's messages. A request
over Jira's size limit (413, "Submit fewer builds in each payload") is split in halves, each sent on
its own, down to single entities: only an entity too large by itself is rejected, with its size. A
request Jira refuses otherwise (4xx) marks its entities; a transient failure (5xx, 429, network) propagates so the
whole delivery is retried: resending what was already accepted is harmless because the update
sequence numbers are the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from jira_bridge.ci.environments import ENVIRONMENT_TYPES, environment_type, is_environment_type
from jira_bridge.ci.issue_keys import find_issue_keys
from jira_bridge.ci.model import CiRun
from jira_bridge.ci.payloads import (
    MAX_BUILD_KEYS,
    MAX_DEPLOYMENT_KEYS,
    build_data,
    deployment_data,
    entity_identity,
)
from jira_bridge.ci.remote_links import is_newer, remote_link
from jira_bridge.ci.sites import SiteDirectory
from jira_bridge.ci.states import JiraState, Kind, jira_state, unknown_state_warning
from jira_bridge.jira.errors import (
    JiraAuthError,
    JiraNotFound,
    JiraPayloadTooLarge,
    JiraPermissionError,
    JiraRequestRefused,
)

if TYPE_CHECKING:
    from jira_bridge.jira.client import JiraClient
    from jira_bridge.jira.software import SubmissionResult

MAX_ENTITIES_PER_REQUEST = 100
"""Jira's per-request limit for both bulk endpoints (``builds`` / ``deployments`` maxItems)."""

type Status = Literal["reported", "unknown_keys", "skipped", "rejected", "error"]
# How much a status says, to combine a run's results across connectors (reported on one site and
# unknown on another is reported) and to pick the answer for a whole delivery.
_SEVERITY: dict[str, int] = {"skipped": 0, "unknown_keys": 1, "reported": 2, "rejected": 3, "error": 4}


@dataclass(frozen=True)
class RunResult:
    """What happened to one notification (one run)."""

    index: int
    kind: Kind
    status: Status
    reason: str
    state: str | None = None
    issue_keys: tuple[str, ...] = ()
    unknown_issue_keys: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    connectors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    """Words the bridge did not recognise (an unknown CI state...): reported anyway, but likely a typo."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "kind": self.kind, "status": self.status, "reason": self.reason,
            "state": self.state, "issueKeys": list(self.issue_keys), "unknownIssueKeys": list(self.unknown_issue_keys),
            "messages": list(self.messages), "connectors": list(self.connectors), "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(
            index=int(data["index"]), kind=data["kind"], status=data["status"], reason=str(data["reason"]),
            state=data.get("state"), issue_keys=tuple(data.get("issueKeys") or ()),
            unknown_issue_keys=tuple(data.get("unknownIssueKeys") or ()),
            messages=tuple(data.get("messages") or ()), connectors=tuple(data.get("connectors") or ()),
            warnings=tuple(data.get("warnings") or ()),
        )


@dataclass(frozen=True)
class Request:
    """One bulk request sent to Jira, summarised (``answer`` is Jira's 202 body, for debug logs)."""

    connector: str
    kind: Kind
    entities: int
    accepted: int
    rejected: int
    unknown_issue_keys: int
    debug: bool = False
    answer: dict[str, Any] = field(default_factory=dict, compare=False)
    too_large: bool = False
    """Jira answered 413: the entities were sent again in smaller requests."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "connector": self.connector, "kind": self.kind, "entities": self.entities, "accepted": self.accepted,
            "rejected": self.rejected, "unknownIssueKeys": self.unknown_issue_keys, "debug": self.debug,
            "answer": self.answer if self.debug else {}, "tooLarge": self.too_large,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Request:
        return cls(
            connector=str(data["connector"]), kind=data["kind"], entities=int(data["entities"]),
            accepted=int(data["accepted"]), rejected=int(data["rejected"]),
            unknown_issue_keys=int(data["unknownIssueKeys"]), debug=bool(data.get("debug")),
            answer=dict(data.get("answer") or {}), too_large=bool(data.get("tooLarge")),
        )


@dataclass(frozen=True)
class ReportOutcome:
    results: tuple[RunResult, ...]
    requests: tuple[Request, ...] = ()

    def count(self, status: Status, kind: Kind | None = None) -> int:
        return sum(1 for r in self.results if r.status == status and (kind is None or r.kind == kind))

    @property
    def worst(self) -> Status:
        return max((r.status for r in self.results), key=lambda s: _SEVERITY[s], default="skipped")

    def as_dict(self) -> dict[str, Any]:
        return {"results": [r.as_dict() for r in self.results], "requests": [r.as_dict() for r in self.requests]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportOutcome:
        return cls(
            results=tuple(RunResult.from_dict(r) for r in data.get("results") or []),
            requests=tuple(Request.from_dict(r) for r in data.get("requests") or []),
        )


@dataclass
class _Planned:
    """One entity for one connector; ``runs`` are the notifications it stands for."""

    connector: str
    kind: Kind
    entity: dict[str, Any]
    keys: list[str]
    runs: list[int]
    debug: bool
    product: str


@dataclass
class _Partial:
    """A run's results per connector, combined once every request is answered."""

    kind: Kind
    state: JiraState
    keys: list[str]
    parts: list[tuple[Status, str, list[str], list[str]]] = field(default_factory=list)
    connectors: list[str] = field(default_factory=list)


def issue_keys_for(run: CiRun, allowed_projects: Iterable[str] | None = None) -> list[str]:
    """The run's issue keys: explicitly named first, then PR title, commits, branch; capped per entity."""
    limit = MAX_DEPLOYMENT_KEYS if run.kind == "deployment" else MAX_BUILD_KEYS
    texts = run.texts.in_order()
    allowed = {p.upper() for p in allowed_projects} if allowed_projects is not None else None
    if allowed is None:
        return find_issue_keys(texts, project=run.project, limit=limit, explicit=run.issue_keys)
    keys = find_issue_keys(texts, project=run.project, limit=10_000, explicit=run.issue_keys)
    return [k for k in keys if k.rsplit("-", 1)[0] in allowed][:limit]


def run_warnings(run: CiRun) -> tuple[str, ...]:
    """What in the run the bridge did not recognise and reported as best it could."""
    warnings = [unknown_state_warning(run.state), unknown_state_warning(run.report_only_state, "STATE")]
    environment = run.environment
    if environment is not None and environment.type and not is_environment_type(environment.type):
        guessed = environment_type(environment.name)
        warnings.append(
            f"ENVIRONMENT_TYPE {environment.type!r} is not one of Jira's types ({', '.join(ENVIRONMENT_TYPES)}): "
            f"{guessed!r} was guessed from the environment name"
        )
    return tuple(w for w in warnings if w)


class CiReporter:
    def __init__(self, sites: SiteDirectory) -> None:
        self.sites = sites

    def report(self, runs: Sequence[CiRun], allowed_projects: Iterable[str] | None = None) -> ReportOutcome:
        allowed = list(allowed_projects) if allowed_projects is not None else None
        partials: dict[int, _Partial] = {}
        final: dict[int, RunResult] = {}
        plans: dict[tuple[str, Kind, tuple[Any, ...]], _Planned] = {}
        for index, run in enumerate(runs):
            kind = run.kind
            state = jira_state(run.state, kind)
            if run.report_only_state and jira_state(run.report_only_state, kind) != state:
                wanted = jira_state(run.report_only_state, kind)
                final[index] = RunResult(index, kind, "skipped", f"state is {state}, STATE asks for {wanted}", state)
                continue
            keys = issue_keys_for(run, allowed)
            if not keys:
                where = f" of project {run.project}" if run.project else ""
                final[index] = RunResult(
                    index, kind, "skipped", f"no issue keys{where} in the PR title, commit messages or branch", state
                )
                continue
            partial = partials[index] = _Partial(kind, state, keys)
            for connector, group in self._by_connector(run, keys).items():
                partial.connectors.append(connector)
                problem, entity = self._entity(run, state, connector, group)
                if entity is None:
                    status: Status = "error" if problem.startswith("connector") else "rejected"
                    partial.parts.append((status, problem, [], [problem]))
                    continue
                identity = (connector, kind, entity_identity(kind, entity))
                current = plans.get(identity)
                if current is None:
                    plans[identity] = _Planned(connector, kind, entity, group, [index], run.debug, run.product)
                else:
                    current.runs.append(index)
                    current.debug = current.debug or run.debug
                    if entity["updateSequenceNumber"] > current.entity["updateSequenceNumber"]:
                        current.entity, current.keys = entity, group
        requests = self._submit(list(plans.values()), partials)
        for index, partial in partials.items():
            final[index] = _combine(index, partial)
        results = tuple(replace(final[i], warnings=run_warnings(runs[i])) for i in sorted(final))
        return ReportOutcome(results=results, requests=tuple(requests))

    # ----- planning -----------------------------------------------------------------------------

    def _by_connector(self, run: CiRun, keys: list[str]) -> dict[str, list[str]]:
        if run.project:
            return {self.sites.connector_for(run.project): keys}
        groups: dict[str, list[str]] = {}
        for key in keys:
            groups.setdefault(self.sites.connector_for(key.rsplit("-", 1)[0]), []).append(key)
        return groups

    def _entity(
        self, run: CiRun, state: JiraState, connector: str, keys: list[str]
    ) -> tuple[str, dict[str, Any] | None]:
        site = self.sites.site(connector)
        problem = site.mismatch(run.site)
        if problem:
            return problem, None
        if site.software is None and not site.remote_links:
            return (
                f"connector {connector!r} has no builds/deployments credentials: add oauth_client_id and "
                "oauth_client_secret (or connect_app_key and connect_shared_secret) to its secret"
            ), None
        entity = deployment_data(run, state, keys) if run.kind == "deployment" else build_data(run, state, keys)
        return "", entity

    # ----- sending ------------------------------------------------------------------------------

    def _submit(self, plans: list[_Planned], partials: dict[int, _Partial]) -> list[Request]:
        batches: dict[tuple[str, Kind], list[_Planned]] = {}
        for plan in plans:
            batches.setdefault((plan.connector, plan.kind), []).append(plan)
        requests: list[Request] = []
        for (connector, kind), planned in batches.items():
            site = self.sites.site(connector)
            if site.remote_links:
                requests.append(_link(site.platform, connector, kind, planned, partials))
                continue
            for start in range(0, len(planned), MAX_ENTITIES_PER_REQUEST):
                self._send(connector, kind, planned[start : start + MAX_ENTITIES_PER_REQUEST], partials, requests)
        return requests

    def _send(
        self, connector: str, kind: Kind, chunk: list[_Planned], partials: dict[int, _Partial], requests: list[Request]
    ) -> None:
        """One bulk request; on 413 (over Jira's size limit) each half is sent on its own, down to
        single entities: only an entity too large by itself is reported as such."""
        client = self.sites.site(connector).software
        assert client is not None  # checked when planning
        products = {p.product for p in chunk}
        payload: dict[str, Any] = {f"{kind}s": [p.entity for p in chunk]}
        payload["providerMetadata"] = {"product": products.pop() if len(products) == 1 else "Jira Bridge"}
        try:
            answer = client.submit_builds(payload) if kind == "build" else client.submit_deployments(payload)
        except JiraPayloadTooLarge as refusal:
            requests.append(Request(connector, kind, len(chunk), 0, 0, 0, too_large=True))
            if len(chunk) > 1:
                middle = len(chunk) // 2
                self._send(connector, kind, chunk[:middle], partials, requests)
                self._send(connector, kind, chunk[middle:], partials, requests)
                return
            size = len(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
            reason = (
                f"the {kind} alone is over Jira's request size limit ({size} bytes as JSON): shorten its "
                f"texts or issue keys (Jira: {refusal.details})"
            )
            for index in chunk[0].runs:
                partials[index].parts.append(("rejected", reason, [], [refusal.details]))
            return
        except JiraRequestRefused as refusal:
            status: Status = "error" if isinstance(refusal, JiraAuthError | JiraPermissionError) else "rejected"
            for plan in chunk:
                for index in plan.runs:
                    partials[index].parts.append((status, str(refusal), [], [refusal.details]))
            return
        requests.append(_read_answer(connector, kind, chunk, answer, partials))


def _link(platform: JiraClient, connector: str, kind: Kind, planned: list[_Planned],
          partials: dict[int, _Partial]) -> Request:
    """Each entity as a remote link on each of its issues (one read and at most one write per issue)."""
    accepted = rejected = unknown_total = 0
    for plan in planned:
        body = remote_link(kind, plan.entity, plan.product)
        unknown: list[str] = []
        failures: list[str] = []
        for key in plan.keys:
            try:
                existing = platform.remote_links(key, body["globalId"])
                if is_newer(body, existing[0] if existing else None):
                    platform.upsert_remote_link(key, body)
            except JiraNotFound:
                unknown.append(key)
            except (JiraAuthError, JiraPermissionError) as refusal:
                failures.append(str(refusal))
        known = len(plan.keys) - len(unknown)
        unknown_total += len(unknown)
        if failures:
            rejected += 1
            outcome: tuple[Status, str, list[str], list[str]] = ("error", failures[0], unknown, failures)
        elif not known:
            outcome = ("unknown_keys", f"Jira knows none of the issue keys on {connector!r}", unknown, [])
        else:
            accepted += 1
            outcome = ("reported", f"{kind} linked on {connector!r} (remote issue link)", unknown, [])
        for index in plan.runs:
            partials[index].parts.append(outcome)
    return Request(connector=connector, kind=kind, entities=len(planned), accepted=accepted, rejected=rejected,
                   unknown_issue_keys=unknown_total, debug=any(p.debug for p in planned))


def _read_answer(
    connector: str, kind: Kind, chunk: list[_Planned], answer: SubmissionResult, partials: dict[int, _Partial]
) -> Request:
    unknown = set(answer.unknown_issue_keys)
    for association in answer.unknown_associations:
        unknown.update(str(v) for v in association.get("values") or [])
    rejected = {_rejected_identity(kind, r.key): r.messages for r in answer.rejected}
    for plan in chunk:
        identity = tuple(str(v) for v in entity_identity(kind, plan.entity))
        plan_unknown = [k for k in plan.keys if k in unknown]
        known = [k for k in plan.keys if k not in unknown]
        if identity in rejected and known:
            messages = list(rejected[identity]) or ["Jira gave no reason"]
            outcome: tuple[Status, str, list[str], list[str]] = (
                "rejected", f"Jira rejected the {kind}: " + "; ".join(messages), plan_unknown, messages
            )
        elif not known:
            outcome = ("unknown_keys", f"Jira knows none of the issue keys on {connector!r}", plan_unknown, [])
        else:
            outcome = ("reported", f"{kind} reported to {connector!r}", plan_unknown, [])
        for index in plan.runs:
            partials[index].parts.append(outcome)
    return Request(
        connector=connector, kind=kind, entities=len(chunk), accepted=len(answer.accepted),
        rejected=len(answer.rejected), unknown_issue_keys=len(answer.unknown_issue_keys),
        debug=any(p.debug for p in chunk), answer=answer.raw,
    )


def _rejected_identity(kind: Kind, key: dict[str, Any]) -> tuple[str, ...]:
    names = ("pipelineId", "buildNumber") if kind == "build" else (
        "pipelineId", "environmentId", "deploymentSequenceNumber")
    return tuple(str(key.get(name)) for name in names)


def _combine(index: int, partial: _Partial) -> RunResult:
    worst = max(partial.parts, key=lambda part: _SEVERITY[part[0]])
    unknown = [k for part in partial.parts for k in part[2]]
    messages = [m for part in partial.parts for m in part[3]]
    return RunResult(
        index=index, kind=partial.kind, status=worst[0], reason=worst[1], state=partial.state,
        issue_keys=tuple(partial.keys), unknown_issue_keys=tuple(dict.fromkeys(unknown)),
        messages=tuple(dict.fromkeys(messages)), connectors=tuple(partial.connectors),
    )

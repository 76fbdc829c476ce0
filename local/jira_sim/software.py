"""Jira Software builds and deployments: bulk submission, ordering, storage per issue.

Rules from the software OpenAPI spec (its operation and field descriptions):

* A malformed *request* answers 400 with ``ErrorMessages``; an invalid *entity* is listed under
  ``rejectedBuilds`` / ``rejectedDeployments`` and the rest of the request still succeeds (202).
* Identity is (pipelineId, buildNumber) for builds and (pipeline.id, environment.id,
  deploymentSequenceNumber) for deployments. Stored data is replaced only by a strictly higher
  ``updateSequenceNumber``; an out-of-order update is *accepted* but ignored.
* Issue keys that do not exist on the site come back in ``unknownIssueKeys`` (deployment
  ``associations`` in ``unknownAssociations``); an entity associated only with unknown keys is rejected.

A request body longer than ``max_request_bytes`` (when set) answers 413 with the spec's
``ErrorMessages`` and its wording ("Data is too large. Submit fewer builds in each payload."), before
the body is parsed, as a size limit in front of the service would. Atlassian documents the 413 and
its meaning but publishes no byte figure for these endpoints, so the limit is a setting
(``JiraSimulator(software_max_request_bytes=...)``), off by default.

With a contracts directory, requests are validated against the spec's request schema; without one
only the required properties are checked.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from jsonschema import Draft4Validator

from jira_sim.contracts import Contracts
from jira_sim.errors import SoftwareError
from jira_sim.render import jira_timestamp
from jira_sim.state import SiteState

Kind = Literal["builds", "deployments"]
GatingStatus = Literal["allowed", "prevented", "awaiting", "invalid"]
MAX_ENTITIES = 100
_ISSUE_KEY = re.compile(r"^\w{1,255}-\d{1,255}$")
_REQUIRED = {
    "builds": (
        "pipelineId",
        "buildNumber",
        "updateSequenceNumber",
        "displayName",
        "url",
        "state",
        "lastUpdated",
        "issueKeys",
    ),
    "deployments": (
        "deploymentSequenceNumber",
        "updateSequenceNumber",
        "displayName",
        "url",
        "description",
        "lastUpdated",
        "state",
        "pipeline",
        "environment",
    ),
}


@dataclass
class StoredEntity:
    """One build or deployment as last accepted, with the site's issues it is linked to."""

    data: dict[str, Any]
    issue_keys: list[str]
    received: datetime
    gating_status: GatingStatus = "allowed"
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def update_sequence_number(self) -> int:
        return int(self.data["updateSequenceNumber"])


@dataclass
class _Submission:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    unknown_issue_keys: list[str] = field(default_factory=list)
    unknown_associations: list[dict[str, Any]] = field(default_factory=list)


class SoftwareStore:
    def __init__(self, state: SiteState, contracts: Contracts | None, max_request_bytes: int | None = None) -> None:
        self.state = state
        self.contracts = contracts
        self.max_request_bytes = max_request_bytes
        self._lock = threading.Lock()
        self.builds: dict[tuple[str, int], StoredEntity] = {}
        self.deployments: dict[tuple[str, str, int], StoredEntity] = {}

    # -- submission --

    def check_size(self, kind: Kind, body_bytes: int) -> None:
        """Jira's 413 for a request body over the size limit."""
        if self.max_request_bytes is not None and body_bytes > self.max_request_bytes:
            raise SoftwareError(413, f"Data is too large. Submit fewer {kind} in each payload.")

    def submit_builds(self, body: Any) -> dict[str, Any]:
        submission = _Submission()
        for build in self._entities("builds", body):
            key = {"pipelineId": build["pipelineId"], "buildNumber": build["buildNumber"]}
            errors = self._entity_errors("builds", build)
            known, unknown = self._split_issue_keys([] if errors else build["issueKeys"])
            submission.unknown_issue_keys += [k for k in unknown if k not in submission.unknown_issue_keys]
            if not errors and not known:
                errors = [f"The build is only associated with unknown issue keys: {', '.join(unknown)}."]
            if errors:
                submission.rejected.append({"key": key, "errors": [{"message": m} for m in errors]})
                continue
            self._store(self.builds, (build["pipelineId"], build["buildNumber"]), build, known, body)
            submission.accepted.append(key)
        return {
            "acceptedBuilds": submission.accepted,
            "rejectedBuilds": submission.rejected,
            "unknownIssueKeys": submission.unknown_issue_keys,
        }

    def submit_deployments(self, body: Any) -> dict[str, Any]:
        submission = _Submission()
        for deployment in self._entities("deployments", body):
            key = _deployment_key(deployment)
            errors = self._entity_errors("deployments", deployment)
            known = [] if errors else self._deployment_issue_keys(deployment, submission)
            if not errors and not known:
                errors = ["The deployment is only associated with unknown issue keys or associations."]
            if errors:
                submission.rejected.append({"key": key, "errors": [{"message": m} for m in errors]})
                continue
            identity = (key["pipelineId"], key["environmentId"], key["deploymentSequenceNumber"])
            self._store(self.deployments, identity, deployment, known, body)
            submission.accepted.append(key)
        response: dict[str, Any] = {
            "acceptedDeployments": submission.accepted,
            "rejectedDeployments": submission.rejected,
            "unknownIssueKeys": submission.unknown_issue_keys,
        }
        if submission.unknown_associations:
            response["unknownAssociations"] = submission.unknown_associations
        return response

    def _entities(self, kind: Kind, body: Any) -> list[dict[str, Any]]:
        """The entities of a well-formed request, or the 400 a malformed one gets."""
        problems = self._envelope_problems(kind, body)
        if problems:
            raise SoftwareError(400, *problems)
        entities: list[dict[str, Any]] = body[kind]
        identity_ok = all(_has_identity(kind, e) for e in entities)
        if not identity_ok:
            raise SoftwareError(400, f"Every entry of '{kind}' needs its identifying properties to be valid.")
        return entities

    def _envelope_problems(self, kind: Kind, body: Any) -> list[str]:
        if not isinstance(body, dict):
            # (The deployments request schema does not say "type": "object"; Jira still wants one.)
            return [f"request: {json.dumps(body)[:100]} is not of type 'object'"]
        if self.contracts is not None:
            validator = self.contracts.software_envelope_validator(kind)
            return [_describe(e) for e in validator.iter_errors(body)]
        if not isinstance(body, dict) or not isinstance(body.get(kind), list) or not body[kind]:
            return [f"'{kind}' is required and must be a non-empty array."]
        if len(body[kind]) > MAX_ENTITIES:
            return [f"'{kind}' may contain at most {MAX_ENTITIES} entries."]
        if not all(isinstance(e, dict) for e in body[kind]):
            return [f"Every entry of '{kind}' must be an object."]
        return []

    def _entity_errors(self, kind: Kind, entity: dict[str, Any]) -> list[str]:
        if self.contracts is not None:
            validator: Draft4Validator = self.contracts.software_entity_validator(kind)
            return [_describe(e) for e in validator.iter_errors(entity)]
        return [f"'{name}' is required." for name in _REQUIRED[kind] if name not in entity]

    def _split_issue_keys(self, keys: list[str]) -> tuple[list[str], list[str]]:
        known: list[str] = []
        unknown: list[str] = []
        for key in keys:
            issue = self.state.find(key) if _ISSUE_KEY.match(key) else None
            (known if issue else unknown).append(issue.key if issue else key)
        return known, unknown

    def _deployment_issue_keys(self, deployment: dict[str, Any], submission: _Submission) -> list[str]:
        known, unknown = self._split_issue_keys(deployment.get("issueKeys") or [])
        submission.unknown_issue_keys += [k for k in unknown if k not in submission.unknown_issue_keys]
        for association in deployment.get("associations") or []:
            kind = association.get("associationType")
            values = association.get("values") or []
            if kind in ("issueKeys", "issueIdOrKeys"):
                found, missing = self._split_issue_keys([str(v) for v in values])
                known += found
            elif kind == "serviceIdOrKeys":
                missing = [str(v) for v in values]  # the simulated site has no services
            else:
                continue
            if missing:
                submission.unknown_associations.append({"associationType": kind, "values": missing})
        return list(dict.fromkeys(known))

    def _store(
        self,
        table: dict[Any, StoredEntity],
        identity: Any,
        data: dict[str, Any],
        issue_keys: list[str],
        body: dict[str, Any],
    ) -> None:
        with self._lock:
            current = table.get(identity)
            if current is not None and current.update_sequence_number >= int(data["updateSequenceNumber"]):
                return  # out of order: accepted, not applied
            table[identity] = StoredEntity(
                copy.deepcopy(data),
                issue_keys,
                self.state.now(),
                properties=dict(body.get("properties") or {}),
            )

    # -- reading and deleting --

    def build(self, pipeline_id: str, build_number: int) -> StoredEntity | None:
        with self._lock:
            return self.builds.get((pipeline_id, build_number))

    def deployment(self, pipeline_id: str, environment_id: str, sequence: int) -> StoredEntity | None:
        with self._lock:
            return self.deployments.get((pipeline_id, environment_id, sequence))

    def delete_build(self, pipeline_id: str, build_number: int) -> None:
        with self._lock:
            self.builds.pop((pipeline_id, build_number), None)

    def delete_deployment(self, pipeline_id: str, environment_id: str, sequence: int) -> None:
        with self._lock:
            self.deployments.pop((pipeline_id, environment_id, sequence), None)

    def set_gating_status(self, pipeline_id: str, environment_id: str, sequence: int, status: GatingStatus) -> None:
        """Let a test decide what ``gating-status`` answers for a stored deployment."""
        with self._lock:
            self.deployments[(pipeline_id, environment_id, sequence)].gating_status = status

    def gating_status(
        self, base_url: str, pipeline_id: str, environment_id: str, sequence: int
    ) -> dict[str, Any] | None:
        stored = self.deployment(pipeline_id, environment_id, sequence)
        if stored is None:
            return None
        return {
            "deploymentSequenceNumber": sequence,
            "pipelineId": pipeline_id,
            "environmentId": environment_id,
            "updatedTimestamp": stored.received.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "gatingStatus": stored.gating_status,
            "details": [
                {"type": "issue", "issueKey": key, "issueLink": f"{base_url}/browse/{key}"} for key in stored.issue_keys
            ]
            if stored.gating_status != "allowed"
            else [],
        }

    def for_issue(self, issue_key: str) -> dict[str, list[dict[str, Any]]]:
        """Builds and deployments linked to an issue, newest first: what Jira's development panel shows."""
        with self._lock:
            builds = [e for e in self.builds.values() if issue_key in e.issue_keys]
            deployments = [e for e in self.deployments.values() if issue_key in e.issue_keys]
        newest_first = sorted(builds, key=lambda e: e.received, reverse=True)
        return {
            "builds": [e.data for e in newest_first],
            "deployments": [e.data for e in sorted(deployments, key=lambda e: e.received, reverse=True)],
        }

    def clear(self) -> None:
        with self._lock:
            self.builds.clear()
            self.deployments.clear()

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {
                "builds": [
                    {
                        "key": list(k),
                        "state": e.data.get("state"),
                        "issueKeys": e.issue_keys,
                        "updateSequenceNumber": e.update_sequence_number,
                        "received": jira_timestamp(e.received),
                    }
                    for k, e in self.builds.items()
                ],
                "deployments": [
                    {
                        "key": list(k),
                        "state": e.data.get("state"),
                        "issueKeys": e.issue_keys,
                        "updateSequenceNumber": e.update_sequence_number,
                        "received": jira_timestamp(e.received),
                    }
                    for k, e in self.deployments.items()
                ],
            }


def _has_identity(kind: Kind, entity: dict[str, Any]) -> bool:
    if kind == "builds":
        return isinstance(entity.get("pipelineId"), str) and _is_int(entity.get("buildNumber"))
    pipeline, environment = entity.get("pipeline"), entity.get("environment")
    return (
        isinstance(pipeline, dict)
        and isinstance(pipeline.get("id"), str)
        and isinstance(environment, dict)
        and isinstance(environment.get("id"), str)
        and _is_int(entity.get("deploymentSequenceNumber"))
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _deployment_key(deployment: dict[str, Any]) -> dict[str, Any]:
    return {
        "pipelineId": deployment["pipeline"]["id"],
        "environmentId": deployment["environment"]["id"],
        "deploymentSequenceNumber": deployment["deploymentSequenceNumber"],
    }


def _describe(error: Any) -> str:
    location = "/".join(str(p) for p in error.absolute_path)
    return f"{location or 'request'}: {error.message}"

"""In-memory stand-ins for the CI flow's Jira side: a builds/deployments client that answers like
Jira's 202 (known / unknown keys, rejections on demand) and records every request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jira_bridge.ci.sites import CiSite, SiteDirectory
from jira_bridge.jira.errors import JiraError, JiraPayloadTooLarge
from jira_bridge.jira.software import GatingStatus, SubmissionResult


@dataclass
class FakeSoftware:
    known_keys: set[str]
    mode: str = "oauth"
    cloud: str = "cloud-1"
    reject: set[tuple[str, ...]] = field(default_factory=set)
    fail_with: JiraError | None = None
    gating: dict[tuple[str, str, int], str] = field(default_factory=dict)
    gating_details: tuple[dict[str, Any], ...] = ()
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    max_bytes: int | None = None
    """Answer 413 to a request whose JSON body is longer than this, as Jira does over its size limit."""

    def cloud_id(self) -> str:
        return self.cloud

    def submit_builds(self, payload: dict[str, Any]) -> SubmissionResult:
        return self._submit("builds", payload)

    def submit_deployments(self, payload: dict[str, Any]) -> SubmissionResult:
        return self._submit("deployments", payload)

    def _submit(self, kind: str, payload: dict[str, Any]) -> SubmissionResult:
        self.requests.append((kind, payload))
        if self.fail_with is not None:
            raise self.fail_with
        if self.max_bytes is not None and len(json.dumps(payload).encode()) > self.max_bytes:
            raise JiraPayloadTooLarge(method="POST", path=f"/rest/{kind}/0.1/bulk", status=413,
                                      error_messages=[f"Data is too large. Submit fewer {kind} in each payload."])
        accepted, rejected, unknown = [], [], []
        for entity in payload[kind]:
            if kind == "builds":
                key = {"pipelineId": entity["pipelineId"], "buildNumber": entity["buildNumber"]}
                keys = entity["issueKeys"]
            else:
                key = {"pipelineId": entity["pipeline"]["id"], "environmentId": entity["environment"]["id"],
                       "deploymentSequenceNumber": entity["deploymentSequenceNumber"]}
                keys = entity["associations"][0]["values"]
            unknown += [k for k in keys if k not in self.known_keys and k not in unknown]
            identity = tuple(str(v) for v in key.values())
            if identity in self.reject:
                rejected.append({"key": key, "errors": [{"message": "displayName is too long"}]})
            elif not any(k in self.known_keys for k in keys):
                rejected.append({"key": key, "errors": [{"message": "only unknown issue keys"}]})
            else:
                accepted.append(key)
        noun = "Builds" if kind == "builds" else "Deployments"
        return SubmissionResult.from_json(kind, {f"accepted{noun}": accepted, f"rejected{noun}": rejected,
                                                 "unknownIssueKeys": unknown})  # type: ignore[arg-type]

    def get_deployment_gating_status(self, pipeline: str, environment: str, sequence: int) -> GatingStatus:
        self.requests.append(("gating", {"pipeline": pipeline, "environment": environment, "sequence": sequence}))
        return GatingStatus(pipeline, environment, sequence, self.gating.get((pipeline, environment, sequence)),
                            None, self.gating_details)


@dataclass
class FakePlatform:
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    field_list: list[Any] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def get_issue(self, key: str, fields: list[str] | None = None) -> dict[str, Any]:
        from jira_bridge.jira.errors import JiraNotFound

        self.calls.append(f"get_issue {key} {','.join(fields or [])}")
        if key not in self.issues:
            raise JiraNotFound(method="GET", path=f"/rest/api/3/issue/{key}", status=404)
        return {"key": key, "fields": self.issues[key]}

    def fields(self) -> list[Any]:
        self.calls.append("fields")
        return self.field_list


def site(name: str, software: FakeSoftware | None, url: str = "https://myorg.atlassian.net",
         platform: FakePlatform | None = None) -> CiSite:
    return CiSite(connector=name, site_url=url, platform=platform or FakePlatform(),  # type: ignore[arg-type]
                  software=software)  # type: ignore[arg-type]


def directory(sites: dict[str, CiSite], projects: dict[str, str] | None = None) -> SiteDirectory:
    routing = projects or {}
    return SiteDirectory(lambda project: routing.get(project, "default"), lambda name: sites[name])

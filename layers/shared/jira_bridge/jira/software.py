"""The Jira Software builds and deployments API: where CI results are posted to Jira.

Two endpoint forms, one per kind of credentials (see shared/contracts/jira-builds-deployments-notes.md):

* OAuth client credentials (on-premises tools, 2LO):
  ``POST {api_gateway_url}/jira/{builds|deployments}/0.1/cloud/{cloudId}/bulk`` with
  ``Authorization: Bearer <token>``; the cloud id comes from the connector or from the site's
  ``/_edge/tenant_info`` (once per site and container, or per deployment with a shared cache).
* Connect app: ``POST {site}/rest/{builds|deployments}/0.1/bulk`` with ``Authorization: JWT <jwt>``.

Bulk submissions are idempotent (Jira keeps the entity with the highest ``updateSequenceNumber``),
so they are retried like a PUT. A 202 can still reject entities or name unknown issue keys:
:class:`SubmissionResult` says which.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from jira_bridge.jira.auth import (
    ATLASSIAN_API,
    DEFAULT_CLOUD_IDS,
    CloudIdResolver,
    ConnectJwt,
    OAuthClientCredentials,
)
from jira_bridge.jira.errors import JiraError
from jira_bridge.jira.transport import JiraTransport

if TYPE_CHECKING:
    from jira_bridge.incidents.metadata_store import MetadataStore

type Kind = Literal["builds", "deployments"]
type Mode = Literal["oauth", "connect"]

MAX_ENTITIES_PER_REQUEST = 100


@dataclass(frozen=True)
class RejectedEntity:
    key: dict[str, Any]
    """``{pipelineId, buildNumber}`` or ``{pipelineId, environmentId, deploymentSequenceNumber}``."""
    messages: tuple[str, ...]


@dataclass(frozen=True)
class SubmissionResult:
    """The 202 answer of a bulk submission, parsed."""

    kind: Kind
    accepted: tuple[dict[str, Any], ...]
    rejected: tuple[RejectedEntity, ...]
    unknown_issue_keys: tuple[str, ...]
    unknown_associations: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def fully_accepted(self) -> bool:
        return not self.rejected and not self.unknown_issue_keys and not self.unknown_associations

    def describe(self) -> str:
        """One line for logs and CLI output."""
        parts = [f"{len(self.accepted)} {self.kind} accepted"]
        for rejection in self.rejected:
            key = "/".join(str(v) for v in rejection.key.values())
            parts.append(f"rejected {key}: " + "; ".join(rejection.messages or ("no reason given",)))
        if self.unknown_issue_keys:
            parts.append("unknown issue keys: " + ", ".join(self.unknown_issue_keys))
        if self.unknown_associations:
            parts.append(f"{len(self.unknown_associations)} unknown association(s)")
        return "; ".join(parts)

    @classmethod
    def from_json(cls, kind: Kind, body: Any) -> SubmissionResult:
        data = body if isinstance(body, dict) else {}
        noun = "Builds" if kind == "builds" else "Deployments"
        rejected = []
        for item in data.get(f"rejected{noun}") or []:
            if not isinstance(item, dict):
                continue
            messages = tuple(
                str(error.get("message", "")) for error in item.get("errors") or [] if isinstance(error, dict)
            )
            key = item.get("key")
            rejected.append(RejectedEntity(key=key if isinstance(key, dict) else {}, messages=messages))
        return cls(
            kind=kind,
            accepted=tuple(k for k in data.get(f"accepted{noun}") or [] if isinstance(k, dict)),
            rejected=tuple(rejected),
            unknown_issue_keys=tuple(str(k) for k in data.get("unknownIssueKeys") or []),
            unknown_associations=tuple(
                a for a in data.get("unknownAssociations") or [] if isinstance(a, dict)
            ),
            raw=data,
        )


@dataclass(frozen=True)
class GatingStatus:
    pipeline_id: str
    environment_id: str
    deployment_sequence_number: int
    gating_status: str | None
    """``allowed``, ``prevented``, ``awaiting`` or ``invalid``."""
    updated_timestamp: str | None
    details: tuple[dict[str, Any], ...]


def _seg(value: str | int) -> str:
    return quote(str(value), safe="")


class JiraSoftwareClient:
    """Builds and deployments for one site. Build it with :meth:`with_oauth` or :meth:`with_connect`."""

    def __init__(
        self,
        transport: JiraTransport,
        *,
        mode: Mode,
        cloud_id: str | Callable[[], str] | None = None,
    ) -> None:
        if mode == "oauth" and cloud_id is None:
            raise ValueError("the OAuth gateway form needs a cloud id (or a way to resolve it)")
        self.transport = transport
        self.mode: Mode = mode
        self._cloud_id = cloud_id

    @classmethod
    def with_oauth(
        cls,
        site_url: str,
        client_id: str,
        client_secret: str,
        *,
        cloud_id: str | None = None,
        api_gateway_url: str = ATLASSIAN_API,
        auth_url: str = ATLASSIAN_API,
        like: JiraTransport | None = None,
        cloud_ids: CloudIdResolver | None = None,
        shared: MetadataStore | None = None,
    ) -> JiraSoftwareClient:
        """OAuth client credentials against ``api_gateway_url`` (token from ``auth_url``).

        ``like`` is a transport whose policy, counter, clock and sleep the new transports share
        (typically the platform client's). Without ``cloud_id`` it is looked up on first use, in
        ``shared`` (the stack-wide cache) first when given.
        """
        gateway = like.derive(api_gateway_url, None) if like else JiraTransport(api_gateway_url)
        credentials = OAuthClientCredentials(
            client_id, client_secret, auth_url=auth_url, transport=gateway.derive(auth_url, None)
        )
        gateway.auth = credentials
        if cloud_id:
            return cls(gateway, mode="oauth", cloud_id=cloud_id)
        site = gateway.derive(site_url, None)
        resolver = cloud_ids or DEFAULT_CLOUD_IDS
        return cls(gateway, mode="oauth", cloud_id=lambda: resolver.resolve(site, shared))

    @classmethod
    def with_connect(
        cls,
        site_url: str,
        app_key: str,
        shared_secret: str,
        *,
        like: JiraTransport | None = None,
    ) -> JiraSoftwareClient:
        """A Connect app posting to the site itself with a per-request JWT."""
        auth = ConnectJwt(app_key, shared_secret)
        transport = like.derive(site_url, auth) if like else JiraTransport(site_url, auth)
        return cls(transport, mode="connect")

    # endpoints -----------------------------------------------------------------------------

    def cloud_id(self) -> str:
        if self._cloud_id is None:
            raise JiraError("no cloud id: the Connect form does not use one", retryable=False)
        if callable(self._cloud_id):
            resolved = self._cloud_id()
            self._cloud_id = resolved
        return self._cloud_id

    def _prefix(self, kind: Kind) -> tuple[str, str]:
        """(path prefix, template prefix) for ``kind`` in this client's endpoint form."""
        if self.mode == "oauth":
            return f"/jira/{kind}/0.1/cloud/{_seg(self.cloud_id())}", f"/jira/{kind}/0.1/cloud/{{cloudId}}"
        return f"/rest/{kind}/0.1", f"/rest/{kind}/0.1"

    # operations ----------------------------------------------------------------------------

    def submit_builds(self, payload: Mapping[str, Any]) -> SubmissionResult:
        """``submitBuilds``: POST .../builds/0.1/bulk (``{"builds": [...], "providerMetadata"?, ...}``)."""
        return self._submit("builds", payload)

    def submit_deployments(self, payload: Mapping[str, Any]) -> SubmissionResult:
        """``submitDeployments``: POST .../deployments/0.1/bulk (``{"deployments": [...], ...}``)."""
        return self._submit("deployments", payload)

    def _submit(self, kind: Kind, payload: Mapping[str, Any]) -> SubmissionResult:
        entities = payload.get(kind)
        if not isinstance(entities, list) or not 1 <= len(entities) <= MAX_ENTITIES_PER_REQUEST:
            raise ValueError(
                f"a {kind} submission needs 1..{MAX_ENTITIES_PER_REQUEST} entries under {kind!r}"
            )
        path, template = self._prefix(kind)
        response = self.transport.post(
            path + "/bulk", json=dict(payload), template=template + "/bulk", idempotent=True
        )
        return SubmissionResult.from_json(kind, response.body)

    def get_build(self, pipeline_id: str, build_number: int) -> dict[str, Any]:
        """``getBuildByKey``: the stored build (submission is asynchronous; this confirms it landed)."""
        path, template = self._prefix("builds")
        response = self.transport.get(
            f"{path}/pipelines/{_seg(pipeline_id)}/builds/{int(build_number)}",
            template=f"{template}/pipelines/{{pipelineId}}/builds/{{buildNumber}}",
        )
        return response.body if isinstance(response.body, dict) else {}

    def get_deployment(
        self, pipeline_id: str, environment_id: str, deployment_sequence_number: int
    ) -> dict[str, Any]:
        """``getDeploymentByKey``: the stored deployment."""
        path, template = self._prefix("deployments")
        response = self.transport.get(
            f"{path}/pipelines/{_seg(pipeline_id)}/environments/{_seg(environment_id)}"
            f"/deployments/{int(deployment_sequence_number)}",
            template=f"{template}/pipelines/{{pipelineId}}/environments/{{environmentId}}"
            "/deployments/{deploymentSequenceNumber}",
        )
        return response.body if isinstance(response.body, dict) else {}

    def get_deployment_gating_status(
        self, pipeline_id: str, environment_id: str, deployment_sequence_number: int
    ) -> GatingStatus:
        """``getDeploymentGatingStatusByKey``: whether a change request lets this deployment proceed."""
        path, template = self._prefix("deployments")
        response = self.transport.get(
            f"{path}/pipelines/{_seg(pipeline_id)}/environments/{_seg(environment_id)}"
            f"/deployments/{int(deployment_sequence_number)}/gating-status",
            template=f"{template}/pipelines/{{pipelineId}}/environments/{{environmentId}}"
            "/deployments/{deploymentSequenceNumber}/gating-status",
        )
        body = response.body if isinstance(response.body, dict) else {}
        return GatingStatus(
            pipeline_id=str(body.get("pipelineId", pipeline_id)),
            environment_id=str(body.get("environmentId", environment_id)),
            deployment_sequence_number=int(body.get("deploymentSequenceNumber", deployment_sequence_number)),
            gating_status=str(body["gatingStatus"]) if body.get("gatingStatus") is not None else None,
            updated_timestamp=str(body["updatedTimestamp"]) if body.get("updatedTimestamp") else None,
            details=tuple(d for d in body.get("details") or [] if isinstance(d, dict)),
        )

    def check_auth(self) -> str:
        """Prove the credentials work as far as possible without submitting anything.

        OAuth: obtain a token and resolve the cloud id. Connect: sign a JWT (the site verifies it
        only on a real call). Returns a one-line description; raises :class:`JiraError`.
        """
        auth = self.transport.auth
        if isinstance(auth, OAuthClientCredentials):
            auth.access_token()
            cloud_id = self.cloud_id()
            return (
                f"OAuth token obtained for client {auth.client_id} from {auth.auth_url}; cloud id {cloud_id}"
            )
        if isinstance(auth, ConnectJwt):
            path, _ = self._prefix("builds")
            auth.token("POST", path + "/bulk")
            return f"Connect JWT signed for app {auth.app_key} (Jira verifies it on the first submission)"
        return f"no credentials check for {type(auth).__name__}"

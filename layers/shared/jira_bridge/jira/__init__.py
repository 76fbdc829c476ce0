"""Everything that talks to Jira.

* :mod:`.transport` - ``JiraTransport``: the HTTP call, timeouts, retry/idempotency rules, counts.
* :mod:`.client` - ``JiraClient``: REST v3 (issues, transitions, comments, properties, search, users).
* :mod:`.software` - ``JiraSoftwareClient``: builds and deployments.
* :mod:`.auth` - Basic, OAuth client credentials, Connect JWT, cloud id lookup.
* :mod:`.adf` - Atlassian Document Format in and out.
* :mod:`.errors` - typed errors with ``retryable``.
* :mod:`.connection_test` - ``run_connection_test``: credentials/project/permission checks with fixes.

Importing this package does no I/O, and imports a submodule only when one of its names is first
used (``from jira_bridge.jira import JiraClient`` does not load the builds/deployments client).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jira_bridge.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from jira_bridge.jira.auth import (
        ATLASSIAN_API,
        BasicAuth,
        CloudIdResolver,
        ConnectJwt,
        OAuthClientCredentials,
        resolve_cloud_id,
    )
    from jira_bridge.jira.client import JiraClient
    from jira_bridge.jira.errors import (
        JiraAuthError,
        JiraConflict,
        JiraError,
        JiraNotFound,
        JiraPermissionError,
        JiraRateLimited,
        JiraRequestRefused,
        JiraUnavailable,
    )
    from jira_bridge.jira.software import JiraSoftwareClient, SubmissionResult
    from jira_bridge.jira.transport import (
        JiraResponse,
        JiraTransport,
        RequestCounter,
        RetryPolicy,
        lambda_remaining_time,
    )

_WHERE: dict[str, str] = {
    "ATLASSIAN_API": "jira_bridge.jira.auth",
    "BasicAuth": "jira_bridge.jira.auth",
    "CloudIdResolver": "jira_bridge.jira.auth",
    "ConnectJwt": "jira_bridge.jira.auth",
    "JiraAuthError": "jira_bridge.jira.errors",
    "JiraClient": "jira_bridge.jira.client",
    "JiraConflict": "jira_bridge.jira.errors",
    "JiraError": "jira_bridge.jira.errors",
    "JiraNotFound": "jira_bridge.jira.errors",
    "JiraPermissionError": "jira_bridge.jira.errors",
    "JiraRateLimited": "jira_bridge.jira.errors",
    "JiraRequestRefused": "jira_bridge.jira.errors",
    "JiraResponse": "jira_bridge.jira.transport",
    "JiraSoftwareClient": "jira_bridge.jira.software",
    "JiraTransport": "jira_bridge.jira.transport",
    "JiraUnavailable": "jira_bridge.jira.errors",
    "OAuthClientCredentials": "jira_bridge.jira.auth",
    "RequestCounter": "jira_bridge.jira.transport",
    "RetryPolicy": "jira_bridge.jira.transport",
    "SubmissionResult": "jira_bridge.jira.software",
    "lambda_remaining_time": "jira_bridge.jira.transport",
    "resolve_cloud_id": "jira_bridge.jira.auth",
}


__getattr__ = lazy_exports(__name__, _WHERE)


__all__ = [
    "ATLASSIAN_API",
    "BasicAuth",
    "CloudIdResolver",
    "ConnectJwt",
    "JiraAuthError",
    "JiraClient",
    "JiraConflict",
    "JiraError",
    "JiraNotFound",
    "JiraPermissionError",
    "JiraRateLimited",
    "JiraRequestRefused",
    "JiraResponse",
    "JiraSoftwareClient",
    "JiraTransport",
    "JiraUnavailable",
    "OAuthClientCredentials",
    "RequestCounter",
    "RetryPolicy",
    "SubmissionResult",
    "lambda_remaining_time",
    "resolve_cloud_id",
]

"""A connector as CI reporting sees it: its site, its builds/deployments client and its cloud id.

Built by :func:`jira_bridge.adapters.ci_site` once per connector (and rebuilt when its secret
changes), so the OAuth token is fetched once per container, not per notification. The cloud id costs
no request at all when the connector secret has it (`jira-bridge connector test` records it); otherwise
one container of the stack looks it up and the others read it from the shared metadata cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from jira_bridge.ci.model import Site

if TYPE_CHECKING:
    from jira_bridge.incidents.metadata_store import MetadataStore
    from jira_bridge.jira.client import JiraClient
    from jira_bridge.jira.software import JiraSoftwareClient


@dataclass
class CiSite:
    connector: str
    site_url: str
    platform: JiraClient
    """REST v3 as the connector's account (the approval gate reads issues with it)."""
    software: JiraSoftwareClient | None
    """``None`` when the connector has neither OAuth client credentials nor a Connect app."""
    configured_cloud_id: str | None = None
    remote_links: bool = False
    """The site has no builds/deployments API (Jira Data Center): runs become remote issue links,
    and approval gating is decided by the configured field criteria."""
    shared: MetadataStore | None = None
    """The stack-wide metadata cache, where a looked-up cloud id is kept for every container."""

    def cloud_id(self) -> str:
        """The connector's ``cloud_id``, else the site's: this container's, the shared cache's, or looked up."""
        if self.configured_cloud_id:
            return self.configured_cloud_id
        if self.software is not None and self.software.mode == "oauth":
            return self.software.cloud_id()
        from jira_bridge.jira.auth import DEFAULT_CLOUD_IDS

        return DEFAULT_CLOUD_IDS.resolve(self.platform.transport, self.shared)

    def mismatch(self, wanted: Site | None) -> str | None:
        """Why this site is not the one the caller asked for (``None``: it is, or they did not say)."""
        if wanted is None:
            return None
        if wanted.cloud_id:
            actual = self.cloud_id()
            if wanted.cloud_id.strip().lower() != actual.lower():
                return (
                    f"CLOUD_ID {wanted.cloud_id} is not the site of connector {self.connector!r} "
                    f"({self.site_url}, cloud id {actual})"
                )
            return None
        if wanted.instance and not instance_matches(wanted.instance, self.site_url):
            return f"INSTANCE {wanted.instance!r} is not the site of connector {self.connector!r} ({self.site_url})"
        return None


def instance_matches(instance: str, site_url: str) -> bool:
    """``myorg`` names https://myorg.atlassian.net; a full host name or URL names that host."""
    host = (urlsplit(site_url).hostname or "").lower()
    wanted = instance.strip().lower()
    if "://" in wanted:
        wanted = urlsplit(wanted).hostname or ""
    return wanted in {host, host.removesuffix(".atlassian.net")} and bool(wanted)


@dataclass(frozen=True)
class SiteDirectory:
    """Which connector acts for a project (a project-level one wins), and its :class:`CiSite`."""

    connector_for: Callable[[str], str]
    site: Callable[[str], CiSite]

"""Credentials for Jira calls: Basic (REST v3), OAuth client credentials and Connect JWT (builds/deployments).

Each class implements :class:`jira_bridge.jira.transport.Authenticator`. None of them puts a secret
in its ``repr``, in a log line or in an error message.

* :class:`BasicAuth` - e-mail + API token, for the platform REST API v3 on the site.
* :class:`OAuthClientCredentials` - "OAuth credentials for on-premises tools" (2LO): a token from
  ``POST {auth_url}/oauth/token``, cached until shortly before ``expires_in`` and refreshed once when
  the API answers 401. Used with the api.atlassian.com gateway for builds and deployments.
* :class:`ConnectJwt` - a Connect app's HS256 JWT with Atlassian's query-string hash (``qsh``).

:func:`resolve_cloud_id` reads a site's cloud id from ``GET {site}/_edge/tenant_info`` once per site
(per container; given a stack-wide cache, once per deployment).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlsplit

from jira_bridge.jira.errors import JiraError
from jira_bridge.jira.transport import JiraTransport

if TYPE_CHECKING:  # the stack-wide cache's interface only: the Jira client imports nothing of incidents/
    from jira_bridge.incidents.metadata_store import MetadataStore

ATLASSIAN_API = "https://api.atlassian.com"
"""Default for both the OAuth token server (``auth_url``) and the builds/deployments gateway."""

OAUTH_TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path, not a secret
OAUTH_AUDIENCE = "api.atlassian.com"
DEFAULT_EXPIRES_IN = 3600


class BasicAuth:
    """E-mail address + Atlassian API token (``Authorization: Basic base64(email:token)``)."""

    def __init__(self, email: str, api_token: str) -> None:
        if not email or not api_token:
            raise ValueError("BasicAuth needs an e-mail address and an API token")
        self.email = email
        encoded = base64.b64encode(f"{email}:{api_token}".encode()).decode("ascii")
        self._header = f"Basic {encoded}"

    def auth_headers(self, method: str, path: str, params: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        return {"Authorization": self._header}

    def refresh_after_unauthorized(self) -> bool:
        return False

    def describe(self) -> str:
        return self.email

    def __repr__(self) -> str:
        return f"BasicAuth(email={self.email!r}, api_token=***)"


class BasicLogin(BasicAuth):
    """Jira Data Center username + password (``Authorization: Basic base64(username:password)``).

    A personal access token is not accepted as the password (Data Center takes PATs only as a
    bearer token), and repeated failures trip the CAPTCHA lockout, after which REST basic auth fails
    even with the right password: prefer :class:`BearerToken`.
    """

    def __repr__(self) -> str:
        return f"BasicLogin(username={self.email!r}, password=***)"


class BearerToken:
    """A Jira Data Center personal access token (8.14+): ``Authorization: Bearer <token>``.

    ``label`` says whose token it is in messages (the connector's username, if it names one).
    """

    def __init__(self, token: str, label: str = "personal access token") -> None:
        if not token:
            raise ValueError("BearerToken needs a token")
        self._header = f"Bearer {token}"
        self.label = label

    def auth_headers(self, method: str, path: str, params: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        return {"Authorization": self._header}

    def refresh_after_unauthorized(self) -> bool:
        return False

    def describe(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"BearerToken(label={self.label!r}, token=***)"


class OAuthClientCredentials:
    """OAuth 2.0 client-credentials token for the api.atlassian.com gateway.

    ``POST {auth_url}/oauth/token`` with JSON ``{"audience": "api.atlassian.com", "grant_type":
    "client_credentials", "client_id", "client_secret"}``. The token is cached until
    ``refresh_margin`` seconds before ``expires_in`` (3600 when the answer omits it) and dropped when
    the API answers 401, after which the transport retries the call once with a fresh token.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        auth_url: str = ATLASSIAN_API,
        token_path: str = OAUTH_TOKEN_PATH,
        audience: str = OAUTH_AUDIENCE,
        transport: JiraTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_margin: float = 60.0,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("OAuth client credentials need a client id and a client secret")
        self.client_id = client_id
        self._client_secret = client_secret
        self.auth_url = auth_url.rstrip("/")
        self.token_path = token_path
        self.audience = audience
        self.transport = transport or JiraTransport(self.auth_url)
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._valid_until = 0.0

    def access_token(self) -> str:
        """The cached token, or a new one from the token endpoint."""
        with self._lock:
            if self._token is not None and self._clock() < self._valid_until:
                return self._token
            self._token = None
            token, expires_in = self._fetch()
            margin = min(self._refresh_margin, expires_in / 2)
            self._token = token
            self._valid_until = self._clock() + expires_in - margin
            return token

    def _fetch(self) -> tuple[str, float]:
        response = self.transport.request(
            "POST",
            self.token_path,
            json={
                "audience": self.audience,
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            },
            template=self.token_path,
            idempotent=True,  # a second token request just yields another token
            authenticate=False,
        )
        body = response.body
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise JiraError(
                f"the OAuth token endpoint {self.auth_url}{self.token_path} answered without an access_token",
                method="POST",
                path=self.token_path,
                status=response.status,
                retryable=False,
            )
        raw_expiry = body.get("expires_in") if isinstance(body, dict) else None
        try:
            expires_in = float(raw_expiry) if raw_expiry is not None else float(DEFAULT_EXPIRES_IN)
        except (TypeError, ValueError):
            expires_in = float(DEFAULT_EXPIRES_IN)
        return token, max(expires_in, 1.0)

    def invalidate(self) -> None:
        with self._lock:
            self._token = None
            self._valid_until = 0.0

    def auth_headers(self, method: str, path: str, params: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def refresh_after_unauthorized(self) -> bool:
        self.invalidate()
        return True

    def describe(self) -> str:
        return f"OAuth client {self.client_id}"

    def __repr__(self) -> str:
        return (
            f"OAuthClientCredentials(client_id={self.client_id!r}, client_secret=***, "
            f"auth_url={self.auth_url!r})"
        )


# --- Connect JWT --------------------------------------------------------------------------------


def _encode(value: str) -> str:
    """RFC 3986 percent-encoding: everything but ``A-Z a-z 0-9 - . _ ~`` (so space -> %20, * -> %2A)."""
    return quote(value, safe="")


def canonical_uri(path: str) -> str:
    """The path relative to the base URL, ``/`` if empty, no trailing ``/``, ``&`` as ``%26``."""
    path = path.split("?", 1)[0] or "/"
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path.replace("&", "%26")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """Parameters sorted by name; a repeated name's values sorted and joined with ``,``; ``jwt`` left out.

    Names and values are percent-encoded after sorting (sorting is on the decoded text, which is
    what Atlassian's interoperability vectors show, e.g. ``.1,.2,%3A1,%3A2``).
    """
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        if name == "jwt":
            continue
        grouped.setdefault(name, []).append(value)
    return "&".join(
        f"{_encode(name)}=" + ",".join(_encode(value) for value in sorted(grouped[name]))
        for name in sorted(grouped)
    )


def canonical_request(method: str, path: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """``METHOD&canonical-uri&canonical-query``, the string whose SHA-256 is the ``qsh`` claim."""
    return f"{method.upper()}&{canonical_uri(path)}&{canonical_query(params)}"


def query_string_hash(method: str, path: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """Atlassian's ``qsh``: hex SHA-256 of :func:`canonical_request`."""
    return hashlib.sha256(canonical_request(method, path, params).encode("utf-8")).hexdigest()


def query_string_hash_for_url(method: str, url: str, base_url: str = "") -> str:
    """``qsh`` for a full URL; the base URL's path (a context path such as ``/jira``) is stripped."""
    parts = urlsplit(url)
    path = parts.path
    base_path = urlsplit(base_url).path.rstrip("/") if base_url else ""
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :]
    return query_string_hash(method, path, parse_qsl(parts.query, keep_blank_values=True))


class ConnectJwt:
    """A Connect app's JWT (HS256 with the install ``sharedSecret``), minted fresh for every request.

    Claims: ``iss`` (the app key), ``iat``, ``exp`` (``iat + ttl_seconds``) and ``qsh`` over the
    request's method, path (relative to the site) and query.
    """

    def __init__(
        self,
        app_key: str,
        shared_secret: str,
        *,
        ttl_seconds: int = 180,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not app_key or not shared_secret:
            raise ValueError("Connect JWT needs the app key and the installation's shared secret")
        self.app_key = app_key
        self._shared_secret = shared_secret
        self._ttl = ttl_seconds
        self._clock = clock

    def token(self, method: str, path: str, params: Iterable[tuple[str, str]] = ()) -> str:
        import jwt  # PyJWT; imported on first use to keep the layer's cold start short

        now = int(self._clock())
        claims = {
            "iss": self.app_key,
            "iat": now,
            "exp": now + self._ttl,
            "qsh": query_string_hash(method, path, params),
        }
        return jwt.encode(claims, self._shared_secret, algorithm="HS256")

    def auth_headers(self, method: str, path: str, params: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        return {"Authorization": f"JWT {self.token(method, path, params)}"}

    def refresh_after_unauthorized(self) -> bool:
        return False

    def describe(self) -> str:
        return f"Connect app {self.app_key}"

    def __repr__(self) -> str:
        return f"ConnectJwt(app_key={self.app_key!r}, shared_secret=***)"


# --- cloud id ----------------------------------------------------------------------------------


CLOUD_ID_SHARED_TTL = 30 * 86_400
"""How long every container of a stack trusts a cloud id one of them looked up (seconds). A site's cloud
id does not change; the expiry only bounds how long a site URL moved to another tenant would be wrong."""


def cloud_id_key(site_url: str) -> str:
    """The shared cache's key for a site's cloud id (per site URL, whichever connector asks)."""
    digest = hashlib.sha256(site_url.rstrip("/").encode()).hexdigest()[:12]
    return f"site#{digest}#cloud-id"


class CloudIdResolver:
    """Cloud ids by site URL: this container's, else the stack-wide cache's (``shared``), else one
    ``GET {site}/_edge/tenant_info`` (no auth needed), which then fills both."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_site: dict[str, str] = {}

    def resolve(self, site_transport: JiraTransport, shared: MetadataStore | None = None) -> str:
        site = site_transport.base_url
        with self._lock:
            cached = self._by_site.get(site)
        if cached is not None:
            return cached
        known = shared.get(cloud_id_key(site)) if shared is not None else None
        if isinstance(known, str) and known:
            self.remember(site, known)
            return known
        response = site_transport.request(
            "GET", "/_edge/tenant_info", template="/_edge/tenant_info", authenticate=False
        )
        body = response.body
        cloud_id = body.get("cloudId") if isinstance(body, dict) else None
        if not isinstance(cloud_id, str) or not cloud_id:
            raise JiraError(
                f"{site}/_edge/tenant_info did not return a cloudId: is {site} a Jira Cloud site? "
                "Otherwise put cloud_id in the connector secret",
                method="GET",
                path="/_edge/tenant_info",
                status=response.status,
                retryable=False,
            )
        self.remember(site, cloud_id)
        if shared is not None:
            shared.put(cloud_id_key(site), cloud_id, CLOUD_ID_SHARED_TTL)
        return cloud_id

    def remember(self, site_url: str, cloud_id: str) -> None:
        with self._lock:
            self._by_site[site_url.rstrip("/")] = cloud_id

    def clear(self) -> None:
        with self._lock:
            self._by_site.clear()


DEFAULT_CLOUD_IDS = CloudIdResolver()
"""Process-wide cache: a warm Lambda container resolves each site once."""


def resolve_cloud_id(site_transport: JiraTransport, resolver: CloudIdResolver | None = None,
                     shared: MetadataStore | None = None) -> str:
    """The site's cloud id (cached per site URL, and in ``shared`` for every container when given)."""
    return (resolver or DEFAULT_CLOUD_IDS).resolve(site_transport, shared)

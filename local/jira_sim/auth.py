"""Who is calling: Basic auth users, OAuth 2.0 client-credentials apps and Connect apps.

* ``/rest/api/3/*`` and the admin webhook API: Basic auth, email + API token.
* ``/rest/{builds,deployments}/0.1/*``: ``Authorization: JWT <token>`` (Connect): HS256 signed with
  the app's shared secret, ``iss`` = client key, and a ``qsh`` claim binding the token to the request.
* ``/jira/{builds,deployments}/0.1/cloud/{cloudId}/*`` (the api.atlassian.com gateway form):
  ``Authorization: Bearer <access token>`` from ``POST /oauth/token``.

The qsh is computed the way Atlassian specifies it: sha256 hex of ``METHOD&path&canonical-query``,
where the canonical query sorts parameters by percent-encoded name, joins repeated values with
commas (sorted), percent-encodes with RFC 3986 rules and leaves out the ``jwt`` parameter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import jwt

from jira_sim.seed import ConnectAppSeed, OAuthClientSeed, SiteSeed, UserSeed

PrincipalKind = Literal["user", "oauth", "connect"]


class AuthFailure(Exception):
    """Credentials missing or wrong; the message explains which (for the 401 body)."""


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    user: UserSeed | None = None
    oauth: IssuedToken | None = None
    connect_app: ConnectAppSeed | None = None

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.account_id
        if self.oauth is not None:
            return f"oauth:{self.oauth.client_id}"
        assert self.connect_app is not None
        return f"connect:{self.connect_app.client_key}"


# -- Basic auth --------------------------------------------------------------------------------


def basic_auth_user(site: SiteSeed, authorization: str | None, *, gateway: bool = False) -> UserSeed:
    """The user of ``email:token`` Basic credentials. On the site URL only classic API tokens work;
    through the api.atlassian.com gateway (``/ex/jira/{cloudId}``) only scoped ones (service accounts),
    as Atlassian's KB "401 Unauthorized error when service account accesses Jira" describes."""
    if not authorization or not authorization.lower().startswith("basic "):
        raise AuthFailure("Basic authentication with an email address and API token is required.")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise AuthFailure("The Basic credentials are not valid base64.") from error
    email, _, token = decoded.partition(":")
    user = site.find_user(email)
    valid = (
        user is not None
        and user.active
        and user.email.casefold() == email.casefold()
        and (expected := user.scoped_api_token if gateway else user.api_token) is not None
        and secrets.compare_digest(expected, token)
    )
    if not valid or user is None:
        raise AuthFailure("The email address or API token is not valid.")
    return user


# -- Jira Data Center: personal access tokens and username/password, with its traps ----------------

CAPTCHA_THRESHOLD = 3
"""Consecutive failed basic logins after which Data Center demands a CAPTCHA (Jira's default is 3)."""


@dataclass(frozen=True)
class DataCenterLogin:
    """Who a Data Center request runs as. ``user`` None is the anonymous user; ``headers`` go on the
    answer whatever it is; ``captcha`` means basic auth is locked for that account."""

    user: UserSeed | None
    headers: dict[str, str]
    captcha: bool = False


class DataCenterAuthenticator:
    """Data Center authentication as measured (shared/contracts/jira-datacenter/README.md section 2).

    * ``Authorization: Bearer <PAT>`` (8.14+). A PAT is never accepted as a basic-auth password.
    * ``Authorization: Basic username:password``. A wrong password is answered as the anonymous user
      with ``X-Seraph-LoginReason: AUTHENTICATED_FAILED``; after ``CAPTCHA_THRESHOLD`` consecutive
      failures the account is CAPTCHA-locked: 403 with ``X-Seraph-LoginReason: AUTHENTICATION_DENIED``
      and ``X-Authentication-Denied-Reason: CAPTCHA_CHALLENGE; login-url=...`` even with the right
      password, until `clear_captcha` (a web login / an admin reset).
    * Anything else, a bad token included, is the anonymous user (``X-AUSERNAME: anonymous``).
    """

    def __init__(self, site: SiteSeed) -> None:
        self.site = site
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def login(self, authorization: str | None, base_url: str) -> DataCenterLogin:
        scheme, _, credential = (authorization or "").partition(" ")
        if scheme.lower() == "bearer":
            token = credential.strip()
            user = next((u for u in self.site.users if u.personal_access_token and u.active
                         and secrets.compare_digest(u.personal_access_token, token)), None)
            return self._as(user)
        if scheme.lower() == "basic":
            return self._basic(credential.strip(), base_url)
        return self._as(None)

    def _basic(self, credential: str, base_url: str) -> DataCenterLogin:
        try:
            username, _, password = base64.b64decode(credential, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return self._as(None, {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"})
        user = self.site.find_dc_user(username)
        if user is None:
            return self._as(None, {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"})
        with self._lock:
            if self._failures.get(user.username, 0) >= CAPTCHA_THRESHOLD:
                return DataCenterLogin(None, {
                    "X-AUSERNAME": "anonymous",
                    "X-Seraph-LoginReason": "AUTHENTICATION_DENIED",
                    "X-Authentication-Denied-Reason": f"CAPTCHA_CHALLENGE; login-url={base_url}/login.jsp",
                }, captcha=True)
            if user.active and user.api_token is not None and secrets.compare_digest(user.api_token, password):
                self._failures.pop(user.username, None)
                return self._as(user)
            self._failures[user.username] = self._failures.get(user.username, 0) + 1
        return self._as(None, {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"})

    @staticmethod
    def _as(user: UserSeed | None, extra: dict[str, str] | None = None) -> DataCenterLogin:
        return DataCenterLogin(user, {"X-AUSERNAME": user.username if user else "anonymous", **(extra or {})})

    def clear_captcha(self, username: str | None = None) -> None:
        with self._lock:
            if username is None:
                self._failures.clear()
            else:
                self._failures.pop(username, None)


# -- OAuth 2.0 client credentials ------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float


class OAuthTokenStore:
    """Access tokens handed out by ``POST /oauth/token``; ``ttl_seconds`` may be changed at any time."""

    def __init__(self, ttl_seconds: float = 3600.0, clock: Callable[[], float] = time.time) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._tokens: dict[str, IssuedToken] = {}
        self._lock = threading.Lock()

    def issue(self, client: OAuthClientSeed) -> IssuedToken:
        token = IssuedToken(
            access_token=secrets.token_urlsafe(32),
            client_id=client.client_id,
            scopes=client.scopes,
            expires_at=self._clock() + self.ttl_seconds,
        )
        with self._lock:
            self._tokens[token.access_token] = token
        return token

    def lookup(self, access_token: str) -> IssuedToken | None:
        """The live token, or None when unknown or expired."""
        with self._lock:
            token = self._tokens.get(access_token)
        if token is None or token.expires_at <= self._clock():
            return None
        return token

    def expire_all(self) -> None:
        """Make every token handed out so far expired, as if its TTL had run out."""
        with self._lock:
            self._tokens = {k: _expired(t) for k, t in self._tokens.items()}

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


def _expired(token: IssuedToken) -> IssuedToken:
    return IssuedToken(token.access_token, token.client_id, token.scopes, expires_at=0.0)


def bearer_token(store: OAuthTokenStore, authorization: str | None) -> IssuedToken:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise AuthFailure("An OAuth 2.0 access token (Authorization: Bearer ...) is required.")
    token = store.lookup(authorization[7:].strip())
    if token is None:
        raise AuthFailure("The access token is invalid or has expired.")
    return token


# -- Atlassian Connect JWT -----------------------------------------------------------------------


def _encode(value: str) -> str:
    return quote(value, safe="")


def canonical_query(query: Mapping[str, Sequence[str]]) -> str:
    pairs = []
    for name in sorted((n for n in query if n != "jwt"), key=_encode):
        values = ",".join(sorted(_encode(v) for v in query[name]))
        pairs.append(f"{_encode(name)}={values}")
    return "&".join(pairs)


def canonical_path(path: str) -> str:
    path = path or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    return path.replace("&", "%26")


def query_string_hash(method: str, path: str, query: Mapping[str, Sequence[str]] | None = None) -> str:
    canonical = f"{method.upper()}&{canonical_path(path)}&{canonical_query(query or {})}"
    return hashlib.sha256(canonical.encode()).hexdigest()


def mint_connect_jwt(
    app: ConnectAppSeed,
    method: str,
    path: str,
    query: Mapping[str, Sequence[str]] | None = None,
    *,
    expires_in: int = 180,
) -> str:
    """A valid Connect JWT for one request: what a Connect app would send (for tests and the demo)."""
    now = int(time.time())
    claims = {
        "iss": app.client_key,
        "iat": now,
        "exp": now + expires_in,
        "qsh": query_string_hash(method, path, query),
    }
    return jwt.encode(claims, app.shared_secret, algorithm="HS256")


def connect_app(
    site: SiteSeed, authorization: str | None, method: str, path: str, query: Mapping[str, Sequence[str]]
) -> ConnectAppSeed:
    if not authorization or not authorization.startswith("JWT "):
        raise AuthFailure("A Connect JWT (Authorization: JWT ...) is required.")
    token = authorization[4:].strip()
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.InvalidTokenError as error:
        raise AuthFailure(f"The JWT is malformed: {error}") from error
    app = site.connect_app(str(issuer)) if issuer else None
    if app is None:
        raise AuthFailure(f"No Connect app is installed with the client key '{issuer}'.")
    try:
        claims = jwt.decode(token, app.shared_secret, algorithms=["HS256"], options={"require": ["exp", "iat", "qsh"]})
    except jwt.InvalidTokenError as error:
        raise AuthFailure(f"The JWT was rejected: {error}") from error
    if not secrets.compare_digest(str(claims["qsh"]), query_string_hash(method, path, query)):
        raise AuthFailure("The JWT's query string hash (qsh) does not match this request.")
    return app

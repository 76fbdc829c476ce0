"""Who may call the CI endpoints: API keys or HMAC secrets per caller, and the GitHub webhook secret.

They live in one secret, ``CI_CALLERS_SECRET_NAME`` (``jira-bridge/<stack>/ci-callers``, created by
the stack with a generated ``github_webhook_secret``). It is outside the connector prefix: only the
CI function may read it, not every function that reads connectors. JSON::

    {
      "github_webhook_secret": "<generated>",
      "gitlab_webhook_token": "<at least 16 characters>",
      "callers": {
        "gitlab-ci":  {"api_key": "<at least 16 characters>", "projects": ["OPS"]},
        "jenkins":    {"hmac_secret": "<at least 16 characters>"},
        "acme/shop":  {"hmac_secret": "<per-repository GitHub webhook secret>"},
        "acme/api":   {"gitlab_token": "<per-project GitLab webhook secret token>", "projects": ["API"]}
      }
    }

A caller proves itself one of two ways (never anonymously):

* **API key**: ``Authorization: Bearer <api_key>`` (or ``X-Api-Key: <api_key>``). Every caller's key
  is compared, in constant time, whatever matches first.
* **HMAC**: ``X-Jira-Bridge-Caller: <name>`` and ``X-Hub-Signature-256: sha256=<hex>``, the
  HMAC-SHA256 of the raw body with the caller's ``hmac_secret`` (GitHub's scheme). A GET has no
  body, and what it authorises is in its method, path and query: it also sends
  ``X-Jira-Bridge-Timestamp: <unix seconds>`` and signs :func:`string_to_sign` (method, path,
  canonical query and that timestamp, one per line); a timestamp more than
  :data:`TIMESTAMP_WINDOW_SECONDS` from the bridge's clock is refused, so a captured signature
  stops working within minutes and never works for other parameters. :func:`sign_request` makes the
  headers.

``projects`` (optional) limits a caller to those Jira projects: other keys it names are not reported.
GitHub webhooks are verified with ``github_webhook_secret``, or, for a webhook URL ending in
``?caller=<name>``, with that caller's ``hmac_secret`` (per-repository secrets, per-caller projects).
GitLab webhooks carry their "secret token" in plain text (``X-Gitlab-Token``; GitLab signs nothing):
it is compared, in constant time, with ``gitlab_webhook_token`` and every caller's ``gitlab_token``
(a per-project token gives that caller's projects).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from jira_bridge.errors import ConfigurationError
from jira_bridge.settings import describe_validation_error
from jira_bridge.webhooks.signature import SignatureInvalid, verify_hub_signature

CALLER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,99}$")
GITHUB = "github"
GITLAB = "gitlab"
TIMESTAMP_HEADER = "X-Jira-Bridge-Timestamp"
TIMESTAMP_WINDOW_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

type HeaderLookup = Callable[[str], str | None]


class Unauthenticated(Exception):
    """Answer 401 and do nothing else. The message is for logs, never for the caller."""


class CallerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = Field(default=None, min_length=16)
    hmac_secret: SecretStr | None = Field(default=None, min_length=16)
    gitlab_token: SecretStr | None = Field(default=None, min_length=16)
    projects: list[str] | None = None

    @field_validator("projects")
    @classmethod
    def _upper(cls, value: list[str] | None) -> list[str] | None:
        return [p.strip().upper() for p in value] if value is not None else None

    @model_validator(mode="after")
    def _has_credentials(self) -> CallerEntry:
        if self.api_key is None and self.hmac_secret is None and self.gitlab_token is None:
            raise ValueError("a caller needs an api_key, an hmac_secret or a gitlab_token")
        return self


class CallersSecret(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    github_webhook_secret: SecretStr | None = Field(default=None, min_length=16)
    gitlab_webhook_token: SecretStr | None = Field(default=None, min_length=16)
    callers: dict[str, CallerEntry] = Field(default_factory=dict)

    @field_validator("callers")
    @classmethod
    def _names(cls, value: dict[str, CallerEntry]) -> dict[str, CallerEntry]:
        for name in value:
            if not CALLER_NAME.match(name):
                raise ValueError(f"{name!r} is not a caller name (letters, digits, '-', '_', '.', '/')")
        return value


@dataclass(frozen=True)
class Caller:
    name: str
    projects: tuple[str, ...] | None = None
    """Jira projects this caller may report to (``None``: any)."""


def parse_callers_secret(secret_id: str, payload: Any) -> CallersSecret:
    try:
        return CallersSecret.model_validate(payload)
    except ValidationError as error:
        raise ConfigurationError(
            describe_validation_error(error, f"secret {secret_id} is invalid")
            + f" (fix with: aws secretsmanager put-secret-value --secret-id {secret_id} --secret-string file://ci-callers.json)"
        ) from None


@dataclass(frozen=True)
class SignedRequest:
    """What a bodiless request authorises: its method, path and query parameters (decoded)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """``name=value`` pairs sorted, each side percent-encoded (RFC 3986 unreserved kept), joined by ``&``."""
    # surrogatepass: a value that is not valid text must still be signed and compared (and fail), not crash.
    encoded = sorted((_encode(name), _encode(value)) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def _encode(text: str) -> str:
    return quote(text, safe="-_.~", errors="surrogatepass")


def string_to_sign(request: SignedRequest, timestamp: str) -> bytes:
    lines = (request.method.upper(), request.path, canonical_query(request.query), timestamp)
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def sign_request(caller: str, secret: str, method: str, path: str, query: str = "",
                 now: float | None = None) -> dict[str, str]:
    """The headers an HMAC caller sends with a bodiless request (``query`` as in the URL, encoded)."""
    timestamp = str(int(time.time() if now is None else now))
    request = SignedRequest(method, path, tuple(parse_qsl(query, keep_blank_values=True, errors="surrogatepass")))
    digest = hmac.new(secret.encode("utf-8"), string_to_sign(request, timestamp), hashlib.sha256).hexdigest()
    return {"X-Jira-Bridge-Caller": caller, TIMESTAMP_HEADER: timestamp, "X-Hub-Signature-256": f"sha256={digest}"}


def _digest(value: str) -> bytes:
    # surrogatepass: a header that is not valid text must still be compared (and fail), not crash.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


class CallerDirectory:
    """Authenticates requests against the callers in the secret."""

    def __init__(self, secret: CallersSecret) -> None:
        self._secret = secret

    def _caller(self, name: str) -> Caller:
        entry = self._secret.callers[name]
        return Caller(name, tuple(entry.projects) if entry.projects is not None else None)

    def by_api_key(self, presented: str) -> Caller:
        found = self._matching(presented, {n: e.api_key for n, e in self._secret.callers.items()})
        if found is None:
            raise Unauthenticated("API key matches no caller")
        return self._caller(found)

    @staticmethod
    def _matching(presented: str, secrets: dict[str, SecretStr | None]) -> str | None:
        """The name whose secret equals ``presented``, compared in constant time with every one."""
        presented_digest = _digest(presented)
        found: str | None = None
        for name, secret in secrets.items():  # no early exit: same time whoever matches
            if secret is not None and hmac.compare_digest(presented_digest, _digest(secret.get_secret_value())):
                found = name
        return found

    def gitlab(self, token: str | None) -> Caller:
        """A GitLab delivery: ``X-Gitlab-Token`` equal to ``gitlab_webhook_token`` or a caller's ``gitlab_token``."""
        if not token:
            raise Unauthenticated("gitlab: no X-Gitlab-Token (set the webhook's secret token)")
        tokens = {n: e.gitlab_token for n, e in self._secret.callers.items()}
        found = self._matching(token, {**tokens, "": self._secret.gitlab_webhook_token})
        if found is None:
            raise Unauthenticated("gitlab: X-Gitlab-Token matches no token")
        return Caller(GITLAB) if found == "" else self._caller(found)

    def by_signature(self, name: str, signed: bytes, signature: str | None) -> Caller:
        entry = self._secret.callers.get(name)
        if entry is None or entry.hmac_secret is None:
            raise Unauthenticated(f"caller {name!r} has no hmac_secret")
        try:
            verify_hub_signature(signed, signature, entry.hmac_secret.get_secret_value())
        except SignatureInvalid as error:
            raise Unauthenticated(f"caller {name!r}: {error}") from None
        return self._caller(name)

    def authenticate(self, header: HeaderLookup, body: bytes, request: SignedRequest | None = None,
                     now: float | None = None) -> Caller:
        """An API key, else an HMAC signature: over ``body``, or for a bodiless ``request`` over
        :func:`string_to_sign` with a timestamp within the window of ``now``."""
        authorization = header("Authorization") or ""
        scheme, _, token = authorization.strip().partition(" ")
        api_key = token.strip() if scheme.lower() == "bearer" else (header("X-Api-Key") or "").strip()
        if api_key:
            return self.by_api_key(api_key)
        name = (header("X-Jira-Bridge-Caller") or "").strip()
        if name and request is not None:
            signed = string_to_sign(request, _fresh_timestamp(header(TIMESTAMP_HEADER), now))
            return self.by_signature(name, signed, header("X-Hub-Signature-256"))
        if name:
            return self.by_signature(name, body, header("X-Hub-Signature-256"))
        raise Unauthenticated("no credentials: send an API key or X-Jira-Bridge-Caller with X-Hub-Signature-256")

    def github(self, body: bytes, signature: str | None, caller: str | None = None) -> Caller:
        """A GitHub delivery: ``X-Hub-Signature-256`` with the GitHub secret (or the named caller's)."""
        if caller:
            return self.by_signature(caller, body, signature)
        secret = self._secret.github_webhook_secret
        if secret is None:
            raise Unauthenticated("no github_webhook_secret in the callers secret")
        try:
            verify_hub_signature(body, signature, secret.get_secret_value())
        except SignatureInvalid as error:
            raise Unauthenticated(f"github: {error}") from None
        return Caller(GITHUB)


def _fresh_timestamp(value: str | None, now: float | None) -> str:
    stamp = (value or "").strip()
    if not _TIMESTAMP.fullmatch(stamp):
        raise Unauthenticated(f"{TIMESTAMP_HEADER} is missing or not unix seconds")
    skew = abs(int(stamp) - (time.time() if now is None else now))
    if skew > TIMESTAMP_WINDOW_SECONDS:
        raise Unauthenticated(f"{TIMESTAMP_HEADER} is {int(skew)} s from now (window {TIMESTAMP_WINDOW_SECONDS} s)")
    return stamp


class SecretsManagerCallers:
    """Reads the callers secret through Powertools parameters (cached ``max_age`` seconds)."""

    def __init__(self, secret_id: str, max_age: int = 300) -> None:
        self.secret_id = secret_id
        self._max_age = max_age
        # The payload Powertools answered and its directory: the same object while Powertools serves it from
        # its cache, so a warm request does not validate the secret again.
        self._parsed: tuple[Any, CallerDirectory] | None = None

    def directory(self) -> CallerDirectory:
        from aws_lambda_powertools.utilities import parameters

        from jira_bridge.adapters import get_secret_json

        try:
            payload: Any = get_secret_json(self.secret_id, self._max_age)
        except parameters.exceptions.TransformParameterError:
            raise ConfigurationError(f"secret {self.secret_id} is not valid JSON") from None
        except parameters.exceptions.GetParameterError as error:
            cause = error.__cause__ or error
            code = getattr(cause, "response", {}).get("Error", {}).get("Code") or type(cause).__name__
            raise ConfigurationError(f"cannot read secret {self.secret_id} ({code})") from None
        if self._parsed is not None and self._parsed[0] is payload:
            return self._parsed[1]
        directory = CallerDirectory(parse_callers_secret(self.secret_id, payload))
        self._parsed = (payload, directory)
        return directory

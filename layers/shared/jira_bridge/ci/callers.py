"""Who may call the CI endpoints: API keys or HMAC secrets per caller, and the GitHub webhook secret.

They live in one secret, ``<CONNECTOR_SECRET_PREFIX>ci-callers`` (``jira-bridge/<stack>/connectors/
ci-callers``, created by the stack with a generated ``github_webhook_secret``; the functions may read
only that prefix). ``ci-callers`` is therefore a reserved connector name. JSON::

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
  body: its signature is over the request path (``/ci/approval/OPS-1``).

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from jira_bridge.errors import ConfigurationError
from jira_bridge.settings import describe_validation_error
from jira_bridge.webhooks.signature import SignatureInvalid, verify_hub_signature

SECRET_NAME = "ci-callers"  # noqa: S105 - the secret's name, not a secret
CALLER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,99}$")
GITHUB = "github"
GITLAB = "gitlab"

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


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


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

    def authenticate(self, header: HeaderLookup, signed: bytes) -> Caller:
        """An API key, else an HMAC signature over ``signed`` (the body, or the path for a GET)."""
        authorization = header("Authorization") or ""
        scheme, _, token = authorization.strip().partition(" ")
        api_key = token.strip() if scheme.lower() == "bearer" else (header("X-Api-Key") or "").strip()
        if api_key:
            return self.by_api_key(api_key)
        name = (header("X-Jira-Bridge-Caller") or "").strip()
        if name:
            return self.by_signature(name, signed, header("X-Hub-Signature-256"))
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


class SecretsManagerCallers:
    """Reads ``<prefix>ci-callers`` through Powertools parameters (cached ``max_age`` seconds)."""

    def __init__(self, prefix: str, max_age: int = 300) -> None:
        self.secret_id = f"{prefix}{SECRET_NAME}"
        self._max_age = max_age

    def directory(self) -> CallerDirectory:
        from aws_lambda_powertools.utilities import parameters

        try:
            payload: Any = parameters.get_secret(self.secret_id, transform="json", max_age=self._max_age)
        except parameters.exceptions.TransformParameterError:
            raise ConfigurationError(f"secret {self.secret_id} is not valid JSON") from None
        except parameters.exceptions.GetParameterError as error:
            cause = error.__cause__ or error
            code = getattr(cause, "response", {}).get("Error", {}).get("Code") or type(cause).__name__
            raise ConfigurationError(f"cannot read secret {self.secret_id} ({code})") from None
        return CallerDirectory(parse_callers_secret(self.secret_id, payload))

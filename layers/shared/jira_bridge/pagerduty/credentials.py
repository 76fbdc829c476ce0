"""The PagerDuty secret: one Secrets Manager secret per stack, `jira-bridge/<stack>/pagerduty`.

JSON: `api_token` (REST API key), `from_email` (the PagerDuty user REST writes are made as: the
`From` header), `webhook_secrets` (V3 subscription secrets; two during a rotation),
`events_routing_key` (Events API v2 integration key) and optionally `user_emails` (PagerDuty user
id -> e-mail, for owners PagerDuty names only by display name), `rest_api_url` and `events_api_url`
(the local runtime and tests point them at a fake).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, ValidationError, field_validator

from jira_bridge.errors import ConfigurationError
from jira_bridge.pagerduty.transport import EVENTS_API_URL, REST_API_URL
from jira_bridge.settings import describe_validation_error

_EMAIL = r"^[^@\s]+@[^@\s]+$"
_EMAIL_RE = re.compile(_EMAIL)
_FIX = "--secret-string file://pagerduty.json"


def pagerduty_secret_name(stack: str) -> str:
    return f"jira-bridge/{stack}/pagerduty"


class PagerDutySecret(BaseModel):
    """Secret values are SecretStr, so a repr, a log line or a validation error never shows them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_token: SecretStr = Field(min_length=1)
    from_email: str = Field(min_length=3, pattern=_EMAIL)
    webhook_secrets: list[SecretStr] = Field(default_factory=list)
    events_routing_key: SecretStr | None = None
    user_emails: dict[str, str] = Field(default_factory=dict)
    rest_api_url: HttpUrl = HttpUrl(REST_API_URL)
    events_api_url: HttpUrl = HttpUrl(EVENTS_API_URL)

    @field_validator("api_token", "events_routing_key")
    @classmethod
    def _not_a_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().startswith("CHANGE-ME"):
            raise ValueError("still holds the CHANGE-ME placeholder the stack created; put the real value in")
        return value

    @field_validator("webhook_secrets")
    @classmethod
    def _real_secrets(cls, values: list[SecretStr]) -> list[SecretStr]:
        for value in values:
            if not value.get_secret_value() or value.get_secret_value().startswith("CHANGE-ME"):
                raise ValueError("holds an empty secret or the CHANGE-ME placeholder; put the subscription's "
                                 "delivery_method.secret in")
        return values

    @field_validator("events_routing_key")
    @classmethod
    def _routing_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) != 32:
            raise ValueError("an Events API v2 integration key is 32 characters")
        return value

    @field_validator("user_emails")
    @classmethod
    def _emails(cls, values: dict[str, str]) -> dict[str, str]:
        bad = sorted(user_id for user_id, email in values.items() if not _EMAIL_RE.match(email))
        if bad:
            raise ValueError(f"not e-mail addresses for PagerDuty user(s) {', '.join(bad)}")
        return values

    @property
    def rest_url(self) -> str:
        return str(self.rest_api_url).rstrip("/")

    @property
    def events_url(self) -> str:
        return str(self.events_api_url).rstrip("/")

    def webhook_secret_values(self) -> list[str]:
        return [secret.get_secret_value() for secret in self.webhook_secrets]


def parse_pagerduty_secret(secret_id: str, payload: Any) -> PagerDutySecret:
    """Validate the secret's JSON; the error names the secret and the fields, never their values."""
    if not isinstance(payload, dict):
        raise ConfigurationError(
            f"PagerDuty secret {secret_id} must be a JSON object with api_token and from_email "
            f"(fix with: aws secretsmanager put-secret-value --secret-id {secret_id} {_FIX})"
        )
    try:
        return PagerDutySecret.model_validate(payload)
    except ValidationError as error:
        message = describe_validation_error(error, f"PagerDuty secret {secret_id} is invalid")
        raise ConfigurationError(
            message + f" (fix with: aws secretsmanager put-secret-value --secret-id {secret_id} {_FIX})"
        ) from None


def load_pagerduty_secret(secret_id: str, *, max_age: int = 300) -> PagerDutySecret:
    """Read and validate the secret through Powertools parameters (cached ``max_age`` seconds)."""
    # Imported here: Powertools parameters pulls in boto3, which only a caller that reads it pays for.
    from aws_lambda_powertools.utilities import parameters

    from jira_bridge.adapters import get_secret_json

    try:
        payload: Any = get_secret_json(secret_id, max_age)
    except parameters.exceptions.TransformParameterError:
        raise ConfigurationError(
            f"PagerDuty secret {secret_id} is not valid JSON; store a JSON object with api_token and from_email"
        ) from None
    except parameters.exceptions.GetParameterError as error:
        cause = error.__cause__ or error
        code = getattr(cause, "response", {}).get("Error", {}).get("Code") or type(cause).__name__
        raise ConfigurationError(
            f"cannot read PagerDuty secret {secret_id} ({code}); create it with "
            f"`aws secretsmanager create-secret --name {secret_id} {_FIX}`"
        ) from None
    return parse_pagerduty_secret(secret_id, payload)

"""A connector is one Jira site plus the account the bridge acts as there, read from one secret."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, ValidationError, field_validator

from jira_bridge.errors import ConfigurationError
from jira_bridge.settings import describe_validation_error

ATLASSIAN_API = "https://api.atlassian.com"


class ConnectorSecret(BaseModel):
    """The JSON stored in Secrets Manager for one connector.

    Secret values are SecretStr so that a repr, a log line or a validation error never shows them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    site_url: HttpUrl
    email: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    api_token: SecretStr = Field(min_length=1)
    webhook_secret: SecretStr | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: SecretStr | None = None
    connect_app_key: str | None = None
    connect_shared_secret: SecretStr | None = None
    cloud_id: str | None = None
    api_gateway_url: HttpUrl = HttpUrl(ATLASSIAN_API)
    auth_url: HttpUrl = HttpUrl(ATLASSIAN_API)

    @field_validator("api_token", "webhook_secret", "oauth_client_secret", "connect_shared_secret")
    @classmethod
    def _not_a_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().startswith("CHANGE-ME"):
            raise ValueError("still holds the CHANGE-ME placeholder the stack created; put the real value in")
        return value

    @property
    def site(self) -> str:
        """Base URL without a trailing slash, e.g. https://myorg.atlassian.net."""
        return str(self.site_url).rstrip("/")


class Connector(BaseModel):
    """A named connector and its credentials."""

    model_config = ConfigDict(frozen=True)

    name: str
    secret_id: str
    credentials: ConnectorSecret


def parse_connector_secret(name: str, secret_id: str, payload: Any) -> Connector:
    """Validate a secret's JSON; the error names the secret and the fields, never their values."""
    if not isinstance(payload, dict):
        raise ConfigurationError(
            f"connector {name!r}: secret {secret_id} must be a JSON object with site_url, email and api_token"
        )
    try:
        credentials = ConnectorSecret.model_validate(payload)
    except ValidationError as error:
        message = describe_validation_error(error, f"connector {name!r}: secret {secret_id} is invalid")
        raise ConfigurationError(
            message + f" (fix with: aws secretsmanager put-secret-value --secret-id {secret_id} "
            "--secret-string file://connector.json)"
        ) from None
    return Connector(name=name, secret_id=secret_id, credentials=credentials)

"""A connector is one Jira site plus the account the bridge acts as there, read from one secret."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from jira_bridge.errors import ConfigurationError
from jira_bridge.settings import describe_validation_error

ATLASSIAN_API = "https://api.atlassian.com"


SiteKind = Literal["cloud", "datacenter"]


class ConnectorSecret(BaseModel):
    """The JSON stored in Secrets Manager for one connector.

    ``kind`` says which Jira it is: ``cloud`` (the default: ``site_url`` + ``email`` + ``api_token``)
    or ``datacenter`` (self-hosted Jira Data Center 9.12+: ``site_url`` and either
    ``personal_access_token``, sent as ``Authorization: Bearer``, or ``username`` + ``password``).

    Secret values are SecretStr so that a repr, a log line or a validation error never shows them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SiteKind = "cloud"
    site_url: HttpUrl
    email: str | None = Field(default=None, min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    api_token: SecretStr | None = Field(default=None, min_length=1)
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = Field(default=None, min_length=1)
    personal_access_token: SecretStr | None = Field(default=None, min_length=1)
    webhook_secret: SecretStr | None = None
    # How deliveries to /webhooks/jira?connector=<name> are authenticated: "signature" (X-Hub-Signature
    # HMAC with webhook_secret: Jira Cloud, Data Center 10+) or, for a Data Center that cannot sign
    # (9.x), "hint": the body is never trusted, only the issue it names is re-read from Jira.
    webhook_auth: Literal["signature", "hint"] = "signature"
    # Jira Cloud: "gateway" for a scoped API token (a service account's), which works only through
    # {api_gateway_url}/ex/jira/{cloud_id} (cloud_id required); "site" (classic tokens) calls site_url.
    api_route: Literal["site", "gateway"] = "site"
    oauth_client_id: str | None = None
    oauth_client_secret: SecretStr | None = None
    connect_app_key: str | None = None
    connect_shared_secret: SecretStr | None = None
    cloud_id: str | None = None
    # The bridge's own account (accountId on Cloud, username on Data Center), so its own changes are
    # known without asking Jira; `jira-bridge connector test` fills it in, `connector set` drops it when
    # the credentials change. Absent: one `/myself`, shared by every container (JiraMetadata).
    account_id: str | None = Field(default=None, min_length=1)
    api_gateway_url: HttpUrl = HttpUrl(ATLASSIAN_API)
    auth_url: HttpUrl = HttpUrl(ATLASSIAN_API)

    @field_validator(
        "api_token", "password", "personal_access_token", "webhook_secret", "oauth_client_secret",
        "connect_shared_secret",
    )
    @classmethod
    def _not_a_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().startswith("CHANGE-ME"):
            raise ValueError("still holds the CHANGE-ME placeholder the stack created; put the real value in")
        return value

    @model_validator(mode="after")
    def _credentials_for_kind(self) -> ConnectorSecret:
        if self.kind == "cloud":
            if self.webhook_auth == "hint":
                raise ValueError("webhook_auth hint is for Jira Data Center 9.x; Jira Cloud signs its webhooks")
            if not self.email or self.api_token is None:
                raise ValueError(
                    "a Jira Cloud connector needs email and api_token (or set kind to datacenter for a "
                    "self-hosted Jira with personal_access_token or username + password)"
                )
            if self.api_route == "gateway" and not self.cloud_id:
                raise ValueError("a scoped API token calls api.atlassian.com/ex/jira/<cloud_id>: add cloud_id "
                                 "(https://<org>.atlassian.net/_edge/tenant_info shows it)")
            stray = [n for n in ("username", "password", "personal_access_token") if getattr(self, n) is not None]
            if stray:
                raise ValueError(f"{', '.join(stray)} only apply to kind datacenter; Jira Cloud uses email + api_token")
            return self
        if self.personal_access_token is None and not (self.username and self.password is not None):
            raise ValueError(
                "a Jira Data Center connector needs personal_access_token (Jira 8.14+, recommended) or "
                "username + password"
            )
        if self.personal_access_token is not None and self.password is not None:
            raise ValueError("give personal_access_token or username + password, not both")
        cloud_only = [
            n for n in ("email", "api_token", "oauth_client_id", "connect_app_key", "cloud_id")
            if getattr(self, n) is not None
        ]
        if cloud_only:
            raise ValueError(
                f"{', '.join(cloud_only)} only apply to Jira Cloud; a Data Center connector uses "
                "personal_access_token or username + password"
            )
        return self

    @property
    def rest_base(self) -> str:
        """Where REST calls go: the site, or for a scoped (service account) token the API gateway."""
        if self.kind == "cloud" and self.api_route == "gateway":
            return f"{str(self.api_gateway_url).rstrip('/')}/ex/jira/{self.cloud_id}"
        return self.site

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
            f"connector {name!r}: secret {secret_id} must be a JSON object with site_url, email and api_token "
            "(Jira Cloud) or kind \"datacenter\", site_url and personal_access_token (Jira Data Center)"
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

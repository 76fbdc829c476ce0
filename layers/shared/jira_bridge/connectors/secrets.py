"""Connector secrets from Secrets Manager, through Powertools parameters (cached per container)."""

from __future__ import annotations

from typing import Any

from jira_bridge.connectors.model import Connector, parse_connector_secret
from jira_bridge.errors import ConfigurationError


class SecretsManagerConnectors:
    """Reads `<prefix><name>` secrets; Powertools caches each for `max_age` seconds.

    The IAM policy grants GetSecretValue on exactly that prefix, so the function can read no other
    secret of the account.
    """

    def __init__(self, prefix: str, max_age: int = 300) -> None:
        self._prefix = prefix
        self._max_age = max_age
        # name -> (the payload Powertools answered, its Connector). While Powertools serves a secret from
        # its cache it answers the same object, so a warm event does not validate the secret again.
        self._parsed: dict[str, tuple[Any, Connector]] = {}

    def secret_id(self, name: str) -> str:
        return f"{self._prefix}{name}"

    def get(self, name: str) -> Connector:
        # Imported here: Powertools parameters pulls in boto3, which a cold start should pay only
        # when a connector is actually needed.
        from aws_lambda_powertools.utilities import parameters

        from jira_bridge.adapters import get_secret_json

        secret_id = self.secret_id(name)
        try:
            payload: Any = get_secret_json(secret_id, self._max_age)
        except parameters.exceptions.TransformParameterError:
            raise ConfigurationError(
                f"connector {name!r}: secret {secret_id} is not valid JSON; store a JSON object "
                "with site_url, email and api_token"
            ) from None
        except parameters.exceptions.GetParameterError as error:
            raise ConfigurationError(
                f"connector {name!r}: cannot read secret {secret_id} ({_reason(error)}); create it with "
                f"`aws secretsmanager create-secret --name {secret_id} --secret-string file://connector.json`"
            ) from None
        parsed = self._parsed.get(name)
        if parsed is not None and parsed[0] is payload:
            return parsed[1]
        connector = parse_connector_secret(name, secret_id, payload)
        self._parsed[name] = (payload, connector)
        return connector


def _reason(error: Exception) -> str:
    cause = error.__cause__ or error
    code = getattr(cause, "response", {}).get("Error", {}).get("Code")
    return str(code) if code else type(cause).__name__

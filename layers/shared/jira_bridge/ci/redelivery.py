"""Redelivered notifications are reported once: Powertools idempotency on the IdempotencyTable.

The key is the delivery's business identity: for GitHub a hash of the signed body (a redelivery
resends the same body; the unsigned ``X-GitHub-Delivery`` header is not trusted), the EventBridge
event ``id`` (kept across EventBridge and Lambda retries), or for ``/ci/notify``
the caller plus a hash of the exact body (``curl --retry`` resends the same bytes). The first
delivery's outcome is stored for a day and answered again to a redelivery. A delivery that fails
(Jira unavailable, or the bridge's own credentials failed: ``work`` raises) leaves no record, so its
retry is reported normally; one still in progress elsewhere raises :class:`DeliveryInProgress`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from jira_bridge.ci.errors import DeliveryInProgress

__all__ = ["AlwaysOnce", "DeliveryInProgress", "IdempotentOnce", "Once"]  # DeliveryInProgress: as before

EXPIRES_AFTER_SECONDS = 24 * 3600
KEY_PREFIX = "ci-delivery"

type Work = Callable[[], dict[str, Any]]


class Once(Protocol):
    """Runs ``work`` once per ``key``; returns (result, whether ``work`` ran in this call)."""

    def __call__(self, key: str, work: Work) -> tuple[dict[str, Any], bool]: ...


class AlwaysOnce:
    """No deduplication (unit tests, and the CLI)."""

    def __call__(self, key: str, work: Work) -> tuple[dict[str, Any], bool]:
        return work(), True


def _run(delivery: dict[str, Any], work: Work) -> dict[str, Any]:
    return work()


class IdempotentOnce:
    """Powertools ``idempotent_function`` keyed on the delivery key, stored in DynamoDB."""

    def __init__(self, persistence_store: Any, expires_after_seconds: int = EXPIRES_AFTER_SECONDS,
                 key_prefix: str = KEY_PREFIX) -> None:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

        self.config = IdempotencyConfig(
            event_key_jmespath="key",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_seconds,
        )
        self._run: Callable[..., dict[str, Any]] = idempotent_function(
            _run, data_keyword_argument="delivery", persistence_store=persistence_store, config=self.config,
            key_prefix=key_prefix,
        )

    def register_lambda_context(self, context: Any) -> None:
        """In-progress records expire when this invocation would time out."""
        self.config.register_lambda_context(context)

    def __call__(self, key: str, work: Work) -> tuple[dict[str, Any], bool]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        ran = False

        def tracked() -> dict[str, Any]:
            nonlocal ran
            ran = True
            return work()

        try:
            result = self._run(delivery={"key": key}, work=tracked)
        except IdempotencyAlreadyInProgressError:
            raise DeliveryInProgress(key) from None
        return result, ran

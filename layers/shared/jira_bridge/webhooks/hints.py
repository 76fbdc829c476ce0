"""Unsigned Data Center webhooks as *hints*: which issue to re-read, nothing else.

Jira Data Center before 10.0 cannot sign its admin webhooks (no secret field in the 9.x webhook API:
JRASERVER-78733; signing with ``X-Hub-Signature`` is documented on the current "Managing webhooks"
page, see docs/datacenter.md). A secret in the URL query would be logged by every proxy on the
way, so it is not offered. Instead a connector with ``webhook_auth: hint`` treats a delivery as a
claim that "issue N changed": only the numeric issue id is read from the body, the issue is re-read
with the connector's own credentials and acted on as Jira answers. A forged hint therefore costs at
most a read, and reads are rate-limited per issue: one hint per issue per ``HINT_WINDOW_SECONDS``
is queued (the FIFO queue drops the rest as duplicates). A change made inside the window after the
re-read is picked up by the scheduled reconciliation.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from jira_bridge.sqs_ids import sqs_id

DEFAULT_MIN_INTERVAL_SECONDS = 30
_ISSUE_ID = re.compile(r"^[1-9][0-9]{0,17}$")


def hinted_issue(body: bytes) -> str | None:
    """The numeric issue id an unsigned delivery names, or None (nothing else in it is used)."""
    try:
        payload: Any = json.loads(body)
    except ValueError:
        return None
    issue = payload.get("issue") if isinstance(payload, dict) else None
    issue_id = str(issue.get("id", "")) if isinstance(issue, dict) else ""
    return issue_id if _ISSUE_ID.match(issue_id) else None


def hint_message(connector: str, issue_id: str, body: bytes, received_at: float) -> tuple[dict[str, Any], str, str]:
    """(message body, MessageGroupId, MessageDeduplicationId) of the re-read for ``issue_id``.

    The group is the issue's, as for signed deliveries (in order per issue); the same body twice (a
    retry by Jira) is one message.
    """
    digest = hashlib.sha256(body).hexdigest()[:32]
    delivery_id = sqs_id("hint", connector, issue_id, digest)
    message = {"connector": connector, "hint_issue": issue_id, "received_at": received_at,
               "delivery_id": delivery_id}
    return message, sqs_id(connector, issue_id), delivery_id


class HintState(Protocol):
    """When each issue was last re-read because of a hint."""

    def last_read(self, connector: str, issue_id: str) -> float | None: ...
    def record_read(self, connector: str, issue_id: str, at: float) -> None: ...


class HintDeferred(Exception):
    """The issue was re-read less than the minimum interval ago: retry this hint after ``retry_after``."""

    def __init__(self, issue_id: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"issue {issue_id} was re-read {retry_after:.0f}s too recently; the hint waits")


@dataclass
class HintGate:
    state: HintState
    min_interval: float = DEFAULT_MIN_INTERVAL_SECONDS
    clock: Callable[[], float] = field(default=time.time)

    def admit(self, connector: str, issue_id: str, received_at: float) -> bool:
        """True: re-read now (recorded). False: moot, a re-read after this hint arrived already
        happened. Raises :class:`HintDeferred` when the issue was re-read too recently."""
        last = self.state.last_read(connector, issue_id)
        now = self.clock()
        if last is not None and last >= received_at:
            return False
        if last is not None and now - last < self.min_interval:
            raise HintDeferred(issue_id, self.min_interval - (now - last))
        self.state.record_read(connector, issue_id, now)
        return True


class DynamoHintState:
    """``hint#<connector>#<issue>`` items in the link table (expiring a day after the read)."""

    def __init__(self, table_name: str, client_factory: Callable[[], Any]) -> None:
        self._table = table_name
        self._client_factory = client_factory

    def last_read(self, connector: str, issue_id: str) -> float | None:
        item = self._client_factory().get_item(TableName=self._table, ConsistentRead=True,
                                               Key={"pk": {"S": f"hint#{connector}#{issue_id}"}}).get("Item")
        return float(item["read_at"]["N"]) if item and "read_at" in item else None

    def record_read(self, connector: str, issue_id: str, at: float) -> None:
        self._client_factory().put_item(TableName=self._table, Item={
            "pk": {"S": f"hint#{connector}#{issue_id}"}, "read_at": {"N": repr(at)},
            "expires_at": {"N": str(int(at) + 86400)}})

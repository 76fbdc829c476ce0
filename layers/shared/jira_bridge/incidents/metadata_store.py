"""Site metadata shared by every container: what a cold container would otherwise ask Jira again.

Field schemas, users resolved by e-mail, the bridge's own account id, project types and the workflow
transitions learned from Jira do not change per incident. :class:`JiraMetadata` keeps them per
container; this store keeps them for every container of the stack, as items of the link table
(``pk = meta#<scope>#<what>``) that expire (``expires_at``, the table's TTL attribute; DynamoDB
deletes expired items lazily, so a read also checks the time itself).

A cache, never a source of truth: a failed read or write is logged and treated as a miss, so the
worst case is the Jira request the cache would have saved. Values are JSON, zlib-compressed (a
site's field list is large and compresses about tenfold); a value still too big for an item is not
stored.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# DynamoDB's item limit is 400 KB; keep well under it.
MAX_VALUE_BYTES = 350_000


class MetadataStore(Protocol):
    def get(self, key: str) -> Any | None: ...
    def put(self, key: str, value: Any, ttl_seconds: int) -> None: ...


class DynamoMetadataStore:
    """Items ``meta#<key>`` in the link table: one GetItem per miss of a container, one PutItem per learn."""

    def __init__(self, table_name: str, client_factory: Callable[[], Any],
                 clock: Callable[[], float] = time.time) -> None:
        self._table = table_name
        self._client_factory = client_factory
        self._clock = clock

    def get(self, key: str) -> Any | None:
        client = self._client_factory()
        try:
            # Eventually consistent (half the read cost): a value a moment old is as good as any cached one.
            item = client.get_item(TableName=self._table, Key={"pk": {"S": f"meta#{key}"}}).get("Item")
        except _aws_errors() as error:  # refused, throttled, unreachable or timed out: a cache never fails the work
            logger.warning("shared metadata cache unreadable (%s); asking Jira instead", error)
            return None
        if not item or int(item.get("expires_at", {}).get("N", "0")) <= self._clock():
            return None
        try:
            return json.loads(zlib.decompress(item["value"]["B"]))
        except (KeyError, ValueError, zlib.error):
            return None

    def put(self, key: str, value: Any, ttl_seconds: int) -> None:
        packed = zlib.compress(json.dumps(value, separators=(",", ":")).encode())
        if len(packed) > MAX_VALUE_BYTES:
            logger.warning("metadata %s is too large to share (%d bytes); each container asks Jira", key, len(packed))
            return
        client = self._client_factory()
        try:
            client.put_item(TableName=self._table, Item={
                "pk": {"S": f"meta#{key}"}, "value": {"B": packed},
                "expires_at": {"N": str(int(self._clock()) + ttl_seconds)}})
        except _aws_errors() as error:
            logger.warning("shared metadata cache not written (%s)", error)


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError  # boto3 is loaded by then

    return (ClientError, BotoCoreError)


class InMemoryMetadataStore:
    """The same contract in one process (tests, the benchmark)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.items: dict[str, tuple[float, str]] = {}

    def get(self, key: str) -> Any | None:
        found = self.items.get(key)
        return json.loads(found[1]) if found and found[0] > self._clock() else None

    def put(self, key: str, value: Any, ttl_seconds: int) -> None:
        self.items[key] = (self._clock() + ttl_seconds, json.dumps(value))

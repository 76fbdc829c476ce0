"""DynamoDB write units per incident, counted at the boto3 client against moto.

A whole incident (created, resolved through 3 hops with a comment, a note) runs through the local
stack, and every write call the functions make is priced as DynamoDB bills on-demand writes: one
write unit per 1 KB of item (rounded up) for PutItem/UpdateItem/DeleteItem, twice that for each item
of a TransactWriteItems. Item sizes follow AWS's rules (attribute names plus values; numbers about
1 byte per 2 digits). An UpdateItem is priced by the attributes it sets (its item's size is not
known client-side); the link updates are PutItems, so this only concerns small counters.

`first` is an incident on an empty stack (the shared metadata cache is filled then, once per
deployment and day); `steady` is the next one, which is what every later incident costs.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in ("layers/shared", "local", ".", "bench"):
    sys.path.insert(0, str(ROOT / path))

from jira_requests import QUIET, event  # noqa: E402

from local_runtime.environment import LocalEnvironment  # noqa: E402

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


def value_size(value: dict[str, Any]) -> int:
    (kind, inner), = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = len(str(inner).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(str(inner))
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind in {"SS", "NS", "BS"}:
        return sum(value_size({kind[0]: item}) for item in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(item_size(item) / 1024))


class WriteMeter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.wcu: Counter[str] = Counter()
        self.items: Counter[str] = Counter()  # which kind of item (pk prefix, or the table) was written

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        operation = model.name
        if operation not in WRITES:
            return
        self.calls[operation] += 1
        for key in _keys(params):
            self.items[f"{operation} {key}"] += 1
        if operation == "PutItem":
            self.wcu[operation] += units(params["Item"])
        elif operation == "UpdateItem":
            values = params.get("ExpressionAttributeValues") or {}
            self.wcu[operation] += units({**params["Key"], **{k.lstrip(":"): v for k, v in values.items()}})
        elif operation == "DeleteItem":
            self.wcu[operation] += 1
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                body = next(iter(entry.values()))
                item = body.get("Item") or body.get("Key") or {}
                self.wcu[operation] += 2 * units(item)
        elif operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for request in requests:
                    self.wcu[operation] += units((request.get("PutRequest") or {}).get("Item") or {"k": {"S": ""}})

    def take(self) -> dict[str, Any]:
        taken = {"writes": sum(self.calls.values()), "wcu": sum(self.wcu.values()),
                 "by_operation": {op: {"calls": self.calls[op], "wcu": self.wcu[op]} for op in sorted(self.calls)},
                 "items": dict(sorted(self.items.items()))}
        self.calls.clear()
        self.wcu.clear()
        self.items.clear()
        return taken


def _keys(params: dict[str, Any]) -> list[str]:
    """`incident`, `issue`, `meta`, ... : the pk prefix of each item written (`id` items: idempotency)."""
    bodies = [next(iter(entry.values())) for entry in params.get("TransactItems") or []] or [params]
    keys = []
    for body in bodies:
        item = body.get("Item") or body.get("Key") or {}
        key = (item.get("pk") or item.get("id") or {"S": "?"})["S"]
        keys.append(key.split("#", 1)[0])
    return keys


def measure() -> dict[str, Any]:
    from jira_bridge import adapters

    results: dict[str, Any] = {}
    with LocalEnvironment(env_overrides=QUIET) as env:
        bus = env.stack.resolve({"Ref": "IncidentBus"})
        meter = WriteMeter()
        adapters.aws_client("dynamodb").meta.events.register("before-parameter-build.dynamodb.*", meter)
        for run, incident in (("first", "INC-W0"), ("steady", "INC-W1")):
            steps = [({"kind": "created"}, "triggered"),
                     ({"kind": "field_changed", "field": "state", "old_value": "triggered",
                       "new_value": "resolved"}, "resolved"),
                     ({"kind": "note_added", "note": {"id": "n1", "text": "rolled back", "author": {"name": "Alice"}}},
                      "resolved")]
            for sequence, (change, state) in enumerate(steps, start=1):
                env.put_events([{**event(incident, sequence, change, state=state), "EventBusName": bus}])
                env.drain()
                env.jira.webhooks.wait_idle(5)
                env.drain()  # the Jira -> incident side handles the webhooks the change caused
            results[run] = meter.take()
    return results


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))

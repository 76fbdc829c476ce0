"""DynamoDB write units one whole incident costs, counted on the wire (botocore event hooks) against moto.

The incident is the one bench/jira_requests.py drives (created, resolved through 3 hops with a comment,
severity changed, a note), plus what Jira's webhooks bring back (the Jira -> incident side). Every
DynamoDB call of every function is counted by operation. Units, for items up to 1 KB (DynamoDB's pricing):
a PutItem, UpdateItem or DeleteItem costs 1 write unit per item, BatchWriteItem 1 per item, and a
TransactWriteItems costs 2 per item (transactions are billed twice, for the prepare and the commit).
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in ("layers/shared", "local", ".", "bench"):
    if str(ROOT / path) not in sys.path:
        sys.path.insert(0, str(ROOT / path))

from measures import write_units  # noqa: E402


class WriteMeter:
    """Counts DynamoDB calls and write units of every client created from boto3's default session."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.units: Counter[str] = Counter()
        self._lock = threading.Lock()

    def install(self) -> None:
        import boto3

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        # Clients copy the session's handlers when created: install before the adapters build theirs.
        boto3.DEFAULT_SESSION.events.register("provide-client-params.dynamodb", self._count)

    def _count(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1
            self.units[model.name] += write_units(model.name, params)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.units.clear()

    def report(self) -> dict[str, Any]:
        writes = {op: {"calls": self.calls[op], "units": self.units[op]} for op in sorted(self.units) if self.units[op]}
        return {"write_units": sum(self.units.values()), "by_operation": writes}


def measure() -> dict[str, Any]:
    from jira_requests import QUIET, event

    from jira_bridge import adapters
    from local_runtime.environment import LocalEnvironment

    meter = WriteMeter()
    results: dict[str, Any] = {}
    with LocalEnvironment(env_overrides=QUIET) as env:
        meter.install()
        adapters.reset()  # clients built from here on carry the meter
        bus = env.stack.resolve({"Ref": "IncidentBus"})

        def send(entry: dict[str, Any]) -> None:
            env.put_events([{**entry, "EventBusName": bus}])
            env.drain()
            env.jira.webhooks.wait_idle(10)
            env.drain()

        for run, incident in (("cold", "INC-W1"), ("warm", "INC-W2")):
            meter.reset()
            send(event(incident, 1, {"kind": "created"}))
            send(event(incident, 2, {"kind": "field_changed", "field": "state", "old_value": "triggered",
                                     "new_value": "resolved"}, state="resolved"))
            send(event(incident, 3, {"kind": "field_changed", "field": "severity", "old_value": "SEV2",
                                     "new_value": "SEV1"}, state="resolved", severity="SEV1"))
            send(event(incident, 4, {"kind": "note_added", "note": {"id": "n1", "text": "rolled back",
                                                                    "author": {"name": "Alice"}}}, state="resolved"))
            results[run] = meter.report()
    return results


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))

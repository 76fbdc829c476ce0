"""Jira requests per operation, counted by the simulator's request log, next to the minimum.

Each operation runs twice: in a cold container (metadata not yet cached) and warm (cached).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in ("layers/shared", "local", "."):
    sys.path.insert(0, str(ROOT / path))

from local_runtime.environment import LocalEnvironment  # noqa: E402

QUIET = {"Parameters": {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}}
# The least any correct implementation can send, and why.
MINIMUM = {
    "create issue (all fields)": (1, "one POST /issue carrying every field and the marker property"),
    "state change (3-hop transition + comment)": (
        4, "read the current status (a human may have moved it) + one POST per hop, comment on the last"),
    "severity change (update fields)": (1, "one PUT /issue"),
    "note added (comment)": (1, "one POST /comment"),
    "duplicate event": (0, "already applied: nothing to send"),
    "signed Jira webhook": (0, "verification and triage need no Jira call"),
}


def event(incident: str, sequence: int, change: dict[str, Any], state: str = "triggered",
          severity: str = "SEV2") -> dict[str, Any]:
    base = json.loads((ROOT / "events" / "incident-created.eventbridge.json").read_text())
    detail = base["detail"]
    detail.update(event_id=f"{incident}-{sequence}", sequence=sequence, change=change)
    detail["incident"].update(id=incident, state=state, severity=severity)
    return {"Source": base["source"], "DetailType": base["detail-type"], "Detail": detail}


def measure() -> dict[str, Any]:
    results: dict[str, Any] = {}
    with LocalEnvironment(env_overrides=QUIET) as env:
        bus = env.stack.resolve({"Ref": "IncidentBusName"})

        def count(operation: str, entry: dict[str, Any], run: str) -> None:
            env.jira.reset_log()
            env.put_events([{**entry, "EventBusName": bus}])
            env.drain()
            results.setdefault(operation, {})[run] = env.jira.count()

        for run, incident in (("cold", "INC-A"), ("warm", "INC-B")):
            count("create issue (all fields)", event(incident, 1, {"kind": "created"}), run)
            count("state change (3-hop transition + comment)",
                  event(incident, 2, {"kind": "field_changed", "field": "state", "old_value": "triggered",
                                      "new_value": "resolved"}, state="resolved"), run)
            count("severity change (update fields)",
                  event(incident, 3, {"kind": "field_changed", "field": "severity", "old_value": "SEV2",
                                      "new_value": "SEV1"}, state="resolved", severity="SEV1"), run)
            count("note added (comment)", event(incident, 4, {"kind": "note_added", "note": {
                "id": "n1", "text": "rolled back", "author": {"name": "Alice"}}}, state="resolved"), run)
            count("duplicate event", event(incident, 4, {"kind": "note_added", "note": {
                "id": "n1", "text": "rolled back", "author": {"name": "Alice"}}}, state="resolved"), run)
        env.jira.reset_log()
        handled = len(env.runner.invocations)
        env.jira.as_user("alice@example.com").comment("OPS-1", "human comment")  # 1 request, by Alice
        env.jira.webhooks.wait_idle(5)
        assert len(env.runner.invocations) > handled, "the webhook reached JiraWebhookFunction"
        results["signed Jira webhook"] = {"cold": env.jira.count() - 1, "warm": env.jira.count() - 1}
    return {op: {**runs, "minimum": MINIMUM[op][0], "why": MINIMUM[op][1]} for op, runs in results.items()}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))

"""Jira requests per operation, counted by the simulator's request log, next to the minimum.

Each operation runs in a cold container (every function's in-process caches dropped, as after a
deploy or a scale-out) and warm (the same containers again). `first` is the very first incident of a
deployment, before anything is in the stack-wide metadata cache (once per deployment and day).
"""

from __future__ import annotations

import hashlib
import hmac
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
        3, "one POST per hop, the comment in the last; the status is the one the bridge wrote or the last "
           "webhook told (a hop Jira refuses because someone moved the issue costs one read)"),
    "severity change (update fields)": (1, "one PUT /issue"),
    "note added (comment)": (1, "one POST /comment"),
    "duplicate event": (0, "already applied: nothing to send"),
    "whole incident (create, resolve, note)": (
        5, "the create, 3 hops, the note; the Jira changes function recognises the webhooks of the bridge's own "
           "changes without a request (its account id is recorded or cached)"),
    "signed Jira webhook": (0, "verification and triage need no Jira call"),
    "CI build notification": (
        1, "one POST builds/bulk; the cloud id is in the connector secret (`connector test` records it) or the "
           "stack-wide cache (one tenant_info per deployment, the `first` run)"),
    "CI deployment notification": (1, "one POST deployments/bulk"),
    "CI batch (8 builds + 2 deployments in one body)": (2, "one bulk request per kind, up to 100 entities each"),
    "CI notification without issue key": (0, "nothing to link: Jira is not called"),
    "CI redelivered notification": (0, "already reported: answered from the idempotency record"),
    "GitHub workflow_run webhook": (1, "one POST builds/bulk"),
    "CodeBuild state change (EventBridge)": (1, "one POST builds/bulk"),
}

# Where a new container's minimum is above a warm one's, and why. The builds/deployments gateway takes only
# an OAuth 2.0 bearer token (client credentials; Atlassian's own Jenkins plugin documents it as valid for
# 60 minutes), and the bridge keeps that credential in the container's memory only, never in a table or a
# log: a cold container's first call costs the token request. (The OAuth credentials are created in one
# site's settings, so no two sites share a token.)
WHY_COLD_CI = "plus one POST /oauth/token: the bearer token is kept in the container's memory only"
COLD_MINIMUM = {
    "CI build notification": (2, WHY_COLD_CI),
    "CI deployment notification": (2, WHY_COLD_CI),
    "CI batch (8 builds + 2 deployments in one body)": (3, WHY_COLD_CI + " (one token for both kinds)"),
    "GitHub workflow_run webhook": (2, WHY_COLD_CI),
    "CodeBuild state change (EventBridge)": (2, WHY_COLD_CI),
}


WHOLE_INCIDENT = ("create issue (all fields)", "state change (3-hop transition + comment)", "note added (comment)")


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
        bus = env.stack.resolve({"Ref": "IncidentBus"})

        def count(operation: str, entry: dict[str, Any], run: str) -> None:
            env.jira.reset_log()
            env.put_events([{**entry, "EventBusName": bus}])
            env.drain()
            env.jira.webhooks.wait_idle(5)
            env.drain()  # and the webhooks it caused: what the Jira changes function asks counts too
            results.setdefault(operation, {})[run] = env.jira.count()

        for run, incident in (("first", "INC-0"), ("cold", "INC-A"), ("warm", "INC-B")):
            if run == "cold":
                env.cold_start()
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
            results.setdefault("whole incident (create, resolve, note)", {})[run] = sum(
                results[op][run] for op in WHOLE_INCIDENT)
        env.jira.reset_log()
        handled = len(env.runner.invocations)
        env.jira.as_user("alice@example.com").comment("OPS-1", "human comment")  # 1 request, by Alice
        env.jira.webhooks.wait_idle(5)
        assert len(env.runner.invocations) > handled, "the webhook reached JiraWebhookFunction"
        results["signed Jira webhook"] = {"cold": env.jira.count() - 1, "warm": env.jira.count() - 1}
        measure_ci(env, results)
    return {op: {**runs, "minimum": MINIMUM[op][0], "why": MINIMUM[op][1],
                 "cold_minimum": COLD_MINIMUM.get(op, MINIMUM[op])[0],
                 "cold_why": COLD_MINIMUM[op][1] if op in COLD_MINIMUM else MINIMUM[op][1]}
            for op, runs in results.items()}


def measure_ci(env: LocalEnvironment, results: dict[str, Any]) -> None:
    """Requests per CI notification, each in a fresh container (adapters reset: no token, no cloud id in memory):
    "first" before any container of the stack knew the site's cloud id (the local connector secret has none),
    "cold" after; "warm" in the same container again."""
    import requests

    from jira_bridge import adapters
    from local_runtime.environment import LOCAL_CI_API_KEY, LOCAL_GITHUB_WEBHOOK_SECRET

    env.jira.as_user("alice@example.com").create_issue("OPS", "CI benchmark issue")
    env.jira.webhooks.wait_idle(5)
    env.drain()  # the Jira -> incident side handles the new issue's webhook before anything is counted
    headers = {"Authorization": f"Bearer {LOCAL_CI_API_KEY}", "Content-Type": "application/json"}
    github = json.loads((ROOT / "events" / "github-workflow-run.signed.apigw.json").read_text())
    codebuild = json.loads((ROOT / "events" / "codebuild-build-state-change.eventbridge.json").read_text())

    def note(number: int, **changes: Any) -> dict[str, Any]:
        return {"pipeline": {"name": "bench CI"}, "build_number": number, "url": f"https://ci.example.com/{number}",
                "state": "success", "commits": ["OPS-1 bench"], **changes}

    link_table = env.stack.resolve({"Ref": "LinkTable"})

    def forget_cloud_ids() -> None:
        """As on a new deployment: the stack-wide cache holds no cloud id yet."""
        dynamodb = env.aws.client("dynamodb")
        for page in dynamodb.get_paginator("scan").paginate(TableName=link_table, ProjectionExpression="pk"):
            for item in page["Items"]:
                if item["pk"]["S"].endswith("#cloud-id"):
                    dynamodb.delete_item(TableName=link_table, Key={"pk": item["pk"]})

    def count(operation: str, run: str, send: Any) -> None:
        if run in ("first", "cold"):
            adapters.reset()
        if run == "first":
            forget_cloud_ids()
        env.jira.reset_log()
        send()
        env.drain()
        results.setdefault(operation, {})[run] = env.jira.count()

    def post(body: Any) -> Any:
        return lambda: requests.post(env.api.url("/ci/notify"), data=json.dumps(body), headers=headers, timeout=30)

    for run, base in (("first", 300), ("cold", 100), ("warm", 200)):
        count("CI build notification", run, post(note(base)))
        count("CI deployment notification", run, post(note(base, ENVIRONMENT_NAME="production")))
        batch = [note(base + n) for n in range(10, 18)] + [
            note(base + n, ENVIRONMENT_NAME="staging") for n in (20, 21)]
        count("CI batch (8 builds + 2 deployments in one body)", run, post({"notifications": batch}))
        count("CI notification without issue key", run, post(note(base + 30, commits=["chore: deps"])))
        count("CI redelivered notification", run, post(note(base)))
        body = github["body"].replace('"run_number":163', f'"run_number":{base}')
        secret = LOCAL_GITHUB_WEBHOOK_SECRET.encode()
        signature = "sha256=" + hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
        hook = {**github["headers"], "X-Hub-Signature-256": signature, "X-GitHub-Delivery": f"bench-{run}"}
        count("GitHub workflow_run webhook", run,
              lambda body=body, hook=hook: requests.post(env.api.url("/webhooks/github"), data=body, headers=hook,
                                                         timeout=30))
        event = {**codebuild, "id": f"bench-{run}"}
        event["detail"] = {**codebuild["detail"], "additional-information": {
            **codebuild["detail"]["additional-information"], "build-number": float(base)}}
        count("CodeBuild state change (EventBridge)", run,
              lambda event=event: env.runner.invoke("CiNotifyFunction", event))


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))

"""CI runs on a Jira without the builds/deployments API (Jira Software Data Center has none: no path
of its 10.3 OpenAPI names builds, deployments or devinfo) reported as remote issue links instead.

One link per issue and pipeline (builds) or pipeline + environment (deployments), under a stable
``globalId``, so Jira updates it in place (``POST .../remotelink`` upserts by ``globalId``): the issue
shows the latest run of each, with its state as the status icon's title and "resolved" (struck
through) once it succeeded. A remote link has no sequence number, so an older notification arriving
late is not written over a newer one: the link's ``summary`` ends with the update sequence number
it was written from, and a link already at a newer one is left alone.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Final

from jira_bridge.ci.states import Kind

MAX_GLOBAL_ID: Final = 255
_SEQUENCE = re.compile(r"\(update (\d+)\)$")
_RESOLVED_STATES: Final = frozenset({"successful"})


def global_id(kind: Kind, entity: dict[str, Any]) -> str:
    """``jira-bridge:build:<pipeline>`` or ``jira-bridge:deployment:<pipeline>:<environment>``."""
    if kind == "build":
        value = f"jira-bridge:build:{entity['pipelineId']}"
    else:
        value = f"jira-bridge:deployment:{entity['pipeline']['id']}:{entity['environment']['id']}"
    if len(value) <= MAX_GLOBAL_ID:
        return value
    return f"jira-bridge:{kind}:sha256:{hashlib.sha256(value.encode()).hexdigest()}"


def remote_link(kind: Kind, entity: dict[str, Any], product: str) -> dict[str, Any]:
    """The ``createOrUpdateRemoteIssueLink`` body for a build or deployment entity."""
    state = str(entity["state"])
    if kind == "build":
        title = f"{entity['displayName']}: {state}"  # displayName is already "<pipeline> #<number>"
        relationship = "built by"
    else:
        title = (f"{entity['pipeline']['displayName']} #{entity['deploymentSequenceNumber']} to "
                 f"{entity['environment']['displayName']}: {state}")
        relationship = "deployed by"
    summary = str(entity.get("description") or entity["displayName"])
    return {
        "globalId": global_id(kind, entity),
        "relationship": relationship,
        "application": {"type": "com.jira-bridge.ci", "name": product or "CI"},
        "object": {
            "url": entity["url"],
            "title": title[:255],
            "summary": f"{summary[:200]} (update {entity['updateSequenceNumber']})",
            "status": {"resolved": state in _RESOLVED_STATES, "icon": {"title": state}},
        },
    }


def is_newer(link: dict[str, Any], existing: dict[str, Any] | None) -> bool:
    """Whether ``link`` should replace the issue's ``existing`` link with the same globalId."""
    if existing is None:
        return True
    match = _SEQUENCE.search(str((existing.get("object") or {}).get("summary") or ""))
    ours = _SEQUENCE.search(str(link["object"]["summary"]))
    return match is None or ours is None or int(ours.group(1)) >= int(match.group(1))

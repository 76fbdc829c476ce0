"""Timeline feedback: what a person looking at the incident should know about its Jira sync.

Refusals, no workflow path, an ended issue, a reopen, an unmapped or backward Jira status, an unknown
user: each becomes an "Incident Note Requested" event on the incident bus (and a PagerDuty note when
that sink is on), at most once per cause and incident. The causes already told are kept on the link
(`written.told`), so a replay or a retry of the same failure never repeats the note; the request id is
a digest of incident and cause, so a consumer deduplicating on it is safe even across a lost save.
Both directions use this module.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Protocol

from jira_bridge.incidents.updates import IncidentNoteRequested
from jira_bridge.links.model import IssueLink

MAX_TOLD_KEPT = 200


class NotePublisher(Protocol):
    def publish_note(self, request: IncidentNoteRequested) -> None: ...


def cause_key(kind: str, detail: str) -> str:
    """A stable cause: the kind, plus a digest of what exactly happened (another message is another cause)."""
    return f"{kind}:{hashlib.sha256(detail.encode()).hexdigest()[:16]}"


def note_for(link: IssueLink, cause: str, text: str) -> IncidentNoteRequested | None:
    """The note to publish for `cause`, or None when this incident was already told."""
    if cause in link.written.told:
        return None
    request_id = hashlib.sha256(f"{link.incident_id}|{cause}".encode()).hexdigest()[:32]
    return IncidentNoteRequested(request_id=request_id, incident_id=link.incident_id,
                                 requested_at=datetime.now(UTC), cause=cause, text=text, issue_key=link.issue_key)


def remember_told(link: IssueLink, note: IncidentNoteRequested) -> None:
    if note.cause not in link.written.told:
        link.written.told = [*link.written.told, note.cause][-MAX_TOLD_KEPT:]
    link.record("timeline", "sent", note.text)

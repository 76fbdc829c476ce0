"""What Jira asks of the incident side: the canonical events the Jira -> incident flow publishes.

Published on the incident bus as detail-type "Incident Update Requested", "Incident Create
Requested" and "Incident Note Requested" (timeline feedback, from both directions), for any incident
tool to consume (their JSON Schemas are in `schemas/`). A PagerDuty sink applies them through
PagerDuty's own APIs for users of that tool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

UPDATE_DETAIL_TYPE = "Incident Update Requested"
CREATE_DETAIL_TYPE = "Incident Create Requested"
NOTE_DETAIL_TYPE = "Incident Note Requested"
SOURCE = "jira-bridge"


class _Model(BaseModel):
    # defer_build: the validator is built by the first validation (nested models inside it), not at import
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class JiraOrigin(_Model):
    """Where in Jira the request comes from, so a consumer can link back and deduplicate."""

    connector: str
    issue_id: str
    issue_key: str
    issue_url: str | None = None
    actor_account_id: str | None = None
    actor_name: str | None = None
    delivery_id: str | None = Field(
        default=None, description="the Jira delivery's identity (a digest of its signed body), if any")


class RequestedNote(_Model):
    text: str
    jira_comment_id: str = Field(description="the note's identity: never mirrored back to Jira")
    author_name: str | None = None
    jira_visibility: Literal["internal", "public", "customer"] | None = Field(
        default=None,
        description="Jira Service Management projects: an agents-only internal note, an agent's public "
                    "reply, or a customer's comment; absent for other projects")


class IncidentUpdateRequested(_Model):
    """Set these on the incident; a field left None is not to be touched."""

    schema_version: str = "1.0"
    request_id: str = Field(description="stable per Jira change: consumers deduplicate on it, and echo it as "
                                        "`correlation_id` on the Incident Changed events it causes")
    incident_id: str
    requested_at: datetime
    state: str | None = None
    priority: str | None = None
    owner_email: str | None = None
    owner_cleared: bool = Field(default=False, description="the issue was unassigned: remove the incident's owner")
    note: RequestedNote | None = None
    origin: JiraOrigin

    @property
    def is_empty(self) -> bool:
        return (self.state is None and self.priority is None and self.owner_email is None and not self.owner_cleared
                and self.note is None)


class IncidentCreateRequested(_Model):
    """A Jira issue matched a rule: open an incident for it (once per issue, ever)."""

    schema_version: str = "1.0"
    request_id: str = Field(description="echo it as `correlation_id` on the Incident Changed events it causes")
    dedup_key: str = Field(description="one incident per issue: use as the incident tool's dedup key")
    rule: str
    requested_at: datetime
    title: str
    description: str = ""
    priority: str | None = None
    severity: str | None = None
    service: str | None = None
    origin: JiraOrigin


class IncidentNoteRequested(_Model):
    """Put this on the incident's timeline: something about its Jira sync a person should know
    (a refusal, no workflow path, an unmapped or backward status, an unknown user, a reopen).

    Published at most once per `cause` and incident; `request_id` is stable for that pair, so a
    consumer deduplicating on it never shows one twice.
    """

    schema_version: str = "1.0"
    request_id: str = Field(description="stable per incident and cause: consumers deduplicate on it")
    incident_id: str
    requested_at: datetime
    cause: str = Field(description="what happened, as a stable key (e.g. refused:follow-state/transition)")
    text: str = Field(description="the note, for people: what happened and how to fix it")
    issue_key: str | None = None

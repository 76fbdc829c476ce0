"""Jira webhook bodies as Jira sends them (Cloud and Server/Data Center), parsed leniently.

Unknown keys are ignored: Atlassian adds keys over time, and a parser that rejects them would turn a
harmless change into lost deliveries.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class JiraUser(_Lenient):
    account_id: str | None = Field(default=None, alias="accountId")
    email: str | None = Field(default=None, alias="emailAddress")
    display_name: str | None = Field(default=None, alias="displayName")
    name: str | None = None  # Server/Data Center only
    account_type: str | None = Field(default=None, alias="accountType")  # Cloud: atlassian, app, customer

    @property
    def id(self) -> str | None:
        """The id the site knows the user by: the accountId (Cloud), the username (Data Center)."""
        return self.account_id or self.name


class ChangelogItem(_Lenient):
    field: str
    field_id: str | None = Field(default=None, alias="fieldId")  # absent on Server payloads
    field_type: str | None = Field(default=None, alias="fieldtype")
    from_value: str | None = Field(default=None, alias="from")
    from_string: str | None = Field(default=None, alias="fromString")
    to_value: str | None = Field(default=None, alias="to")
    to_string: str | None = Field(default=None, alias="toString")

    @property
    def key(self) -> str:
        """`fieldId` when Jira sends it; otherwise the lower-cased display name (`Status` -> `status`)."""
        return self.field_id or self.field.lower()


class Changelog(_Lenient):
    id: str | None = None
    items: list[ChangelogItem] = Field(default_factory=list)


class WebhookIssue(_Lenient):
    id: str
    key: str
    fields: dict[str, Any] = Field(default_factory=dict)


class WebhookComment(_Lenient):
    id: str
    body: Any = None
    author: JiraUser | None = None
    update_author: JiraUser | None = Field(default=None, alias="updateAuthor")
    jsd_public: bool | None = Field(default=None, alias="jsdPublic")  # JSM: false for an internal note
    updated: str | None = None


class JiraWebhookPayload(_Lenient):
    webhook_event: str = Field(alias="webhookEvent", min_length=1)
    timestamp: int | None = None
    issue_event_type_name: str | None = None
    user: JiraUser | None = None
    issue: WebhookIssue | None = None
    changelog: Changelog | None = None
    comment: WebhookComment | None = None

    @property
    def actor_account_id(self) -> str | None:
        """Who made the change: the event's user, else the comment's (updating) author."""
        if self.user and self.user.id:
            return self.user.id
        if self.comment:
            author = self.comment.update_author or self.comment.author
            return author.id if author else None
        return None

"""Runbooks: a trigger, optional conditions and ordered Jira actions, read from `runbooks.yaml`.

```yaml
mappings:
  status: {triggered: To Do, acknowledged: In Progress, resolved: Done}
  severity: {SEV1: Highest, SEV2: High}
runbooks:
  - name: open-issue
    trigger: {type: created}
    conditions: [{field: severity, in: [SEV1, SEV2]}]
    actions:
      - create_issue:
          project: OPS
          issue_type: Incident
          summary: "[[incident.severity]] {{ incident.title }}"
          priority: {map: severity, from: severity}
  - name: follow-state
    trigger: {type: field_changed, field: state}
    actions:
      - transition: {to: {map: status, from: state}, comment: "Incident is now [incident.state]"}
```
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jira_bridge.config_files import parse_document, read_yaml
from jira_bridge.incidents.events import ChangeKind, IncidentChanged, canonical_field
from jira_bridge.incidents.mappings import Mappings
from jira_bridge.incidents.workflow import WorkflowSnapshot

# A field value in an action: a literal or template, or one of the structured forms below.
FieldValue = str | int | float | bool | list[Any] | dict[str, Any] | None


class _Config(BaseModel):
    # defer_build: the validator is built by the first validation (nested models inside it), not at import
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", populate_by_name=True)


class MappedValue(_Config):
    """`{map: severity, from: severity, default: Medium}`: look the incident's value up in a mapping."""

    map: str
    source: str = Field(alias="from")
    default: str | None = None


class UserValue(_Config):
    """`{user: "{{ incident.owner.email }}"}`: a Jira user found by email (mapping table, then Jira)."""

    user: str


class TriggerOn(StrEnum):
    CREATED = "created"
    FIELD_CHANGED = "field_changed"
    NOTE_ADDED = "note_added"


class Trigger(_Config):
    # `type`, not `on`: YAML 1.1 reads a bare `on` key as the boolean true.
    type: TriggerOn
    field: str | None = None
    from_values: list[str] | None = Field(default=None, alias="from")
    to_values: list[str] | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _field_for_changes(self) -> Trigger:
        if self.type is TriggerOn.FIELD_CHANGED and not self.field:
            raise ValueError("a field_changed trigger names its field (state, priority, severity, owner, ...)")
        if self.type is not TriggerOn.FIELD_CHANGED and (self.field or self.from_values or self.to_values):
            raise ValueError(f"field/from/to only apply to field_changed triggers, not {self.type.value}")
        return self

    def fires_on(self, event: IncidentChanged) -> bool:
        change = event.change
        if self.type.value != change.kind.value:
            return False
        if change.kind is not ChangeKind.FIELD_CHANGED:
            return True
        if canonical_field(change.field or "") != canonical_field(self.field or ""):
            return False
        if _same(change.old_value, change.new_value):
            return False  # a "change" to the same value is not a change
        return _allowed(self.from_values, change.old_value) and _allowed(self.to_values, change.new_value)


class Condition(_Config):
    field: str
    equals: str | None = None
    in_values: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if sum(v is not None for v in (self.equals, self.in_values, self.not_in)) != 1:
            raise ValueError("a condition has exactly one of equals, in, not_in")
        return self

    def holds(self, event: IncidentChanged) -> bool:
        value = event.field_value(self.field)
        if self.equals is not None:
            return _same(value, self.equals)
        if self.in_values is not None:
            return _allowed(self.in_values, value)
        return not _allowed(self.not_in, value)


# Jira Service Management projects only: who may see a comment the bridge writes. Internal by
# default (agents only, no email to customers); `public` is a reply customers see and are emailed.
CommentVisibility = Literal["internal", "public"]
# Which comments on a JSM issue become incident notes: internal notes, agents' public replies, customers'.
JsmCommentKind = Literal["internal", "public", "customer"]


class CreateIssue(_Config):
    project: str
    issue_type: str
    summary: str
    # JSM projects: raise a customer request of this request type (by name) instead of a plain issue.
    request_type: str | None = None
    description: str | None = None
    priority: FieldValue = None
    assignee: FieldValue = None
    labels: list[str] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)
    fields: dict[str, FieldValue] = Field(default_factory=dict)


class UpdateFields(_Config):
    fields: dict[str, FieldValue] = Field(min_length=1)


class Transition(_Config):
    to: FieldValue
    comment: str | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    visibility: CommentVisibility = "internal"  # of `comment`, on JSM projects


class AddComment(_Config):
    body: str = Field(min_length=1)
    visibility: CommentVisibility = "internal"  # on JSM projects


ActionKind = Literal["create_issue", "update_fields", "transition", "add_comment"]


class Action(_Config):
    create_issue: CreateIssue | None = None
    update_fields: UpdateFields | None = None
    transition: Transition | None = None
    add_comment: AddComment | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Action:
        given = [name for name in Action.model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "each action is exactly one of create_issue, update_fields, transition, add_comment"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> ActionKind:
        for name in ("create_issue", "update_fields", "transition", "add_comment"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated to hold one action")

    @property
    def spec(self) -> CreateIssue | UpdateFields | Transition | AddComment:
        value: CreateIssue | UpdateFields | Transition | AddComment | None = getattr(self, self.kind)
        assert value is not None
        return value


class Runbook(_Config):
    name: str = Field(min_length=1)
    trigger: Trigger
    conditions: list[Condition] = Field(default_factory=list)
    connector: str | None = None
    actions: list[Action] = Field(min_length=1)

    def applies_to(self, event: IncidentChanged) -> bool:
        return self.trigger.fires_on(event) and all(c.holds(event) for c in self.conditions)

    @property
    def creates_issue(self) -> bool:
        return any(action.create_issue is not None for action in self.actions)


class InboundSettings(_Config):
    """How Jira changes flow back to the incident (the mappings are read in reverse)."""

    # A Jira status that maps to an earlier incident state (e.g. Done -> In Progress) reopens the
    # incident only when this is on; otherwise it is reported and ignored.
    allow_reopen: bool = False
    mirror_comments: bool = True
    # Also apply the requests to PagerDuty (REST + Events API) with the `jira-bridge/<stack>/pagerduty`
    # secret, for teams whose incident tool is PagerDuty. The bus always gets them.
    pagerduty: bool = False
    sync_fields: tuple[Literal["state", "priority", "owner"], ...] = ("state", "priority", "owner")
    # On JSM projects, which comments become incident notes. Customers' replies are left out unless
    # listed: they are often not for the responders' timeline.
    jsm_comments: tuple[JsmCommentKind, ...] = ("internal", "public")


class IncidentSide(_Config):
    """Who the bridge is on the incident side, so its own requests coming back are never sent to Jira.

    `integration_users` lists, per event `source` (custom, pagerduty, ...), the emails or names the
    incident tool shows as the author when it applies a request the bridge published. Events authored
    by them never run runbooks (every runbook action writes to Jira). The correlation id the incident
    side echoes (`correlation_id`) is checked first; this identity is the fallback for tools that
    cannot echo it.
    """

    integration_users: dict[str, list[str]] = Field(default_factory=dict)

    def is_integration_user(self, source: str, *people: Any) -> str | None:
        """The configured identity one of `people` (Person-like: name, email) matches, if any."""
        known = {value.strip().lower() for value in self.integration_users.get(source.strip().lower(), [])}
        for person in people:
            for value in (getattr(person, "email", None), getattr(person, "name", None)):
                if value and value.strip().lower() in known:
                    return str(value)
        return None

    @field_validator("integration_users")
    @classmethod
    def _lower_sources(cls, users: dict[str, list[str]]) -> dict[str, list[str]]:
        return {source.strip().lower(): names for source, names in users.items()}


class ReopenSettings(_Config):
    """What an issue closed in a done status gets when its incident becomes active again.

    `transition`: move it (a planned path, e.g. Done -> To Do -> In Progress) to `status`, or to the
    status the incident's state maps to when `status` is not given. `new_issue`: leave it closed as
    history and open a new issue for the incident (the create_issue runbook, with the newest snapshot).
    """

    mode: Literal["transition", "new_issue"]
    status: str | None = None

    @model_validator(mode="after")
    def _status_for_transitions(self) -> ReopenSettings:
        if self.mode == "new_issue" and self.status is not None:
            raise ValueError("reopen.status applies to mode: transition only (a new issue starts where the "
                             "incident's state maps)")
        return self


class IncidentTemplate(_Config):
    """The incident a Jira rule asks for; templates see `issue.key`, `issue.fields.*`, `rule.name`."""

    title: str = "{{ issue.fields.summary }}"
    description: str = "Opened from Jira issue {{ issue.key }}."
    priority: FieldValue = None
    severity: FieldValue = None
    service: str | None = None


class JiraRule(_Config):
    """When an issue matching `jql` appears (or starts matching), request an incident for it."""

    name: str = Field(min_length=1)
    jql: str = Field(min_length=1)
    on_update: bool = False
    max_per_hour: int = Field(default=10, ge=1)
    connector: str = "default"
    incident: IncidentTemplate = Field(default_factory=IncidentTemplate)


class RunbookSet(_Config):
    version: int = 1
    mappings: Mappings = Field(default_factory=Mappings)
    runbooks: list[Runbook] = Field(default_factory=list)
    inbound: InboundSettings = Field(default_factory=InboundSettings)
    incident_side: IncidentSide = Field(default_factory=IncidentSide)
    reopen: ReopenSettings | None = None  # unset: a closed issue follows the state mapping like any move
    jira_rules: list[JiraRule] = Field(default_factory=list)
    # Jira statuses the incident may not be moved *through* on the way to another status.
    terminal_statuses: list[str] = Field(default_factory=list)
    # Whole workflows, keyed "PROJECT/Issue type" or "PROJECT": how a move is planned before it starts.
    workflows: dict[str, WorkflowSnapshot] = Field(default_factory=dict)

    @field_validator("runbooks")
    @classmethod
    def _unique_names(cls, runbooks: list[Runbook]) -> list[Runbook]:
        seen: set[str] = set()
        for runbook in runbooks:
            if runbook.name in seen:
                raise ValueError(f"two runbooks are named {runbook.name!r}; names identify them in logs")
            seen.add(runbook.name)
        return runbooks

    def matching(self, event: IncidentChanged) -> list[Runbook]:
        return [runbook for runbook in self.runbooks if runbook.applies_to(event)]

    def only_sets_fields(self, event: IncidentChanged) -> bool:
        """Whether this event's runbooks only set field values (edits, transitions without a comment).

        Only such an event may be coalesced into a newer change of the same field: the newer value
        reaches the same end state, and nothing people read is lost. A comment (a transition's or
        ``add_comment``) or a create is history of its own and always applies.
        """
        return all(action.update_fields is not None
                   or (action.transition is not None and not action.transition.comment)
                   for runbook in self.matching(event) for action in runbook.actions)

    def linked_projects(self) -> list[str]:
        """The Jira projects runbooks create issues in (what reconciliation looks at)."""
        return sorted({a.create_issue.project.upper() for r in self.runbooks for a in r.actions
                       if a.create_issue is not None and "{" not in a.create_issue.project
                       and "[" not in a.create_issue.project})

    def transition_fields(self) -> dict[str, FieldValue]:
        """Every field the runbooks give transitions: what a screen may ask for on any move."""
        fields: dict[str, FieldValue] = {}
        for runbook in self.runbooks:
            for action in runbook.actions:
                if action.transition is not None:
                    fields.update(action.transition.fields)
        return fields

    def workflow_snapshot(self, project: str, issue_type: str) -> WorkflowSnapshot | None:
        """The configured workflow of `project`'s `issue_type` ("OPS/Incident" before "OPS")."""
        by_key = {key.strip().lower(): snapshot for key, snapshot in self.workflows.items()}
        return by_key.get(f"{project}/{issue_type}".lower()) or by_key.get(project.lower())

    def create_runbook(self) -> tuple[Runbook, CreateIssue] | None:
        for runbook in self.runbooks:
            for action in runbook.actions:
                if action.create_issue is not None:
                    return runbook, action.create_issue
        return None

    def create_action(self) -> CreateIssue | None:
        """The issue a created incident gets (the first create_issue action of any runbook)."""
        for runbook in self.runbooks:
            for action in runbook.actions:
                if action.create_issue is not None:
                    return action.create_issue
        return None


def load_runbooks(path: Path) -> RunbookSet:
    if not path.exists():
        return RunbookSet()
    return parse_document(read_yaml(path), RunbookSet)


def _same(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is right
    return str(left).strip().lower() == str(right).strip().lower()


def _allowed(values: list[str] | None, value: Any) -> bool:
    return values is None or any(_same(candidate, value) for candidate in values)

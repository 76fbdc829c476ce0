"""Pipeline issue steps (``POST /ci/issues``): create or update a Jira issue, move it, comment on it.

What Harness's Jira Create / Jira Update steps do, from any pipeline, with the bridge's credentials:

* **create** (``project``, ``issueType``, ``fields`` with at least ``summary``) or **update**
  (``issueKey``, and ``fields`` to set);
* ``transition: {to: STATUS, fields: {...}}``: moved to a status *by name*, through the same path
  planning the runbooks use (:meth:`JiraMetadata.path_to`: the whole path is planned before the first
  transition, never through a terminal status, every hop's required fields checked first);
* ``comment``: Markdown, added as a comment (internal on Jira Service Management projects).

Field values are written as in a runbook (:func:`format_field`: a select takes its option's name, a
user field an e-mail address, a textarea Markdown); fields are named by id (``customfield_10050``,
``priority``) or by name as on the screen (``Story Points``). Values are data, never templates: a
pipeline's text is not rendered, so no caller can run template code in the bridge.

**Once per ``idempotencyKey``** (a value unique to the pipeline step and run, in the signed body), per
caller: the first outcome is stored for a day and answered again to a retried step, without calling
Jira; the same key with another body is refused (422, as the IETF Idempotency-Key draft says). A
create also writes a marker (a label and an issue property) and looks for it before creating, so a
step retried after Jira's answer was lost (a timeout: the outcome is unknown, nothing was stored)
finds the issue it created instead of making a second one. A refusal before anything changed in Jira
is not stored, so the corrected request may reuse the key; once the issue was created or changed,
a later refusal (no path to the status, a field Jira refuses) is stored with what was done.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from jira_bridge.ci.approval import ISSUE_KEY
from jira_bridge.ci.errors import (
    IdempotencyKeyReused,
    IssueStepRefused,
    NotFoundInJira,
    PayloadInvalid,
    ProjectNotAllowed,
)
from jira_bridge.ci.redelivery import Once
from jira_bridge.incidents.field_values import CUSTOM_FIELD_ID, SYSTEM_FIELDS, FieldValueProblem, format_field
from jira_bridge.incidents.workflow import NoPathToStatus, same_status
from jira_bridge.jira.adf import from_markdown
from jira_bridge.jira.errors import JiraNotFound, JiraRequestRefused

if TYPE_CHECKING:
    from jira_bridge.incidents.runbooks import RunbookSet
    from jira_bridge.incidents.sync import JiraSite

MARKER_PROPERTY = "jira-bridge-ci"
KEY_PREFIX = "ci-issue-step"
PROJECT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,254}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces: a CI variable or two
_NOT_CHANGEABLE = {"project", "issuetype"}

type FieldInput = str | int | float | bool | list[Any] | dict[str, Any] | None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class TransitionStep(_Body):
    to: str = Field(min_length=1, max_length=255, description="the status to reach, by name")
    fields: dict[str, FieldInput] = Field(default_factory=dict, max_length=50,
                                          description="fields a transition screen requires (e.g. resolution)")


class IssueStep(_Body):
    """The body of ``POST /ci/issues``."""

    idempotency_key: str = Field(description="unique per pipeline step and run, e.g. $CI_PIPELINE_ID-create")
    issue_key: str | None = Field(default=None, description="update this issue (else create one)")
    project: str | None = Field(default=None, description="create in this project")
    issue_type: str | None = Field(default=None, min_length=1, max_length=255, description="create: default Task")
    fields: dict[str, FieldInput] = Field(default_factory=dict, max_length=100)
    transition: TransitionStep | None = None
    comment: str | None = Field(default=None, min_length=1, max_length=32_767)

    @model_validator(mode="after")
    def _consistent(self) -> IssueStep:
        if not IDEMPOTENCY_KEY.match(self.idempotency_key):
            raise ValueError("idempotencyKey must be 1-200 printable ASCII characters without spaces, unique to "
                             "this pipeline step and run (e.g. \"$CI_PIPELINE_ID-create-issue\")")
        if (self.issue_key is None) == (self.project is None):
            raise ValueError("give issueKey (to update an issue) or project (to create one), not both")
        if self.issue_key is not None and not ISSUE_KEY.match(self.issue_key.strip()):
            raise ValueError(f"issueKey {self.issue_key!r} is not an issue key (e.g. OPS-12)")
        if self.project is not None and not PROJECT_KEY.match(self.project.strip()):
            raise ValueError(f"project {self.project!r} is not a project key (e.g. OPS)")
        if self.project is not None and not str(self.fields.get("summary") or "").strip():
            raise ValueError("a create needs fields.summary")
        if self.issue_key is not None and self.issue_type is not None:
            raise ValueError("issueType is for a create (project); an update keeps the issue's type")
        if self.issue_key is not None and not (self.fields or self.transition or self.comment):
            raise ValueError("an update needs fields, transition or comment (it would change nothing)")
        fixed = sorted(_NOT_CHANGEABLE & set(self.fields))
        if fixed:
            raise ValueError(f"fields.{fixed[0]} is set by project/issueType, not under fields")
        return self

    @property
    def target_project(self) -> str:
        return (self.project or str(self.issue_key).rsplit("-", 1)[0]).strip().upper()


def parse_issue_step(body: bytes) -> IssueStep:
    """The step in a body, or :class:`PayloadInvalid` saying what is wrong."""
    from jira_bridge.ci.sources.generic import describe
    from jira_bridge.webhooks.http import parse_json

    try:
        data = parse_json(body)
    except ValueError as error:
        raise PayloadInvalid(f"not an issue step: body is not JSON: {error}") from None
    try:
        return IssueStep.model_validate(data)
    except ValidationError as error:
        raise PayloadInvalid(f"not an issue step: {describe(error)}") from None


@dataclass(frozen=True)
class StepAnswer:
    """What the caller gets: the HTTP status and body (stored, and answered again to a retry)."""

    status: int
    body: dict[str, Any]
    duplicate: bool = False

    def as_body(self) -> dict[str, Any]:
        return {**self.body, "duplicate": self.duplicate}


@dataclass
class _Progress:
    issue_id: str | None = None
    issue_key: str | None = None
    created: bool = False
    changed: bool = False  # something was written to Jira (a refusal after it is recorded, not raised)
    read: dict[str, Any] | None = None  # the issue's status and type, as read before any change
    status: str | None = None
    actions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def body(self, site: JiraSite) -> dict[str, Any]:
        body: dict[str, Any] = {"issueKey": self.issue_key, "issueId": self.issue_id,
                                "url": f"{site.client.transport.base_url}/browse/{self.issue_key}",
                                "created": self.created, "actions": self.actions, "warnings": self.warnings}
        if self.status is not None:
            body["status"] = self.status
        return body


def request_hash(step: IssueStep) -> str:
    """The request as parsed (not its bytes): the same step re-serialised by another client is the same."""
    return hashlib.sha256(step.model_dump_json(by_alias=True).encode()).hexdigest()


def _label_verbs(value: FieldInput) -> list[dict[str, str]]:
    """An update's labels as Jira's add/remove verbs, never a replacement (as the runbooks do), so labels
    people added and the bridge's markers stay: a list adds; ``{"add": [...], "remove": [...]}`` says both."""
    spec = value if isinstance(value, dict) else {"add": value}
    unknown = sorted(set(spec) - {"add", "remove"})
    if unknown:
        raise FieldValueProblem(f"labels: {unknown[0]!r} is not add or remove (a list of labels adds them)")

    def labels(verb: str) -> list[str]:
        given = spec.get(verb)
        formatted = format_field("labels", given, None, lambda _: None) if given not in (None, [], "") else None
        return [str(label) for label in formatted or []]

    return ([{"add": label} for label in labels("add")]
            + [{"remove": label} for label in labels("remove") if not label.startswith("jira-bridge-")])


def marker_label(caller: str, idempotency_key: str) -> str:
    """A searchable marker of the step (labels are searchable; properties need an app to index them)."""
    digest = hashlib.sha256(f"{caller}\n{idempotency_key}".encode()).hexdigest()[:32]
    return f"jira-bridge-ci-{digest}"


class IssueSteps:
    def __init__(self, once: Once, site_for_project: Callable[[str], JiraSite],
                 runbooks: Callable[[], RunbookSet]) -> None:
        self._once = once
        self._site_for_project = site_for_project
        self._runbooks = runbooks

    def apply(self, step: IssueStep, caller: str, allowed_projects: Iterable[str] | None = None) -> StepAnswer:
        """Apply ``step`` once per (caller, idempotency key); ``allowed_projects``: the caller's (``None``: any)."""
        project = step.target_project
        allowed = {p.strip().upper() for p in allowed_projects} if allowed_projects is not None else None
        if allowed is not None and project not in allowed:
            scope = f"projects {', '.join(sorted(allowed))}" if allowed else "no project"
            raise ProjectNotAllowed(f"this caller may create and update issues of {scope} only, not {project}")
        wanted = request_hash(step)

        def work() -> dict[str, Any]:
            answer = self._apply(step, caller, project)
            return {"status": answer.status, "body": answer.body, "request": wanted}

        stored, fresh = self._once(f"{caller}:{step.idempotency_key}", work)
        if not fresh and stored.get("request") != wanted:
            raise IdempotencyKeyReused(
                f"idempotencyKey {step.idempotency_key!r} was used for another request by this caller (within 24 "
                "hours): a retried step must send the same body; a different step needs its own key")
        return StepAnswer(int(stored["status"]), dict(stored["body"]), duplicate=not fresh)

    # ----- one step --------------------------------------------------------------------------------

    def _apply(self, step: IssueStep, caller: str, project: str) -> StepAnswer:
        site = self._site_for_project(project)
        progress = _Progress()
        try:
            if step.project is not None:
                self._create(site, step, caller, project, progress)
            else:
                self._update(site, step, progress)
            if step.transition is not None:
                self._move(site, step.transition, project, progress)
            if step.comment is not None:
                self._comment(site, step.comment, project, progress)
        except JiraNotFound:
            if progress.issue_id is None:
                raise NotFoundInJira(f"Jira has no issue {step.issue_key} (or the bridge's account may not see it)"
                                     ) from None
            raise
        except (JiraRequestRefused, FieldValueProblem, NoPathToStatus, IssueStepRefused) as error:
            own_credentials = isinstance(error, JiraRequestRefused) and error.status in (401, 403)
            if getattr(error, "retryable", False) or own_credentials:
                raise  # a conflict (retry), or the bridge's own credentials: mapped by the handler
            message = (f"Jira refused it: {error.details}" if isinstance(error, JiraRequestRefused) else str(error))
            if not progress.changed and not progress.created:
                raise IssueStepRefused(message) from None  # nothing changed: not stored, fix and resend
            done = ", ".join(progress.actions)
            return StepAnswer(422, {**progress.body(site), "message": (
                f"{message}. Done before that: {done}; to finish, send the rest as an update of "
                f"{progress.issue_key} with a new idempotencyKey")})
        return StepAnswer(201 if progress.created else 200, progress.body(site))

    def _create(self, site: JiraSite, step: IssueStep, caller: str, project: str, progress: _Progress) -> None:
        label = marker_label(caller, step.idempotency_key)
        found = self._marked(site, project, label, caller, step.idempotency_key)
        if found is not None:
            progress.issue_id, progress.issue_key = str(found["id"]), str(found["key"])
            progress.created = True
            progress.actions.append(f"found {progress.issue_key}, created by an earlier attempt of this step")
            return
        fields = self._fields(site, step.fields, progress)
        labels = fields.get("labels")
        fields["labels"] = [*(labels if isinstance(labels, list) else []), label]
        fields["project"] = {"key": project}
        fields["issuetype"] = {"name": step.issue_type or "Task"}
        marker = {MARKER_PROPERTY: {"caller": caller, "idempotencyKey": step.idempotency_key}}
        created = site.client.create_issue(fields, properties=marker)
        progress.issue_id, progress.issue_key, progress.created = created.id, created.key, True
        progress.actions.append(f"created {created.key}")

    @staticmethod
    def _marked(site: JiraSite, project: str, label: str, caller: str, key: str) -> dict[str, Any] | None:
        jql = f'project = "{project}" AND labels = "{label}"'
        page = site.client.search_jql(jql, fields=["summary"], max_results=5, properties=[MARKER_PROPERTY])
        for issue in page.issues:
            marker = (issue.get("properties") or {}).get(MARKER_PROPERTY) or {}
            if marker.get("caller") == caller and marker.get("idempotencyKey") == key:
                return issue
        return None

    def _update(self, site: JiraSite, step: IssueStep, progress: _Progress) -> None:
        key = str(step.issue_key).strip().upper()
        issue = site.client.get_issue(key, fields=["status", "issuetype"])  # 404 before anything is written
        progress.issue_id, progress.issue_key = str(issue["id"]), str(issue["key"])
        progress.read = issue  # an edit changes neither: the move plans from this read
        values = dict(step.fields)
        labels = _label_verbs(values.pop("labels")) if "labels" in values else []
        fields = self._fields(site, values, progress)
        if fields or labels:
            site.client.edit_issue(progress.issue_id, fields=fields or None,
                                   update={"labels": labels} if labels else None)
            progress.changed = True
            written = sorted([*fields, *(["labels"] if labels else [])])
            progress.actions.append(f"updated {', '.join(written)} on {progress.issue_key}")

    def _fields(self, site: JiraSite, values: Mapping[str, FieldInput], progress: _Progress) -> dict[str, Any]:
        """Jira JSON for the step's fields, by id or name, formatted as a runbook's are."""
        out: dict[str, Any] = {}
        for name, value in values.items():
            field_id = self._field_id(site, name)
            schema = site.metadata.schema(field_id) if CUSTOM_FIELD_ID.match(field_id) else None
            missing: list[str] = []
            formatted = format_field(field_id, value, schema, partial(self._account, site, missing=missing))
            for email in missing:
                progress.warnings.append(f"{name}: no Jira account found for {email}; the field was left as it was")
            if formatted is not None:
                out[field_id] = formatted
        return out

    @staticmethod
    def _field_id(site: JiraSite, name: str) -> str:
        if name in SYSTEM_FIELDS or CUSTOM_FIELD_ID.match(name):
            return name
        fields = site.metadata.fields()
        if name in fields:
            return name
        by_name = [f.id for f in fields.values() if f.name.casefold() == name.strip().casefold()]
        if len(by_name) == 1:
            return by_name[0]
        if by_name:
            raise FieldValueProblem(f"{len(by_name)} fields are named {name!r} ({', '.join(sorted(by_name))}): "
                                    "name it by id")
        raise FieldValueProblem(f"{name!r} is not a field of this Jira: name fields by id (summary, "
                                "customfield_10050) or by their name on the screen")

    def _account(self, site: JiraSite, email: str, missing: list[str]) -> str | None:
        account = self._runbooks().mappings.users.account_for(email) or site.metadata.account_for_email(email)
        if account is None:
            missing.append(email)
        return account

    def _move(self, site: JiraSite, spec: TransitionStep, project: str, progress: _Progress) -> None:
        issue = progress.read or site.client.get_issue(str(progress.issue_id), fields=["status", "issuetype"])
        current = str(issue["fields"]["status"]["name"])
        issue_type = str(issue["fields"]["issuetype"]["name"])
        if same_status(current, spec.to):
            progress.status = current
            progress.actions.append(f"{progress.issue_key} is already in {current}")
            return
        runbooks = self._runbooks()
        workflow = site.metadata.workflow(project, issue_type, runbooks.workflow_snapshot(project, issue_type))
        terminal = {s.lower() for s in runbooks.terminal_statuses}
        path = site.metadata.path_to(str(progress.issue_id), workflow, current, spec.to, terminal)
        fields = self._fields(site, spec.fields, progress)
        for hop in path:  # every hop's screen is satisfied before the first POST
            missing = [name for name in hop.required_fields if name not in fields]
            if missing:
                raise IssueStepRefused(f"transition {hop.name!r} to {hop.to_status} requires {', '.join(missing)}: "
                                       "give them under transition.fields")
        entered: list[str] = []
        try:
            for hop in path:
                on_screen = {name: value for name, value in fields.items() if name in hop.screen_fields}
                site.client.transition_issue(str(progress.issue_id), hop.id, fields=on_screen or None)
                entered.append(hop.to_status)
                progress.status, progress.changed = hop.to_status, True
        finally:
            if entered:  # a later hop refused: the moves taken are still reported
                progress.actions.append(f"moved {progress.issue_key}: {' -> '.join([current, *entered])}")

    @staticmethod
    def _comment(site: JiraSite, text: str, project: str, progress: _Progress) -> None:
        from jira_bridge.incidents.jsm import comment_properties_for

        properties = comment_properties_for(site.metadata, project, "internal")
        comment = site.client.add_comment(str(progress.issue_id), from_markdown(text), properties=properties or None)
        progress.actions.append(f"commented on {progress.issue_key} ({comment.id})")

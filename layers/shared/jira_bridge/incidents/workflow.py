"""Reaching a target status: the whole path is planned before the first transition is taken.

The bridge never learns a workflow by moving an issue. What it knows of a workflow comes from:
1. a snapshot in `runbooks.yaml` (`workflows:`, written by `jira-bridge workflow snapshot`, which
   reads Jira's workflow API with an account allowed to), the only complete source for an account
   without workflow-read rights;
2. the transitions Jira offers from an issue's *current* status (a read), cached per workflow.
A move is planned as the shortest path through known transitions that never passes *through* a
terminal status (done category, or configured `terminal_statuses`); a terminal status may only be
the target. Every hop's required screen fields are checked before the first POST. When no path is
known, nothing is changed and the refusal says what is missing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DONE_CATEGORY = "done"


@dataclass(frozen=True)
class TransitionOption:
    id: str
    name: str
    to_status: str
    to_category: str  # Jira status category key: new, indeterminate, done
    required_fields: tuple[str, ...] = ()
    screen_fields: tuple[str, ...] = ()  # what the transition screen accepts; anything else Jira rejects


def same_status(left: str, right: str) -> bool:
    return left.strip().lower() == right.strip().lower()


@dataclass
class WorkflowMap:
    """What is known of one workflow: the transitions seen leaving each status."""

    transitions: dict[str, list[TransitionOption]] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    initial_status: str | None = None  # where a new issue starts: saves a read after each create
    seeded: bool = False  # the configured snapshot (if any) has been applied

    def learn(self, status: str, options: list[TransitionOption]) -> None:
        self.transitions[status.lower()] = options
        for option in options:
            self.categories[option.to_status.lower()] = option.to_category

    def known(self, status: str) -> bool:
        return status.lower() in self.transitions

    def forget(self, status: str) -> None:
        self.transitions.pop(status.lower(), None)

    def options(self, status: str) -> list[TransitionOption]:
        return self.transitions.get(status.lower(), [])

    def is_terminal(self, status: str, terminal: set[str]) -> bool:
        return status.lower() in terminal or self.categories.get(status.lower()) == DONE_CATEGORY

    def _walk(self, start: str, terminal: set[str]) -> dict[str, list[TransitionOption]]:
        """Breadth-first: every status reachable through known transitions, with the path to it."""
        paths: dict[str, list[TransitionOption]] = {start.lower(): []}
        queue = deque([start.lower()])
        while queue:
            status = queue.popleft()
            if status != start.lower() and self.is_terminal(status, terminal):
                continue  # may be arrived at, never left on the way somewhere else
            for option in self.options(status):
                nxt = option.to_status.lower()
                if nxt not in paths:
                    paths[nxt] = [*paths[status], option]
                    queue.append(nxt)
        return paths

    def shortest_path(self, start: str, target: str, terminal: set[str]) -> list[TransitionOption] | None:
        return self._walk(start, terminal).get(target.lower())

    def unknown_on_the_way(self, start: str, terminal: set[str]) -> list[str]:
        """Reachable statuses (passable, not the start) whose outgoing transitions are not known."""
        names = self._names()
        return sorted(names.get(s, s) for s in self._walk(start, terminal)
                      if s != start.lower() and not self.known(s) and not self.is_terminal(s, terminal))

    def seed(self, snapshot: WorkflowSnapshot | None) -> None:
        """Know the whole workflow from a snapshot (statuses already learned from Jira keep theirs)."""
        self.seeded = True
        if snapshot is None:
            return
        for status, category in snapshot.statuses.items():
            self.categories.setdefault(status.lower(), category)
        for status in snapshot.statuses:
            if not self.known(status):
                self.learn(status, snapshot.offered_from(status))
        if self.initial_status is None and snapshot.initial:
            self.initial_status = snapshot.initial

    def to_json(self) -> dict[str, Any]:
        """What was learned, for the cache shared by containers (`JiraMetadata`)."""
        return {"initial": self.initial_status, "categories": self.categories,
                "transitions": {status: [asdict(option) for option in options]
                                for status, options in self.transitions.items()}}

    @classmethod
    def from_json(cls, data: Any) -> WorkflowMap:
        """The inverse of :meth:`to_json`; anything unreadable (an older shape) is an empty map."""
        learned = cls()
        if not isinstance(data, dict):
            return learned
        try:
            for status, options in (data.get("transitions") or {}).items():
                learned.transitions[str(status)] = [
                    TransitionOption(**{**option, "required_fields": tuple(option.get("required_fields") or ()),
                                        "screen_fields": tuple(option.get("screen_fields") or ())})
                    for option in options]
            learned.categories = {str(k): str(v) for k, v in (data.get("categories") or {}).items()}
        except (TypeError, AttributeError):
            return cls()
        learned.initial_status = data.get("initial") if isinstance(data.get("initial"), str) else None
        return learned

    def _names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for option_list in self.transitions.values():
            for option in option_list:
                names[option.to_status.lower()] = option.to_status
        return names

    def reachable(self, start: str, terminal: set[str]) -> list[str]:
        names = {start.lower(): start}
        for option_list in self.transitions.values():
            for option in option_list:
                names[option.to_status.lower()] = option.to_status
        return sorted(names[s] for s in self._walk(start, terminal) if s != start.lower())


class NoPathToStatus(Exception):
    def __init__(self, current: str, target: str, reachable: list[str], unknown: list[str] | None = None) -> None:
        listed = ", ".join(reachable) if reachable else "none"
        message = (f"no workflow path from {current!r} to {target!r} that avoids terminal statuses; "
                   f"reachable from {current!r}: {listed}")
        if unknown:
            message += (f". The transitions leaving {', '.join(unknown)} are not known (the bridge never moves an "
                        "issue to find out): add the workflow to runbooks.yaml `workflows:` "
                        "(`jira-bridge workflow snapshot --connector NAME --project KEY`)")
        super().__init__(message + "; the issue was not moved")
        self.reachable = reachable
        self.unknown = unknown or []


StatusCategory = Literal["new", "indeterminate", "done"]


class SnapshotTransition(BaseModel):
    """One transition of a workflow snapshot; `from` empty means global (offered from every status)."""

    # defer_build: the validator is built by the first validation (nested models inside it), not at import
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    to: str = Field(min_length=1)
    from_statuses: list[str] = Field(default_factory=list, alias="from")
    required: list[str] = Field(default_factory=list, description="fields the transition screen requires")
    screen: list[str] = Field(default_factory=list, description="fields on the transition screen")


class WorkflowSnapshot(BaseModel):
    """A whole workflow, as `jira-bridge workflow snapshot` writes it into `runbooks.yaml`:

    ```yaml
    workflows:
      OPS/Incident:            # PROJECT/Issue type, or PROJECT for every issue type
        initial: To Do
        statuses: {To Do: new, In Progress: indeterminate, Done: done}
        transitions:
          - {id: "11", name: Start Progress, from: [To Do], to: In Progress}
          - {id: "31", name: Done, from: [In Progress], to: Done, required: [resolution], screen: [resolution]}
    ```
    """

    # defer_build: the validator is built by the first validation (nested models inside it), not at import
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    initial: str | None = None
    statuses: dict[str, StatusCategory] = Field(min_length=1)
    transitions: list[SnapshotTransition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _statuses_exist(self) -> WorkflowSnapshot:
        known = {name.lower() for name in self.statuses}
        for transition in self.transitions:
            unknown = [s for s in [transition.to, *transition.from_statuses] if s.lower() not in known]
            if unknown:
                raise ValueError(f"transition {transition.name!r} names {', '.join(unknown)}, which is not "
                                 f"under statuses ({', '.join(self.statuses)})")
        if self.initial is not None and self.initial.lower() not in known:
            raise ValueError(f"initial status {self.initial!r} is not under statuses")
        return self

    def category(self, status: str) -> str:
        return next((c for name, c in self.statuses.items() if name.lower() == status.lower()), "")

    def offered_from(self, status: str) -> list[TransitionOption]:
        return [
            TransitionOption(id=t.id, name=t.name, to_status=t.to, to_category=self.category(t.to),
                             required_fields=tuple(t.required), screen_fields=tuple(t.screen or t.required))
            for t in self.transitions
            if (not t.from_statuses or any(same_status(f, status) for f in t.from_statuses))
            and not same_status(t.to, status)
        ]

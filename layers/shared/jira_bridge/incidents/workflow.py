"""Reaching a target status through whatever path the workflow allows.

Jira only tells a caller which transitions leave the issue's *current* status (reading whole
workflows needs admin rights the bridge's account should not have). So the bridge learns the graph
as it goes, one status at a time, and caches it per workflow: a shortest path is taken when the known
graph has one, otherwise the nearest unexplored status is visited. Statuses in the done category (or
configured as terminal) are never stepped *through*, only into as the final target.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

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

    def path_to_unexplored(self, start: str, terminal: set[str]) -> list[TransitionOption] | None:
        """The nearest status not yet seen from the inside that we may pass through."""
        for status, path in sorted(self._walk(start, terminal).items(), key=lambda item: len(item[1])):
            if path and not self.known(status) and not self.is_terminal(status, terminal):
                return path
        return None

    def reachable(self, start: str, terminal: set[str]) -> list[str]:
        names = {start.lower(): start}
        for option_list in self.transitions.values():
            for option in option_list:
                names[option.to_status.lower()] = option.to_status
        return sorted(names[s] for s in self._walk(start, terminal) if s != start.lower())


class NoPathToStatus(Exception):
    def __init__(self, current: str, target: str, reachable: list[str]) -> None:
        listed = ", ".join(reachable) if reachable else "none"
        super().__init__(
            f"no workflow path from {current!r} to {target!r} that avoids terminal statuses; "
            f"reachable from {current!r}: {listed}"
        )
        self.reachable = reachable

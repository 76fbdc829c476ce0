"""CI states, whatever their vocabulary, mapped onto Jira's build and deployment states.

Jira builds know ``pending, in_progress, successful, failed, cancelled, unknown``; deployments also
know ``rolled_back``. CI systems each have their own words (GitHub ``queued``/``completed``+conclusion,
GitLab ``running``/``canceled``, CodeBuild ``SUCCEEDED``/``STOPPED``, CodePipeline ``SUPERSEDED``,
Jenkins ``UNSTABLE``/``ABORTED``...). :func:`jira_state` accepts any of them, case-insensitively, with
``-`` or spaces for ``_``; a word it does not know maps to ``unknown``.

The mapping follows what Atlassian's own GitHub app does for the words both share
(github-for-jira ``transform-workflow.ts`` / ``transform-deployment.ts``: queued -> pending for
deployments, in_progress; success/neutral -> successful; failure/timed_out -> failed;
cancelled/stale -> cancelled; action_required -> pending), with ``skipped`` read as cancelled: a
skipped deployment did not reach its environment. Matching ignores case and accents. The whole
table is in README.md ("CI states and environment words"; a test keeps the two equal). A word not in
it maps to ``unknown`` and the answer and logs carry a warning saying so (``sucess``).
"""

from __future__ import annotations

from typing import Literal

from jira_bridge.ci.text import fold

type Kind = Literal["build", "deployment"]
type JiraState = Literal["pending", "in_progress", "successful", "failed", "cancelled", "rolled_back", "unknown"]

BUILD_STATES: frozenset[str] = frozenset({"pending", "in_progress", "successful", "failed", "cancelled", "unknown"})
DEPLOYMENT_STATES: frozenset[str] = BUILD_STATES | {"rolled_back"}
FINAL_STATES: frozenset[str] = frozenset({"successful", "failed", "cancelled", "rolled_back"})

_WORDS: dict[str, JiraState] = {}
for _state, _words in {
    "pending": (
        "pending", "queued", "requested", "waiting", "created", "scheduled", "manual", "waiting_for_resource",
        "preparing", "action_required", "on_hold", "blocked", "submitted", "not_started", "new",
        "waiting_for_approval", "awaiting_approval", "approval_required", "paused",
    ),
    "in_progress": (
        "in_progress", "running", "started", "resumed", "stopping", "building", "deploying", "inprogress",
        "progressing", "canceling", "cancelling", "retrying",
    ),
    "successful": (
        "successful", "success", "succeeded", "passed", "pass", "ok", "fixed", "neutral", "completed", "done",
        "green",
    ),
    "failed": (
        "failed", "failure", "fail", "error", "errored", "fault", "timed_out", "timeout", "startup_failure",
        "unstable", "broken", "red", "partially_succeeded", "partiallysucceeded", "infrastructure_failure",
    ),
    "cancelled": (
        "cancelled", "canceled", "aborted", "stopped", "skipped", "stale", "superseded", "not_built", "killed",
        "terminated", "interrupted", "expired", "not_run",
    ),
    "rolled_back": ("rolled_back", "rolledback", "rollback", "reverted"),
    "unknown": ("unknown",),
}.items():
    for _word in _words:
        _WORDS[_word] = _state  # type: ignore[assignment]


STATE_WORDS: dict[str, JiraState] = dict(_WORDS)
"""Every CI word the bridge knows, normalised (lower case, no accents, ``_`` for ``-`` and spaces)."""


def normalise(word: str) -> str:
    return "_".join(fold(word).replace("-", " ").replace("_", " ").split())


def jira_state(ci_state: str | None, kind: Kind = "build") -> JiraState:
    """Jira's state for a CI state word; ``rolled_back`` is a failed *build*; unknown words -> unknown."""
    if not ci_state:
        return "unknown"
    state = _WORDS.get(normalise(ci_state), "unknown")
    if state == "rolled_back" and kind == "build":
        return "failed"
    return state


def is_known(ci_state: str) -> bool:
    return normalise(ci_state) in _WORDS


def unknown_state_warning(ci_state: str | None, setting: str = "state") -> str | None:
    """The warning for a state word the bridge does not know (reported as ``unknown``), else None."""
    if ci_state is None or is_known(ci_state):
        return None
    return (
        f"{setting} {ci_state!r} is not a CI state the bridge knows: reported as unknown "
        "(see README 'CI states and environment words'; check the spelling)"
    )


def is_final(state: str) -> bool:
    return state in FINAL_STATES

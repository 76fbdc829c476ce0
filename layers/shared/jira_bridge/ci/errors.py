"""What the CI flow raises for a caller to see, in one light module (no pydantic, no clients): the
handler maps each to its answer at import time without importing the modules that raise them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jira_bridge.ci.reporting import ReportOutcome


class PayloadInvalid(ValueError):
    """Not a payload of its source; the message says what is wrong, for the sender (answer 400)."""


class NotReported(Exception):
    """A well-formed event the bridge does not report to Jira (a push, an ``inactive`` deployment)."""


class NotAnIssueKey(ValueError):
    pass


class GatingQueryInvalid(ValueError):
    """The query names Jira's gating status but not all of pipeline, environment and deployment."""


class CriteriaInvalid(ValueError):
    """The caller's approval criteria cannot be evaluated (Jira refused the JQL...): answer 400 with why."""


class ProjectNotAllowed(PermissionError):
    """The caller is limited to other Jira projects (answer 403; Jira is not asked)."""


class IssueStepRefused(ValueError):
    """A pipeline issue step that cannot be applied as sent (a field, a status, Jira's refusal): 422 with why."""


class IdempotencyKeyReused(ValueError):
    """The same idempotency key with another request from the same caller (answer 422)."""


class NotFoundInJira(LookupError):
    """Jira has no such issue or deployment, or the bridge's account may not see it (answer 404)."""


class DeliveryInProgress(Exception):
    """The same delivery is being reported by another invocation right now."""


class DeliveryFailed(Exception):
    """A delivery with an ``error`` result (the bridge's own Jira credentials failed, or a connector
    has none for builds/deployments). Raised inside the once-per-delivery work so that nothing is
    recorded: a retry after the credentials are fixed reports normally, and an EventBridge event
    fails its invocation (Lambda retries it, then sends it to the on-failure destination). Resending
    the runs of the same delivery that were reported is harmless (same update sequence numbers)."""

    def __init__(self, outcome: ReportOutcome) -> None:
        self.outcome = outcome
        errors = [r for r in outcome.results if r.status == "error"]
        reasons = "; ".join(dict.fromkeys(r.reason for r in errors))
        super().__init__(f"{len(errors)} of {len(outcome.results)} runs not reported: {reasons}")

"""One delivery of CI runs (a notification body, a webhook, an EventBridge event) reported once.

:class:`CiDelivery` reports the runs through the reporter inside the once-per-delivery wrapper
(:mod:`jira_bridge.ci.redelivery`), then counts and logs the outcome: metrics for the dashboard and
one log line per run (a warning for words it did not recognise, Jira's whole answer where
``LOG_LEVEL=debug`` asked). What a caller gets back is :meth:`Delivered.answer`: 202 when everything
was reported or skipped, 422 when Jira rejected something; failures raise (``DeliveryFailed`` when
the bridge's own credentials failed, ``DeliveryInProgress``, ``JiraError`` when Jira is unavailable)
and leave no record, so a retry reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from jira_bridge.ci.errors import DeliveryFailed
from jira_bridge.ci.model import CiRun
from jira_bridge.ci.redelivery import Once
from jira_bridge.ci.reporting import CiReporter, ReportOutcome
from jira_bridge.observability import logger, metrics

_STATUS_FOR = {"error": 502, "rejected": 422}


def count(name: str, value: float = 1) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@dataclass(frozen=True)
class Delivered:
    outcome: ReportOutcome
    fresh: bool
    """Whether this call reported it (``False``: answered from the first delivery's outcome)."""

    @property
    def status(self) -> int:
        return _STATUS_FOR.get(self.outcome.worst, 202)

    def answer(self) -> dict[str, Any]:
        return outcome_body(self.outcome, self.fresh)


def outcome_body(outcome: ReportOutcome, fresh: bool = True) -> dict[str, Any]:
    return {"results": [r.as_dict() for r in outcome.results], "requests": len(outcome.requests),
            "duplicate": not fresh}


class CiDelivery:
    def __init__(self, once: Once, reporter: CiReporter) -> None:
        self.once = once
        self.reporter = reporter

    def __call__(self, key: str, runs: Sequence[CiRun], projects: Sequence[str] | None = None) -> Delivered:
        """Report ``runs`` once per ``key`` (``projects``: the caller's, ``None`` for any)."""

        def work() -> dict[str, Any]:
            reported = self.reporter.report(runs, projects)
            if reported.worst == "error":
                raise DeliveryFailed(reported)  # inside the idempotent call: Powertools keeps no record
            return reported.as_dict()

        try:
            stored, fresh = self.once(key, work)
        except DeliveryFailed as failed:
            record(failed.outcome, fresh=True)
            raise
        delivered = Delivered(ReportOutcome.from_dict(stored), fresh)
        record(delivered.outcome, fresh)
        return delivered


def record(outcome: ReportOutcome, fresh: bool) -> None:
    """Metrics and one log line per run (and Jira's whole answer where ``LOG_LEVEL=debug`` asked)."""
    if not fresh:
        count("CiDuplicateDeliveries")
        logger.info("ci delivery already reported", extra={"results": len(outcome.results)})
        return
    count("CiNotifications", len(outcome.results))
    count("CiBuildsReported", outcome.count("reported", "build"))
    count("CiDeploymentsReported", outcome.count("reported", "deployment"))
    count("CiNotificationsSkipped", outcome.count("skipped"))
    count("CiEntitiesAccepted", sum(r.accepted for r in outcome.requests))
    count("CiEntitiesRejected", outcome.count("rejected"))  # not those whose keys Jira just does not know
    count("CiUnknownIssueKeys", sum(r.unknown_issue_keys for r in outcome.requests))
    count("CiJiraRequests", len(outcome.requests))
    count("CiFailures", outcome.count("rejected") + outcome.count("error"))
    for result in outcome.results:
        extra = {"index": result.index, "kind": result.kind, "status": result.status, "reason": result.reason,
                 "state": result.state, "issue_keys": list(result.issue_keys)}
        if result.unknown_issue_keys:
            extra["unknown_issue_keys"] = list(result.unknown_issue_keys)
        if result.messages:
            extra["jira_messages"] = list(result.messages)
        if result.warnings:
            logger.warning("ci run words not recognised", extra={**extra, "warnings": list(result.warnings)})
        if result.status in ("rejected", "error"):
            logger.error("ci run not reported", extra=extra)
        else:
            logger.info(f"ci run {result.status}", extra=extra)
    for request in outcome.requests:
        if request.debug:
            logger.info("jira answer", extra={"connector": request.connector, "kind": request.kind,
                                              "answer": request.answer})

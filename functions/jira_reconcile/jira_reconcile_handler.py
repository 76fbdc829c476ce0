"""Scheduled: replay, for every connector, the Jira changes the webhooks missed since the last run."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jira_bridge import adapters
from jira_bridge.observability import logger, metrics, tracer
from jira_bridge.settings import JiraChangesSettings, load_settings


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = load_settings(JiraChangesSettings)
    change_sync = adapters.jira_change_sync(settings)
    projects = change_sync.runbooks.linked_projects()
    routing = adapters.connector_registry(settings).routing
    reports = []
    for connector in sorted(routing.connector_names()):
        owned = [p for p in projects if routing.connector_for(p) == connector]
        report = adapters.reconciler(settings).run(connector, owned)
        metrics.add_metric(name="ReconciledRequests", unit=MetricUnit.Count, value=report.requests)
        logger.info("reconciled", extra={"connector": connector, "since": report.since.isoformat(),
                                         "issues": report.issues_seen, "linked": report.linked,
                                         "requests": report.requests, "notes": report.notes})
        reports.append({"connector": connector, "issues": report.issues_seen, "linked": report.linked,
                        "requests": report.requests})
    return {"reconciled": reports}

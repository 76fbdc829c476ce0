"""Scheduled: replay, for every connector, the Jira changes the webhooks missed since the last run."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jira_bridge import adapters
from jira_bridge.errors import ConfigurationError
from jira_bridge.invocation import invocation_budget
from jira_bridge.observability import logger, metrics, tracer
from jira_bridge.settings import JiraChangesSettings, load_settings


@logger.inject_lambda_context(clear_state=True, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with invocation_budget(context):  # Jira retries end before the function times out
        return reconcile_all()


def reconcile_all() -> dict[str, Any]:
    """Every connector in turn; one failing connector does not stop the others (it is re-raised after)."""
    settings = load_settings(JiraChangesSettings)
    problem = adapters.config_problem(settings, "runbooks.yaml", "connectors.yaml")  # logged once per container
    if problem is not None:
        raise ConfigurationError(problem)
    change_sync = adapters.jira_change_sync(settings)
    projects = change_sync.runbooks.linked_projects()
    routing = adapters.connector_registry(settings).routing
    reports: list[dict[str, Any]] = []
    failures: list[str] = []
    for connector in sorted(routing.connector_names()):
        owned = [p for p in projects if routing.connector_for(p) == connector]
        try:
            report = adapters.reconciler(settings).run(connector, owned)
        except Exception as error:  # noqa: BLE001 - isolate connectors; the run still fails below
            logger.exception("reconciliation failed", extra={"connector": connector})
            metrics.add_metric(name="ReconcileFailures", unit=MetricUnit.Count, value=1)
            failures.append(f"{connector}: {error}")
            continue
        metrics.add_metric(name="ReconciledRequests", unit=MetricUnit.Count, value=report.requests)
        logger.info("reconciled", extra={"connector": connector, "since": report.since.isoformat(),
                                         "issues": report.issues_seen, "linked": report.linked,
                                         "requests": report.requests, "notes": report.notes})
        reports.append({"connector": connector, "issues": report.issues_seen, "linked": report.linked,
                        "requests": report.requests})
    if failures:  # the on-failure destination records the run; its alarm tells someone
        raise RuntimeError("reconciliation failed for " + "; ".join(failures))
    return {"reconciled": reports}

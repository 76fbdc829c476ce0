"""CI -> Jira: build and deployment information on the issues a pipeline touched, and an approval gate.

* ``POST /ci/notify``: the generic notification (one, or ``{"notifications": [...]}``), from a
  caller authenticated by API key or HMAC (``jira_bridge.ci.callers``) before anything is parsed.
* ``POST /webhooks/github``: ``workflow_run`` and ``deployment_status``, verified with
  ``X-Hub-Signature-256`` before parsing.
* ``POST /webhooks/gitlab``: GitLab's Pipeline Hook and Deployment Hook, verified with
  ``X-Gitlab-Token`` before parsing.
* ``GET /ci/approval/{issueKey}``: approved / rejected / waiting (``jira_bridge.ci.approval``).
* EventBridge rules on the default bus: CodeBuild "Build State Change" and CodePipeline
  "Pipeline Execution State Change" (async invocations: a transient Jira failure raises, so Lambda
  retries and then sends the event to the on-failure destination).

Every delivery is reported once (``jira_bridge.ci.redelivery``). Answers to a notification: 202 when
everything was reported or skipped (no issue key, another ``STATE``, only unknown keys), 422 when
Jira rejected something (its messages are in the answer), 502 when the bridge's own Jira credentials
failed, 503 (retry) when Jira is unavailable. Neither a 502 nor a 503 is recorded, so a retry reports;
an EventBridge event whose credentials failed raises like a transient failure.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jira_bridge import adapters
from jira_bridge.errors import ConfigurationError
from jira_bridge.invocation import invocation_budget
from jira_bridge.observability import logger, metrics, tracer
from jira_bridge.settings import CiNotifySettings, load_settings
from jira_bridge.sqs_ids import sqs_id
from jira_bridge.webhooks.http import BodyRejected, header, raw_body

if TYPE_CHECKING:
    from jira_bridge.ci.callers import Caller, CallerDirectory
    from jira_bridge.ci.model import CiRun
    from jira_bridge.ci.reporting import ReportOutcome

app = APIGatewayRestResolver()
RETRY_AFTER_SECONDS = 30
_STATUS_FOR = {"error": 502, "rejected": 422}
DEPLOYMENT_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits within Jira's int64 (not str.isdigit: '²')


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type="application/json", body=body, headers=headers)


def _settings() -> CiNotifySettings:
    settings: CiNotifySettings = load_settings(CiNotifySettings)
    return settings


def _count(name: str, value: float = 1) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


# ----- authentication (fail closed, before any parsing) -----------------------------------------


def _directory() -> CallerDirectory:
    return adapters.ci_callers(_settings()).directory()


def _authenticated(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware, verify: Any) -> Response[Any]:
    from jira_bridge.ci.callers import Unauthenticated

    event = resolver.current_event.raw_event
    try:
        body = raw_body(event)
        caller = verify(event, body)
    except BodyRejected as error:
        return _json(error.status, {"message": str(error)})
    except ConfigurationError as error:
        logger.error("ci caller rejected: callers secret not usable", extra={"reason": str(error)})
        return _json(401, {"message": "credentials cannot be verified"})
    except Unauthenticated as error:
        _count("CiAuthRejected")
        logger.warning("ci caller rejected", extra={"path": event.get("path"), "reason": str(error)})
        return _json(401, {"message": "invalid credentials"})
    logger.append_keys(caller=caller.name)
    resolver.append_context(caller=caller, body=body)  # type: ignore[no-untyped-call]
    return next_middleware(resolver)


def authenticate_caller(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """API key or HMAC: of the body, or for a GET of its method, path, query and timestamp."""
    from jira_bridge.ci.callers import SignedRequest

    def verify(event: dict[str, Any], body: bytes) -> Caller:
        method = str(event.get("httpMethod") or "").upper()
        request = SignedRequest(method, str(event.get("path") or ""), _query_pairs(event)) if method == "GET" else None
        return _directory().authenticate(lambda name: header(event, name), body, request)

    return _authenticated(resolver, next_middleware, verify)


def _query_pairs(event: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Every query parameter API Gateway decoded, repeated names included."""
    multi = event.get("multiValueQueryStringParameters") or {}
    if multi:
        return tuple((str(k), str(v)) for k, values in multi.items() for v in values or [])
    return tuple((str(k), str(v)) for k, v in (event.get("queryStringParameters") or {}).items())


def verify_github(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """``X-Hub-Signature-256`` with the GitHub webhook secret (or ``?caller=NAME``'s hmac_secret)."""

    def verify(event: dict[str, Any], body: bytes) -> Caller:
        caller = (event.get("queryStringParameters") or {}).get("caller")
        return _directory().github(body, header(event, "X-Hub-Signature-256"), caller)

    return _authenticated(resolver, next_middleware, verify)


def verify_gitlab(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """``X-Gitlab-Token``: the GitLab webhook token, or a caller's ``gitlab_token``."""

    def verify(event: dict[str, Any], _body: bytes) -> Caller:
        return _directory().gitlab(header(event, "X-Gitlab-Token"))

    return _authenticated(resolver, next_middleware, verify)


# ----- reporting -----------------------------------------------------------------------------------


def _record(outcome: ReportOutcome, fresh: bool) -> None:
    """Metrics and one log line per run (and Jira's whole answer where ``LOG_LEVEL=debug`` asked)."""
    if not fresh:
        _count("CiDuplicateDeliveries")
        logger.info("ci delivery already reported", extra={"results": len(outcome.results)})
        return
    _count("CiNotifications", len(outcome.results))
    _count("CiBuildsReported", outcome.count("reported", "build"))
    _count("CiDeploymentsReported", outcome.count("reported", "deployment"))
    _count("CiNotificationsSkipped", outcome.count("skipped"))
    _count("CiEntitiesAccepted", sum(r.accepted for r in outcome.requests))
    _count("CiEntitiesRejected", outcome.count("rejected"))  # not those whose keys Jira just does not know
    _count("CiUnknownIssueKeys", sum(r.unknown_issue_keys for r in outcome.requests))
    _count("CiJiraRequests", len(outcome.requests))
    _count("CiFailures", outcome.count("rejected") + outcome.count("error"))
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


def deliver(key: str, runs: list[CiRun], caller: Caller | None, context: Any) -> tuple[ReportOutcome, bool]:
    """Report ``runs`` once per ``key``: (outcome, whether this call reported it). Raises on a
    transient Jira failure, and :class:`~jira_bridge.ci.reporting.DeliveryFailed` when the bridge's own
    credentials failed (``error``); neither is recorded, so the retry reports."""
    from jira_bridge.ci.reporting import DeliveryFailed, ReportOutcome

    settings = _settings()
    once = adapters.ci_once(settings)
    once.register_lambda_context(context)
    reporter = adapters.ci_reporter(settings)
    projects = caller.projects if caller is not None else None

    def work() -> dict[str, Any]:
        reported = reporter.report(runs, projects)
        if reported.worst == "error":
            raise DeliveryFailed(reported)  # inside the idempotent call: Powertools keeps no record
        return reported.as_dict()

    try:
        stored, fresh = once(key, work)
    except DeliveryFailed as failed:
        _record(failed.outcome, fresh=True)
        raise
    outcome = ReportOutcome.from_dict(stored)
    _record(outcome, fresh)
    return outcome, fresh


def _outcome_body(outcome: ReportOutcome, fresh: bool) -> dict[str, Any]:
    return {"results": [r.as_dict() for r in outcome.results], "requests": len(outcome.requests),
            "duplicate": not fresh}


def _answer(key: str, runs: list[CiRun], caller: Caller) -> Response[dict[str, Any]]:
    from jira_bridge.ci.redelivery import DeliveryInProgress
    from jira_bridge.ci.reporting import DeliveryFailed
    from jira_bridge.jira.errors import JiraError

    try:
        outcome, fresh = deliver(key, runs, caller, app.lambda_context)
    except DeliveryFailed as failed:  # the same 502 as always, but not recorded: a retry reports
        return _json(_STATUS_FOR["error"], _outcome_body(failed.outcome, fresh=True))
    except DeliveryInProgress:
        return _json(409, {"message": "the same delivery is being reported right now; retry later"},
                     {"Retry-After": "5"})
    except ConfigurationError as error:
        logger.error("ci delivery failed: configuration", extra={"reason": str(error)})
        return _json(500, {"message": "the bridge is misconfigured (see its logs)"})
    except JiraError as error:
        _count("CiJiraUnavailable")
        logger.warning("ci delivery deferred: Jira unavailable", extra={"reason": str(error)})
        return _json(503, {"message": "Jira is unavailable; retry later"}, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    return _json(_STATUS_FOR.get(outcome.worst, 202), _outcome_body(outcome, fresh))


# ----- routes --------------------------------------------------------------------------------------


@app.post("/ci/notify", middlewares=[authenticate_caller])
def ci_notify() -> Response[dict[str, Any]]:
    from jira_bridge.ci.sources.generic import NotificationInvalid, parse_body, to_run

    body: bytes = app.context["body"]
    caller: Caller = app.context["caller"]
    try:
        notifications = parse_body(body)
    except NotificationInvalid as error:
        return _json(400, {"message": f"not a CI notification: {error}"})
    received = datetime.now(UTC)
    runs = [to_run(n, received) for n in notifications]
    key = f"notify:{caller.name}:{hashlib.sha256(body).hexdigest()}"
    return _answer(key, runs, caller)


@app.post("/webhooks/github", middlewares=[verify_github])
def github_webhook() -> Response[dict[str, Any]]:
    from pydantic import ValidationError

    from jira_bridge.ci.sources import github
    from jira_bridge.ci.sources.generic import describe

    body: bytes = app.context["body"]
    caller: Caller = app.context["caller"]
    event_name = header(app.current_event.raw_event, "X-GitHub-Event") or ""
    # GitHub signs the body, not its headers: the delivery is identified by what is signed (the body's
    # hash) plus GitHub's delivery id, so a captured body replayed under a fresh X-GitHub-Delivery is
    # still the same delivery. Header values are bounded before they become log keys.
    delivery = sqs_id(header(app.current_event.raw_event, "X-GitHub-Delivery") or "none")
    logger.append_keys(github_event=sqs_id(event_name), github_delivery=delivery)
    if event_name == "ping":
        return _json(200, {"message": "pong"})
    if event_name not in github.HANDLED_EVENTS:
        return _json(202, {"message": f"event {event_name or '(none)'} is not reported to Jira"})
    native = adapters.ci_config(_settings()).native
    received = datetime.now(UTC)
    try:
        if event_name == "workflow_run":
            run: CiRun | None = github.workflow_run(
                github.WorkflowRunEvent.model_validate_json(body), native, received)
        else:
            run = github.deployment_status(github.DeploymentStatusEvent.model_validate_json(body), native, received)
    except ValidationError as error:
        return _json(400, {"message": f"not a GitHub {event_name} payload: {describe(error)}"})
    if run is None:
        return _json(202, {"message": "deployment state inactive is not reported"})
    return _answer(f"github:{hashlib.sha256(body).hexdigest()}", [run], caller)


@app.post("/webhooks/gitlab", middlewares=[verify_gitlab])
def gitlab_webhook() -> Response[dict[str, Any]]:
    from pydantic import ValidationError

    from jira_bridge.ci.sources import gitlab
    from jira_bridge.ci.sources.generic import describe

    body: bytes = app.context["body"]
    caller: Caller = app.context["caller"]
    raw_event = app.current_event.raw_event
    event_name = header(raw_event, "X-Gitlab-Event") or ""
    # GitLab's token proves the sender, not the body: a delivery is identified by its body's hash (a
    # retried delivery resends the same body). Header values are bounded before they become log keys.
    delivery = sqs_id(header(raw_event, "Idempotency-Key") or header(raw_event, "X-Gitlab-Event-UUID") or "none")
    logger.append_keys(gitlab_event=sqs_id(event_name or "none"), gitlab_delivery=delivery)
    if event_name not in gitlab.HANDLED_EVENTS:
        return _json(202, {"message": f"event {event_name or '(none)'} is not reported to Jira"})
    native = adapters.ci_config(_settings()).native
    received = datetime.now(UTC)
    try:
        if event_name == gitlab.PIPELINE_HOOK:
            run = gitlab.pipeline_run(gitlab.PipelineHook.model_validate_json(body), native, received)
        else:
            run = gitlab.deployment_run(gitlab.DeploymentHook.model_validate_json(body), native, received)
    except ValidationError as error:
        return _json(400, {"message": f"not a GitLab {event_name}: {describe(error)}"})
    return _answer(f"gitlab:{caller.name}:{hashlib.sha256(body).hexdigest()}", [run], caller)


@app.get("/ci/approval/<issueKey>", middlewares=[authenticate_caller])
def approval(issueKey: str) -> Response[dict[str, Any]]:
    from jira_bridge.ci.approval import GatedDeployment, NotAnIssueKey, ProjectNotAllowed
    from jira_bridge.jira.errors import JiraError, JiraNotFound, JiraRequestRefused

    caller: Caller = app.context["caller"]
    query = app.current_event.query_string_parameters or {}
    gated = None
    wanted = {"pipeline", "deployment"} | ({"environmentId"} if "environmentId" in query else {"environment"})
    if wanted & set(query):
        missing = sorted(wanted - set(query))
        if missing or not DEPLOYMENT_NUMBER.fullmatch(str(query["deployment"])):
            return _json(400, {"message": "Jira's gating status needs pipeline, environment (or environmentId) "
                                          "and deployment (a number)" + (f"; missing {', '.join(missing)}" if missing
                                                                         else "")})
        environment = query.get("environmentId") or query["environment"]
        gated = GatedDeployment(query["pipeline"], environment, int(query["deployment"]),
                                environment_is_id="environmentId" in query)
    try:
        answer = adapters.approval_gate(_settings()).decide(issueKey, gated, caller.projects)
    except NotAnIssueKey as error:
        return _json(400, {"message": str(error)})
    except ProjectNotAllowed as error:
        logger.warning("approval refused: project outside the caller's", extra={"reason": str(error)})
        return _json(403, {"message": str(error)})
    except JiraNotFound:
        what = "deployment" if gated else "issue"
        return _json(404, {"message": f"Jira has no such {what} (or the bridge's account may not see it)"})
    except JiraRequestRefused as error:
        logger.error("approval lookup refused", extra={"reason": str(error)})
        return _json(502, {"message": "Jira refused the bridge's request (see its logs)"})
    except JiraError as error:
        logger.warning("approval lookup deferred: Jira unavailable", extra={"reason": str(error)})
        return _json(503, {"message": "Jira is unavailable; retry later"}, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    except ConfigurationError as error:
        logger.error("approval lookup failed: configuration", extra={"reason": str(error)})
        return _json(500, {"message": "the bridge is misconfigured (see its logs)"})
    _count(f"CiApproval{answer.decision.title()}")
    logger.info("approval", extra=answer.as_dict())
    return _json(200, answer.as_dict())


# ----- EventBridge (CodeBuild, CodePipeline) --------------------------------------------------------


def handle_aws_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A state change from an EventBridge rule. Raises on transient failures and when the bridge's own
    credentials failed (``DeliveryFailed``): Lambda retries, then sends the event to ``CiEventsFailures``."""
    from pydantic import ValidationError

    from jira_bridge.ci.sources import codebuild, codepipeline
    from jira_bridge.ci.sources.generic import describe

    logger.set_correlation_id(str(event.get("id")))
    source, detail_type = event.get("source"), event.get("detail-type")
    native = adapters.ci_config(_settings()).native
    try:
        if source == codebuild.SOURCE and detail_type == codebuild.DETAIL_TYPE:
            run = codebuild.to_run(codebuild.CodeBuildEvent.model_validate(event), native)
        elif source == codepipeline.SOURCE and detail_type == codepipeline.DETAIL_TYPE:
            run = codepipeline.to_run(codepipeline.CodePipelineEvent.model_validate(event), native)
        else:
            logger.warning("event not reported to Jira", extra={"source": source, "detail_type": detail_type})
            return {"ignored": f"{source} {detail_type}"}
    except ValidationError as error:  # a retry cannot fix it: log and drop
        _count("CiEventsInvalid")
        logger.error("invalid CI event dropped", extra={"source": source, "reason": describe(error)})
        return {"invalid": describe(error)}
    outcome, fresh = deliver(f"eventbridge:{event.get('id')}", [run], None, context)
    return {"results": [r.as_dict() for r in outcome.results], "duplicate": not fresh}


# clear_state: keys appended for one caller or delivery never stay on the logger for the next
# invocation; log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event carries credentials.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True,
                              log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _settings()  # fail at cold start on a bad environment
    with invocation_budget(context):  # Jira retries end before API Gateway's 29 s or the Lambda timeout
        if "httpMethod" in event:
            return app.resolve(event, context)
        return handle_aws_event(event, context)

"""CI -> Jira: build and deployment information on the issues a pipeline touched, and an approval gate.

* ``POST /ci/notify``: the generic notification (one, or ``{"notifications": [...]}``), from a
  caller authenticated by API key or HMAC (``jira_bridge.ci.callers``) before anything is parsed.
* ``POST /webhooks/github``: ``workflow_run`` and ``deployment_status``, verified with
  ``X-Hub-Signature-256`` before parsing.
* ``POST /webhooks/gitlab``: GitLab's Pipeline Hook and Deployment Hook, verified with
  ``X-Gitlab-Token`` before parsing.
* ``GET /ci/approval/{issueKey}``: approved / rejected / waiting (``jira_bridge.ci.approval``);
  ``POST`` the same path with the request's own approval/rejection criteria (JQL or conditions).
* ``POST /ci/issues``: a pipeline step creates or updates an issue, moves it, comments
  (``jira_bridge.ci.issue_steps``), once per caller and ``idempotencyKey``.
* EventBridge rules on the default bus: CodeBuild "Build State Change" and CodePipeline
  "Pipeline Execution State Change" (async invocations: a transient Jira failure raises, so Lambda
  retries and then sends the event to the on-failure destination).

The handler is wiring: authentication middlewares (before any parsing), one call into the layer per
route, and every error mapped to its answer in one place (``_ANSWERS``). Every delivery is reported
once (``jira_bridge.ci.delivery``, ``jira_bridge.ci.redelivery``). Answers to a notification: 202 when
everything was reported or skipped (no issue key, another ``STATE``, only unknown keys), 422 when
Jira rejected something (its messages are in the answer), 502 when the bridge's own Jira credentials
failed, 503 (retry) when Jira is unavailable. Neither a 502 nor a 503 is recorded, so a retry reports;
an EventBridge event whose credentials failed raises like a transient failure.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jira_bridge import adapters
from jira_bridge.ci.errors import (
    CriteriaInvalid,
    DeliveryFailed,
    DeliveryInProgress,
    GatingQueryInvalid,
    IdempotencyKeyReused,
    IssueStepRefused,
    NotAnIssueKey,
    NotFoundInJira,
    NotReported,
    PayloadInvalid,
    ProjectNotAllowed,
)
from jira_bridge.errors import ConfigurationError
from jira_bridge.invocation import invocation_budget
from jira_bridge.jira.errors import JiraError, JiraRequestRefused
from jira_bridge.observability import logger, metrics, tracer
from jira_bridge.settings import CiNotifySettings, load_settings
from jira_bridge.sqs_ids import sqs_id
from jira_bridge.webhooks.http import BodyRejected, header, misconfigured, raw_body

if TYPE_CHECKING:
    from jira_bridge.ci.callers import Caller, CallerDirectory
    from jira_bridge.ci.delivery import Delivered
    from jira_bridge.ci.model import CiRun

app = APIGatewayRestResolver()
RETRY_AFTER_SECONDS = 30


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type="application/json", body=body, headers=headers)


def _settings() -> CiNotifySettings:
    settings: CiNotifySettings = load_settings(CiNotifySettings)
    return settings


def count(name: str, value: float = 1) -> None:
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
        count("CiAuthRejected")
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


# ----- errors: the one place that maps each to its answer ------------------------------------------


def _answer_for(error: Exception) -> Response[dict[str, Any]]:
    """What a caller gets for an error any route raised (Powertools calls this for ``_MAPPED``)."""
    match error:
        case PayloadInvalid() | NotAnIssueKey() | GatingQueryInvalid() | CriteriaInvalid():
            return _json(400, {"message": str(error)})
        case IssueStepRefused() | IdempotencyKeyReused():
            return _json(422, {"message": str(error)})
        case NotReported():
            return _json(202, {"message": str(error)})  # a 2xx: the sender must not retry it
        case ProjectNotAllowed():
            logger.warning("ci request refused: project outside the caller's", extra={"reason": str(error)})
            return _json(403, {"message": str(error)})
        case NotFoundInJira():
            return _json(404, {"message": str(error)})
        case DeliveryFailed():  # the bridge's own credentials: not recorded, so a retry reports
            from jira_bridge.ci.delivery import outcome_body

            return _json(502, outcome_body(error.outcome))
        case DeliveryInProgress():
            return _json(409, {"message": "the same delivery is being reported right now; retry later"},
                         {"Retry-After": "5"})
        case ConfigurationError():
            logger.error("ci request failed: configuration", extra={"reason": str(error)})
            return _json(500, {"message": "the bridge is misconfigured (see its logs)"})
        case JiraRequestRefused():
            logger.error("ci request refused by Jira", extra={"reason": str(error)})
            return _json(502, {"message": "Jira refused the bridge's request (see its logs)"})
        case JiraError():
            count("CiJiraUnavailable")
            logger.warning("ci request deferred: Jira unavailable", extra={"reason": str(error)})
            return _json(503, {"message": "Jira is unavailable; retry later"},
                         {"Retry-After": str(RETRY_AFTER_SECONDS)})
    raise error  # not mapped: Lambda reports the failure


_MAPPED: list[type[Exception]] = [
    PayloadInvalid, NotAnIssueKey, GatingQueryInvalid, CriteriaInvalid, NotReported, ProjectNotAllowed, NotFoundInJira,
    IssueStepRefused, IdempotencyKeyReused, DeliveryFailed, DeliveryInProgress, ConfigurationError, JiraError,
]
app.exception_handler(_MAPPED)(_answer_for)


# ----- routes --------------------------------------------------------------------------------------


def _deliver(key: str, runs: list[CiRun], caller: Caller | None, context: Any) -> Delivered:
    settings = _settings()
    adapters.ci_once(settings).register_lambda_context(context)  # in-progress records expire with us
    return adapters.ci_delivery(settings)(key, runs, caller.projects if caller is not None else None)


def _answer(key: str, runs: list[CiRun], caller: Caller) -> Response[dict[str, Any]]:
    delivered = _deliver(key, runs, caller, app.lambda_context)
    return _json(delivered.status, delivered.answer())


@app.post("/ci/notify", middlewares=[authenticate_caller])
def ci_notify() -> Response[dict[str, Any]]:
    from jira_bridge.ci.sources.generic import parse_body, to_run

    body: bytes = app.context["body"]
    caller: Caller = app.context["caller"]
    received = datetime.now(UTC)
    runs = [to_run(n, received) for n in parse_body(body)]
    return _answer(f"notify:{caller.name}:{hashlib.sha256(body).hexdigest()}", runs, caller)


@app.post("/webhooks/github", middlewares=[verify_github])
def github_webhook() -> Response[dict[str, Any]]:
    from jira_bridge.ci.sources import github

    body: bytes = app.context["body"]
    event_name = header(app.current_event.raw_event, "X-GitHub-Event") or ""
    # GitHub signs the body, not its headers: the delivery is identified by what is signed (the body's
    # hash), so a captured body replayed under a fresh X-GitHub-Delivery is still the same delivery.
    # Header values are bounded before they become log keys.
    delivery = sqs_id(header(app.current_event.raw_event, "X-GitHub-Delivery") or "none")
    logger.append_keys(github_event=sqs_id(event_name or "none"), github_delivery=delivery)
    if event_name == "ping":
        return _json(200, {"message": "pong"})
    run = github.run_from(event_name, body, adapters.ci_config(_settings()).native, datetime.now(UTC))
    return _answer(f"github:{hashlib.sha256(body).hexdigest()}", [run], app.context["caller"])


@app.post("/webhooks/gitlab", middlewares=[verify_gitlab])
def gitlab_webhook() -> Response[dict[str, Any]]:
    from jira_bridge.ci.sources import gitlab

    body: bytes = app.context["body"]
    caller: Caller = app.context["caller"]
    raw_event = app.current_event.raw_event
    event_name = header(raw_event, "X-Gitlab-Event") or ""
    # GitLab's token proves the sender, not the body: a delivery is identified by its body's hash (a
    # retried delivery resends the same body). Header values are bounded before they become log keys.
    delivery = sqs_id(header(raw_event, "Idempotency-Key") or header(raw_event, "X-Gitlab-Event-UUID") or "none")
    logger.append_keys(gitlab_event=sqs_id(event_name or "none"), gitlab_delivery=delivery)
    run = gitlab.run_from(event_name, body, adapters.ci_config(_settings()).native, datetime.now(UTC))
    return _answer(f"gitlab:{caller.name}:{hashlib.sha256(body).hexdigest()}", [run], caller)


@app.get("/ci/approval/<issueKey>", middlewares=[authenticate_caller])
def approval(issueKey: str) -> Response[dict[str, Any]]:
    from jira_bridge.ci.approval import gated_from_query

    caller: Caller = app.context["caller"]
    gated = gated_from_query(app.current_event.query_string_parameters or {})
    answer = adapters.approval_gate(_settings()).decide(issueKey, gated, caller.projects)
    count(f"CiApproval{answer.decision.title()}")
    logger.info("approval", extra=answer.as_dict())
    return _json(200, answer.as_dict())


@app.post("/ci/approval/<issueKey>", middlewares=[authenticate_caller])
def approval_with_criteria(issueKey: str) -> Response[dict[str, Any]]:
    """The same decision, from the approval/rejection criteria in the (signed) body."""
    from jira_bridge.ci.approval import parse_approval_request

    caller: Caller = app.context["caller"]
    request = parse_approval_request(app.context["body"])
    answer = adapters.approval_gate(_settings()).decide(issueKey, None, caller.projects, request)
    count(f"CiApproval{answer.decision.title()}")
    logger.info("approval", extra=answer.as_dict())
    return _json(200, answer.as_dict())


@app.post("/ci/issues", middlewares=[authenticate_caller])
def issue_step() -> Response[dict[str, Any]]:
    """Create or update an issue, move it to a status, comment (``jira_bridge.ci.issue_steps``)."""
    from jira_bridge.ci.issue_steps import parse_issue_step

    caller: Caller = app.context["caller"]
    settings = _settings()
    adapters.ci_issue_once(settings).register_lambda_context(app.lambda_context)  # in-progress expires with us
    step = parse_issue_step(app.context["body"])
    answer = adapters.ci_issue_steps(settings).apply(step, caller.name, caller.projects)
    count("CiIssueStepDuplicates" if answer.duplicate else f"CiIssueSteps{answer.status}")
    logger.info("issue step", extra={"status": answer.status, "issue_key": answer.body.get("issueKey"),
                                     "duplicate": answer.duplicate})
    return _json(answer.status, answer.as_body())


# ----- EventBridge (CodeBuild, CodePipeline) --------------------------------------------------------


def handle_aws_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A state change from an EventBridge rule. Raises on transient failures and when the bridge's own
    credentials failed (``DeliveryFailed``): Lambda retries, then sends the event to ``CiEventsFailures``."""
    from jira_bridge.ci.sources import eventbridge

    logger.set_correlation_id(str(event.get("id")))
    try:
        run = eventbridge.run_from(event, adapters.ci_config(_settings()).native)
    except NotReported as ignored:
        logger.warning("event not reported to Jira", extra={"event": str(ignored)})
        return {"ignored": str(ignored)}
    except PayloadInvalid as error:  # a retry cannot fix it: log and drop
        count("CiEventsInvalid")
        logger.error("invalid CI event dropped", extra={"source": event.get("source"), "reason": str(error)})
        return {"invalid": str(error)}
    delivered = _deliver(f"eventbridge:{event.get('id')}", [run], None, context)
    return {"results": [r.as_dict() for r in delivered.outcome.results], "duplicate": not delivered.fresh}


# clear_state: keys appended for one caller or delivery never stay on the logger for the next
# invocation; log_event=False whatever POWERTOOLS_LOGGER_LOG_EVENT says: the event carries credentials.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True,
                              log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    problem = adapters.config_problem(_settings(), "ci.yaml", "connectors.yaml")  # logged once per container
    if problem is not None:
        if "httpMethod" in event:
            return misconfigured()
        raise ConfigurationError(problem)  # an EventBridge event: Lambda's retries, then the on-failure destination
    with invocation_budget(context):  # Jira retries end before API Gateway's 29 s or the Lambda timeout
        if "httpMethod" in event:
            return app.resolve(event, context)
        return handle_aws_event(event, context)

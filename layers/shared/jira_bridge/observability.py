"""Powertools Logger, Tracer and Metrics, created once and imported everywhere.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, which
template.yaml sets per function. Creating these objects does no I/O.

The Tracer is given an X-Ray provider that loads the X-Ray SDK on first use instead of at import:
the SDK pulls in botocore, ~200 ms that would otherwise sit in every handler's cold import (the
handler imports boto3 itself, lazily, only when it first needs AWS). What it traces is patched with the
first trace call (see ``TRACED_LIBRARIES`` and :func:`_trace_jira_attempts`).

Secrets never reach the logs, whatever the log level: at DEBUG, botocore logs every response body
(``GetSecretValue`` answers included) and urllib3 every request line. Lambda's application log
level (``LoggingConfig``) sets the *root* logger's level, which those loggers would inherit, so the
libraries that carry secrets on the wire get a level of their own here, WARNING: their warnings and
errors still show, their wire traces never do. :func:`quiet_wire_logging` runs at import (no I/O).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from functools import cached_property, lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit  # loaded with Metrics: no import cost of its own
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.tracing.base import BaseProvider

# Libraries whose DEBUG/INFO output is the wire itself: response bodies (secrets), request lines, headers.
WIRE_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "requests", "aws_xray_sdk")


def quiet_wire_logging(level: int = logging.WARNING) -> None:
    """Give the wire loggers their own ``level``: their children (``botocore.parsers``,
    ``urllib3.connectionpool``) inherit it instead of the root logger's. Idempotent."""
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(level)


# AWS calls: X-Ray's botocore patch records one subsegment per call. Jira and PagerDuty calls go through
# urllib3, which X-Ray has no patch for (its "httplib" patch starts recording in an http.client method
# urllib3 2.x never calls): each attempt of the bridge's own transport is recorded instead
# (:func:`_trace_jira_attempts`), as X-Ray's requests patch recorded a requests call.
TRACED_LIBRARIES = ("botocore",)
TRANSPORT_MODULE = "jira_bridge.jira.transport"


def _trace_jira_attempts(module: Any) -> None:
    """Record each HTTP attempt of ``JiraTransport`` as a remote subsegment (host, method, URL without
    the query, status or exception), the shape X-Ray's requests patch gave them."""
    import wrapt
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.models import http
    from aws_xray_sdk.ext.util import get_hostname, strip_url

    def describe(wrapped: Any, instance: Any, args: Any, kwargs: Any, return_value: Any, exception: Any,
                 subsegment: Any, stack: Any) -> None:
        subsegment.put_http_meta(http.METHOD, args[0])
        subsegment.put_http_meta(http.URL, strip_url(args[1]))
        if return_value is not None:
            subsegment.put_http_meta(http.STATUS, return_value.status_code)
        elif exception:
            subsegment.add_exception(exception, stack)

    hostname = lru_cache(maxsize=32)(get_hostname)  # a transport's URLs share its base URL's host

    def traced(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return xray_recorder.record_subsegment(wrapped, instance, args, kwargs, name=hostname(instance.base_url),
                                               namespace="remote", meta_processor=describe)

    wrapt.wrap_function_wrapper(module, "JiraTransport._send", traced)


class LazyXRayProvider(BaseProvider):
    """Powertools' X-Ray provider, imported when the first trace call is made."""

    @cached_property
    def _recorder(self) -> Any:
        import aws_xray_sdk.core

        recorder = aws_xray_sdk.core.xray_recorder
        # Send subsegments as they finish (what Tracer does for its own X-Ray provider).
        recorder.configure(streaming_threshold=0)
        aws_xray_sdk.core.patch(TRACED_LIBRARIES)
        import wrapt

        # When the transport is imported (at once if it already is): a webhook receiver that never calls
        # Jira does not import it just to trace it.
        wrapt.register_post_import_hook(_trace_jira_attempts, TRANSPORT_MODULE)
        return recorder

    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> AbstractContextManager[Any]:  # type: ignore[override]
        return self._recorder.in_subsegment(name=name, **kwargs)  # type: ignore[no-any-return]

    def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AbstractAsyncContextManager[Any]:
        return self._recorder.in_subsegment_async(name=name, **kwargs)  # type: ignore[no-any-return]

    def put_annotation(self, key: str, value: Any) -> None:
        self._recorder.put_annotation(key=key, value=value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self._recorder.put_metadata(key=key, value=value, namespace=namespace)

    def patch(self, modules: Sequence[str]) -> None:
        """Patching happens with the first trace call (see `_recorder`)."""

    def patch_all(self) -> None:
        """Patching happens with the first trace call (see `_recorder`)."""


quiet_wire_logging()
logger = Logger(log_uncaught_exceptions=True)
tracer = Tracer(provider=LazyXRayProvider(), auto_patch=False)
metrics = Metrics()


def record_jira_call(status: int | None, elapsed_ms: float) -> None:
    """One HTTP exchange with Jira, as metrics the dashboard and alarms read: JiraRequests,
    JiraLatency (ms) and JiraRateLimited (429s). Only inside Lambda, whose handlers flush metrics
    (``@metrics.log_metrics``); elsewhere (the CLI, tests) nothing would flush them, so nothing is kept."""
    # No namespace (set from POWERTOOLS_METRICS_NAMESPACE when this module loaded): nothing could flush.
    # Disabled: Powertools keeps what is added without flushing it, and its automatic flush at 100
    # values per metric would then fail; so nothing is added.
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or not metrics.namespace or is_metrics_disabled():
        return

    metrics.add_metric(name="JiraRequests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="JiraLatency", unit=MetricUnit.Milliseconds, value=round(elapsed_ms, 1))
    if status == 429:
        metrics.add_metric(name="JiraRateLimited", unit=MetricUnit.Count, value=1)
    elif status is None or status >= 500:
        metrics.add_metric(name="JiraUnavailable", unit=MetricUnit.Count, value=1)

"""Powertools Logger, Tracer and Metrics, created once and imported everywhere.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, which
template.yaml sets per function. Creating these objects does no I/O.

The Tracer is given an X-Ray provider that loads the X-Ray SDK on first use instead of at import:
the SDK pulls in botocore, ~200 ms that would otherwise sit in every handler's cold import (the
handler imports boto3 itself, lazily, only when it first needs AWS).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from functools import cached_property
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider

# What the bridge calls out through; X-Ray records a subsegment per call once patched.
TRACED_LIBRARIES = ("requests", "botocore")


class LazyXRayProvider(BaseProvider):
    """Powertools' X-Ray provider, imported when the first trace call is made."""

    @cached_property
    def _recorder(self) -> Any:
        import aws_xray_sdk.core

        recorder = aws_xray_sdk.core.xray_recorder
        # Send subsegments as they finish (what Tracer does for its own X-Ray provider).
        recorder.configure(streaming_threshold=0)
        aws_xray_sdk.core.patch(TRACED_LIBRARIES)
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


logger = Logger(log_uncaught_exceptions=True)
tracer = Tracer(provider=LazyXRayProvider(), auto_patch=False)
metrics = Metrics()

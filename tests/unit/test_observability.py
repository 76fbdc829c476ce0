"""X-Ray traces every call out through botocore and requests, patching each as it is imported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import sys
    import botocore.client
    if {requests_first}:
        import requests
    from jira_bridge.observability import tracer

    with tracer.provider.in_subsegment("first traced call"):
        pass
    import wrapt
    call = botocore.client.BaseClient.__dict__["_make_api_call"]
    assert isinstance(call, wrapt.FunctionWrapper), "botocore not traced"
    print("requests imported by tracing:", "requests" in sys.modules and not {requests_first})
    import requests  # the Jira transport's first use
    assert isinstance(requests.Session.__dict__["request"], wrapt.FunctionWrapper), "requests not traced"
    """
)


@pytest.mark.parametrize("requests_first", [False, True])
def test_botocore_and_requests_are_traced_whenever_requests_is_imported(requests_first: bool) -> None:
    environment = {"AWS_LAMBDA_FUNCTION_NAME": "JiraWebhookFunction", "LAMBDA_TASK_ROOT": "/var/task",
                   "AWS_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "probe",
                   "_X_AMZN_TRACE_ID": "Root=1-6750a000-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
                   "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "PYTHONPATH": str(ROOT / "layers" / "shared")}
    done = subprocess.run([sys.executable, "-c", PROBE.format(requests_first=requests_first)], env=environment,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "requests imported by tracing: False" in done.stdout  # patching it does not import it

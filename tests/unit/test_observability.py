"""X-Ray traces every call out: AWS calls through the botocore patch, Jira and PagerDuty calls (urllib3)
through the http.client patch, and botocore's own connections only once."""

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
    import http.client
    import botocore.awsrequest
    import botocore.client
    import urllib3
    import wrapt
    from jira_bridge.observability import tracer

    with tracer.provider.in_subsegment("first traced call"):
        pass
    from aws_xray_sdk.ext.httplib.patch import _ignore_request

    call = botocore.client.BaseClient.__dict__["_make_api_call"]
    assert isinstance(call, wrapt.FunctionWrapper), "botocore not traced"
    assert isinstance(http.client.HTTPConnection.__dict__["_send_request"], wrapt.FunctionWrapper), "http not traced"
    jira = urllib3.connection.HTTPSConnection("acme.atlassian.net")
    assert not _ignore_request(jira, "acme.atlassian.net", "/rest/api/3/issue"), "a Jira call would not be traced"
    for aws in (botocore.awsrequest.AWSHTTPSConnection("dynamodb.us-east-1.amazonaws.com"),
                botocore.awsrequest.AWSHTTPConnection("localhost")):
        assert _ignore_request(aws, aws.host, "/"), "an AWS call would be traced twice"
    print("ok")
    """
)


def test_jira_calls_are_traced_and_aws_calls_once() -> None:
    environment = {"AWS_LAMBDA_FUNCTION_NAME": "JiraWebhookFunction", "LAMBDA_TASK_ROOT": "/var/task",
                   "AWS_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "probe",
                   "_X_AMZN_TRACE_ID": "Root=1-6750a000-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
                   "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "PYTHONPATH": str(ROOT / "layers" / "shared")}
    done = subprocess.run([sys.executable, "-c", PROBE], env=environment,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"

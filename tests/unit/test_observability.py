"""X-Ray traces every call out: AWS calls through its botocore patch, each HTTP attempt of the Jira
transport (urllib3, which X-Ray has no patch for) as a remote subsegment of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import json, sys, threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Jira(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = b'{"accountId": "a"}' if self.path.startswith("/rest/api/3/myself") else b'{"errorMessages": []}'
            self.send_response(200 if self.path.startswith("/rest/api/3/myself") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Jira)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_port}"
    {transport_first}
    import botocore.client
    import wrapt
    from jira_bridge.observability import tracer

    with tracer.provider.in_subsegment("handler"):
        from jira_bridge.jira.errors import JiraError
        from jira_bridge.jira.transport import JiraTransport
        from aws_xray_sdk.core import xray_recorder

        sent = []
        xray_recorder.configure(emitter=type("Capture", (), {
            "send_entity": lambda self, entity: sent.append(entity.to_dict()),
            "set_daemon_address": lambda self, address: None})())
        transport = JiraTransport(site)
        transport.get("/rest/api/3/myself", params={"accountId": "secret-ish"})
        try:
            transport.get("/rest/api/3/issue/NOPE-1")
        except JiraError:
            pass
    call = botocore.client.BaseClient.__dict__["_make_api_call"]
    assert isinstance(call, wrapt.FunctionWrapper), "botocore not traced"
    print(json.dumps([s for s in sent if s.get("namespace") == "remote"]))
    """
)


@pytest.mark.parametrize("transport_first", [False, True])
def test_each_jira_attempt_is_one_remote_subsegment(transport_first: bool) -> None:
    environment = {"AWS_LAMBDA_FUNCTION_NAME": "JiraChangesFunction", "LAMBDA_TASK_ROOT": "/var/task",
                   "AWS_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "probe",
                   "_X_AMZN_TRACE_ID": "Root=1-6750a000-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
                   "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "PYTHONPATH": str(ROOT / "layers" / "shared")}
    probe = PROBE.replace("{transport_first}", "import jira_bridge.jira.transport" if transport_first else "")
    done = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    remote = json.loads(done.stdout.strip().splitlines()[-1])
    assert [(s["name"], s["http"]["request"]["method"], s["http"]["response"]["status"]) for s in remote] == [
        ("127.0.0.1", "GET", 200), ("127.0.0.1", "GET", 404)]
    assert [s["http"]["request"]["url"].split(":", 2)[2].split("/", 1)[1] for s in remote] == [
        "rest/api/3/myself", "rest/api/3/issue/NOPE-1"]
    assert all("?" not in s["http"]["request"]["url"] for s in remote), "the query (e-mails, JQL) stays out of traces"

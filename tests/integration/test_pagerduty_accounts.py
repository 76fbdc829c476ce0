"""Several PagerDuty accounts in one stack, through the stack's own wiring: each account's webhook URL
verified with its own secret, and what Jira says written back to the account the incident came from.

The default account is the stack's secret (`jira-bridge/<stack>/pagerduty`); account "b" has its own
(`.../pagerduty/b`) and its own URL (`/webhooks/pagerduty/b`). Both accounts' REST API is a small
PagerDuty stand-in (below) that answers like PagerDuty's REST API v2 and records who called it.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from jira_bridge import adapters
from jira_bridge.links.store import DynamoLinkStore
from jira_bridge.pagerduty.signature import sign
from jira_bridge.settings import load_settings
from jira_sim.seed import ALICE_EMAIL
from local_runtime.environment import LOCAL_PAGERDUTY_SECRET, LocalEnvironment

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "contracts" / "pagerduty" / "webhooks-v3"
B_WEBHOOK_SECRET = "account-b-webhook-secret"
TOKENS = {"local-pagerduty-token": "default", "account-b-api-token": "b"}  # as the local stack's secrets hold them


@dataclass
class PagerDutyCall:
    account: str  # whose API token authenticated the call
    method: str
    path: str
    sender: str | None  # the From header
    body: dict[str, Any] = field(default_factory=dict)


class FakePagerDuty:
    """PagerDuty's REST API v2 as the sink uses it: `Authorization: Token token=<key>` (401 otherwise,
    as PagerDuty answers an unknown key), `From` required on writes, `PUT /incidents/{id}`, `POST
    /incidents/{id}/notes` (201 with the note), `GET /priorities`. Each call is recorded with the
    account its token belongs to."""

    def __init__(self) -> None:
        self.calls: list[PagerDutyCall] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                token = self.headers.get("Authorization", "").removeprefix("Token token=")
                if token not in TOKENS:
                    self._answer(401, {"error": {"message": "Authentication failed", "code": 2006}})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?")[0]
                fake.calls.append(PagerDutyCall(TOKENS[token], self.command, path, self.headers.get("From"), body))
                if self.command == "GET" and path == "/priorities":
                    self._answer(200, {"priorities": [], "more": False})
                elif self.command in {"PUT", "POST"} and not self.headers.get("From"):
                    self._answer(400, {"error": {"message": "Invalid Input Provided", "code": 2001,
                                                 "errors": ["From header is required"]}})
                elif self.command == "POST" and path.endswith("/notes"):
                    self._answer(201, {"note": {"id": f"N{len(fake.calls)}", "content": body["note"]["content"]}})
                elif self.command == "PUT" and path.startswith("/incidents/"):
                    self._answer(200, {"incident": {"id": path.split("/")[2], "type": "incident"}})
                else:
                    self._answer(404, {"error": {"message": "Not Found", "code": 2100}})

            do_GET = do_PUT = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def pagerduty(env: LocalEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePagerDuty]:
    """The stack with two PagerDuty accounts (default and "b"), `inbound.pagerduty` on, both REST
    APIs on the stand-in."""
    fake = FakePagerDuty()
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    with (config / "runbooks.yaml").open("a", encoding="utf-8") as runbooks:
        runbooks.write("\ninbound: {pagerduty: true}\n")
    (config / "pagerduty.yaml").write_text(
        "accounts:\n  b:\n    services: [PBBBBBB]\n    event_sources: [aws.partner/pagerduty.com/acme-b]\n",
        encoding="utf-8")
    monkeypatch.setitem(env.runner.env_overrides, "Parameters",
                        {**env.runner.env_overrides.get("Parameters", {}), "CONFIG_DIR": str(config)})
    default_name = str(env.stack.resolve({"Fn::Sub": "jira-bridge/${AWS::StackName}/pagerduty"}))
    env.aws.put_secret(default_name, {"api_token": "local-pagerduty-token", "from_email": "jira-bridge@example.com",
                                      "webhook_secrets": [LOCAL_PAGERDUTY_SECRET], "rest_api_url": fake.url})
    env.aws.client("secretsmanager").create_secret(Name=f"{default_name}/b", SecretString=json.dumps({
        "api_token": "account-b-api-token", "from_email": "bridge-b@example.com",
        "webhook_secrets": [B_WEBHOOK_SECRET], "rest_api_url": fake.url}))
    load_settings.cache_clear()  # a config change is a deployment: containers start again with it
    yield fake
    fake.stop()
    monkeypatch.undo()
    load_settings.cache_clear()  # and the next test's containers see the stack's own config again
    adapters.reset()


def triggered(incident_id: str, service_id: str) -> bytes:
    body = json.loads((SAMPLES / "incident.triggered.zulip.json").read_bytes())
    body["event"]["id"] = f"evt-{incident_id}"
    body["event"]["data"]["id"] = incident_id
    body["event"]["data"]["service"]["id"] = service_id
    return json.dumps(body).encode()


def post(env: LocalEnvironment, path: str, body: bytes, secret: str) -> requests.Response:
    return requests.post(env.api.url(path), data=body, timeout=10,
                         headers={"Content-Type": "application/json", "X-PagerDuty-Signature": sign(body, secret)})


def settle(env: LocalEnvironment) -> None:
    for _ in range(3):
        env.jira.webhooks.wait_idle(timeout=5)
        env.drain()


def test_each_account_url_takes_only_its_own_signature(env: LocalEnvironment, pagerduty: FakePagerDuty) -> None:
    body = triggered("QB1", "PBBBBBB")
    assert post(env, "/webhooks/pagerduty/b", body, LOCAL_PAGERDUTY_SECRET).status_code == 401  # A's secret
    assert post(env, "/webhooks/pagerduty", body, B_WEBHOOK_SECRET).status_code == 401  # B's on A's URL
    assert post(env, "/webhooks/pagerduty/Not_A_Name", body, B_WEBHOOK_SECRET).status_code == 404
    # A secret under the prefix is not an account: only pagerduty.yaml names them.
    default_name = str(env.stack.resolve({"Fn::Sub": "jira-bridge/${AWS::StackName}/pagerduty"}))
    env.aws.client("secretsmanager").create_secret(Name=f"{default_name}/c", SecretString=json.dumps({
        "api_token": "c", "from_email": "c@example.com", "webhook_secrets": ["account-c-secret"]}))
    assert post(env, "/webhooks/pagerduty/c", body, "account-c-secret").status_code == 404
    accepted = post(env, "/webhooks/pagerduty/b", body, B_WEBHOOK_SECRET)
    assert accepted.status_code == 202, accepted.text
    assert post(env, "/webhooks/pagerduty", triggered("QA1", "PAAAAAA"), LOCAL_PAGERDUTY_SECRET).status_code == 202
    settle(env)
    links = DynamoLinkStore(env.stack.physical_name("LinkTable"), lambda: env.aws.client("dynamodb"))
    link_b, link_a = links.get_by_incident("QB1"), links.get_by_incident("QA1")
    assert link_b is not None
    assert link_a is not None
    assert (link_b.incident_account, link_a.incident_account) == ("b", None)
    assert link_b.issue_key
    assert link_a.issue_key
    assert pagerduty.calls == []  # nothing was asked of PagerDuty yet


def test_a_jira_comment_goes_back_to_the_incidents_own_account(
    env: LocalEnvironment, pagerduty: FakePagerDuty
) -> None:
    assert post(env, "/webhooks/pagerduty/b", triggered("QB2", "PBBBBBB"), B_WEBHOOK_SECRET).status_code == 202
    assert post(env, "/webhooks/pagerduty", triggered("QA2", "PAAAAAA"), LOCAL_PAGERDUTY_SECRET).status_code == 202
    settle(env)
    links = DynamoLinkStore(env.stack.physical_name("LinkTable"), lambda: env.aws.client("dynamodb"))
    keys = {incident: links.get_by_incident(incident).issue_key for incident in ("QB2", "QA2")}  # type: ignore[union-attr]
    env.jira.as_user(ALICE_EMAIL).comment(str(keys["QB2"]), "Rolled back in account B's region.")
    env.jira.as_user(ALICE_EMAIL).comment(str(keys["QA2"]), "Default account's incident, fixed.")
    settle(env)
    notes = {(call.account, call.path, call.sender, call.body["note"]["content"].split(" (")[0])
             for call in pagerduty.calls if call.method == "POST"}
    assert notes == {
        ("b", "/incidents/QB2/notes", "bridge-b@example.com", "Rolled back in account B's region."),
        ("default", "/incidents/QA2/notes", "jira-bridge@example.com", "Default account's incident, fixed."),
    }


def test_a_broken_pagerduty_yaml_is_a_clear_500_and_the_default_url_still_works(
    env: LocalEnvironment, pagerduty: FakePagerDuty
) -> None:
    config = Path(env.runner.env_overrides["Parameters"]["CONFIG_DIR"])
    (config / "pagerduty.yaml").write_text("accounts:\n  b: {services: [PB1]}\n  c: {services: [PB1]}\n",
                                           encoding="utf-8")
    body = triggered("QX1", "PB1")
    answer = post(env, "/webhooks/pagerduty/b", body, B_WEBHOOK_SECRET)
    assert answer.status_code == 500
    assert answer.json() == {"message": "PagerDuty accounts configuration is invalid; PagerDuty will retry"}
    assert post(env, "/webhooks/pagerduty", body, LOCAL_PAGERDUTY_SECRET).status_code == 202


def test_eventbridge_events_pick_their_account_by_partner_source_then_service(
    env: LocalEnvironment, pagerduty: FakePagerDuty
) -> None:
    from tests.integration.test_pagerduty_webhook import eventbridge_envelope

    def deliver(incident_id: str, service_id: str, source: str) -> None:
        detail = json.loads(triggered(incident_id, service_id))
        answer = env.runner.invoke("PagerDutyWebhookFunction", eventbridge_envelope(detail, source=source))
        assert answer["outcome"] == "published", answer

    deliver("QE1", "POTHER1", "aws.partner/pagerduty.com/acme-b")  # b's partner source
    deliver("QE2", "PBBBBBB", "aws.partner/pagerduty.com/acme-jira-bridge")  # b's service on another source
    deliver("QE3", "POTHER1", "aws.partner/pagerduty.com/acme-jira-bridge")  # neither: default
    env.drain()
    links = DynamoLinkStore(env.stack.physical_name("LinkTable"), lambda: env.aws.client("dynamodb"))
    accounts = {incident: links.get_by_incident(incident).incident_account  # type: ignore[union-attr]
                for incident in ("QE1", "QE2", "QE3")}
    assert accounts == {"QE1": "b", "QE2": "b", "QE3": None}

"""Every request the PagerDuty sinks build, validated against PagerDuty's own OpenAPI specs.

* REST API v2 calls against ``pagerduty/rest-api-v2.openapi.json`` (2.7 MB, loaded once per session
  with spec validation off, as for Jira's big spec): path, query, the required ``Accept``,
  ``Content-Type`` and ``From`` headers, the ``api_key`` security scheme and the JSON body. One spec
  quirk is undone at load: every reference (``UserReference`` -> ``Reference`` -> ``Tag/allOf/0``)
  inherits ``readOnly`` ``id`` and ``type`` while ``Reference`` *requires* both, so read literally no
  request could assign a user; PagerDuty's References doc (developer-docs ``11-References.md``) says
  ``id`` and ``type`` are exactly what a write sends, so those two lose ``readOnly``;
* Events API v2 triggers against ``pagerduty/events-api-v2.openapi.json``. Its quirks (the 400 and
  429 responses have a ``$ref`` string as their description) only touch responses, which are not
  validated here.

Negative controls prove the validator really checks what we rely on: a write without ``From``, one
without ``Authorization`` and a status outside the enum must fail. OpenAPI ignores header
parameters named ``Accept`` (and ``Content-Type``, ``Authorization``), so the versioned ``Accept`` the
spec declares (``components.parameters.header_Accept``) is compared by hand.

HTTP is captured with ``responses``; nothing leaves the process. The contracts are read from
``../shared/contracts`` and never copied.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest

from jira_bridge.pagerduty.events_sink import PagerDutyEventsSink
from jira_bridge.pagerduty.rest_sink import PagerDutyRestSink
from jira_bridge.pagerduty.transport import EVENTS_API_URL, REST_API_URL, events_transport, rest_transport
from tests.contract.contracts import CONTRACTS as ROOT_CONTRACTS
from tests.contract.contracts import load_contract
from tests.http_fake import FakeHttp

pytestmark = [pytest.mark.contract, pytest.mark.disable_socket]

CONTRACTS = ROOT_CONTRACTS / "pagerduty"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


def _load(name: str) -> dict[str, Any]:
    return load_contract("pagerduty/" + name)


@pytest.fixture(scope="session")
def rest_document() -> dict[str, Any]:
    return _load("rest-api-v2.openapi.json")


@pytest.fixture(scope="session")
def rest_accept(rest_document: dict[str, Any]) -> str:
    accept: str = rest_document["components"]["parameters"]["header_Accept"]["schema"]["default"]
    return accept


@pytest.fixture(scope="session")
def rest_spec(rest_document: dict[str, Any]) -> OpenAPI:
    spec = rest_document
    assert spec["servers"][0]["url"] == REST_API_URL
    reference_base = spec["components"]["schemas"]["Tag"]["allOf"][0]["properties"]
    assert all(reference_base[name].get("readOnly") for name in ("id", "type")), (
        "the read-only reference trap was not found: has the spec changed?")
    for name in ("id", "type"):
        del reference_base[name]["readOnly"]
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@pytest.fixture(scope="session")
def events_spec() -> OpenAPI:
    spec = _load("events-api-v2.openapi.json")
    assert spec["servers"][0]["url"] == f"{EVENTS_API_URL}/v2"
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@pytest.fixture
def captured() -> Iterator[FakeHttp]:
    with FakeHttp() as mock:
        yield mock


def _violations(spec: OpenAPI, request: requests.PreparedRequest) -> str | None:
    try:
        spec.validate_request(RequestsOpenAPIRequest(request))
    except Exception as exc:  # noqa: BLE001 - any validation error becomes a readable failure
        parts = [repr(exc)]
        cause: BaseException | None = exc.__cause__
        while cause is not None:
            parts.append(repr(cause))
            parts.extend(f"  - {error.message}" for error in getattr(cause, "schema_errors", []) or [])
            cause = cause.__cause__
        return "\n".join(parts)
    return None


def _assert_all_valid(spec: OpenAPI, mock: FakeHttp) -> list[str]:
    assert mock.calls, "no request was captured"
    seen = []
    for call in mock.calls:
        request = call.request
        problem = _violations(spec, request)
        assert problem is None, f"{request.method} {request.url} violates the contract:\n{problem}"
        seen.append(f"{request.method} {request.path_url.split('?')[0]}")
    return seen


def _rest_sink() -> PagerDutyRestSink:
    return PagerDutyRestSink(rest_transport(REST_API_URL, "pd-api-token", sleep=lambda _s: None),
                             "jira-bridge@example.com")


def test_rest_requests_match_the_rest_api_v2_spec(
    rest_spec: OpenAPI, rest_accept: str, captured: FakeHttp
) -> None:
    captured.get(f"{REST_API_URL}/priorities", json={
        "priorities": [{"id": "PP1", "type": "priority", "summary": "P1", "name": "P1"}], "more": False})
    captured.get(f"{REST_API_URL}/users", json={
        "users": [{"id": "PADA001", "type": "user", "email": "ada@example.com"}], "more": False})
    captured.put(f"{REST_API_URL}/incidents/Q3B15VLMF3ASBD", json={"incident": {}})
    captured.post(f"{REST_API_URL}/incidents/Q3B15VLMF3ASBD/notes", json={"note": {"id": "PNOTE01"}})

    sink = _rest_sink()
    sink.update_incident("Q3B15VLMF3ASBD", status="acknowledged", priority_name="P1",
                         assignee_email="ada@example.com", note="Mitigated: rolled back checkout-api 1.42")
    for status in ("resolved", "triggered"):
        sink.update_incident("Q3B15VLMF3ASBD", status=status)

    assert _assert_all_valid(rest_spec, captured) == [
        "GET /priorities",
        "GET /users",
        "PUT /incidents/Q3B15VLMF3ASBD",
        "POST /incidents/Q3B15VLMF3ASBD/notes",
        "PUT /incidents/Q3B15VLMF3ASBD",
        "PUT /incidents/Q3B15VLMF3ASBD",
    ]
    assert {call.request.headers["Accept"] for call in captured.calls} == {rest_accept}


def test_the_rest_spec_really_checks_from_and_authorization(
    rest_spec: OpenAPI, captured: FakeHttp
) -> None:
    captured.put(f"{REST_API_URL}/incidents/P1", json={"incident": {}})
    _rest_sink().update_incident("P1", status="resolved")
    good = captured.calls[0].request
    assert _violations(rest_spec, good) is None

    no_from = good.copy()
    del no_from.headers["From"]
    assert _violations(rest_spec, no_from) is not None, "a write without From must violate the spec"
    no_auth = good.copy()
    del no_auth.headers["Authorization"]
    assert _violations(rest_spec, no_auth) is not None, "a request without Authorization must violate the spec"
    bad_status = good.copy()
    bad_status.body = json.dumps({"incident": {"type": "incident_reference", "status": "closed"}}).encode()
    bad_status.headers["Content-Length"] = str(len(bad_status.body))
    assert _violations(rest_spec, bad_status) is not None, "a status outside the enum must violate the spec"


def test_event_triggers_match_the_events_api_v2_spec(
    events_spec: OpenAPI, captured: FakeHttp
) -> None:
    captured.post(f"{EVENTS_API_URL}/v2/enqueue", status=202,
                  json={"status": "success", "message": "Event processed", "dedup_key": "jira-bridge:OPS-42"})
    sink = PagerDutyEventsSink(events_transport(sleep=lambda _s: None))

    sink.trigger(ROUTING_KEY, "jira-bridge:OPS-42", "OPS-42 Checkout API 502s", "jira-bridge", "critical",
                 {"issue": "OPS-42", "labels": ["sev1"]},
                 [{"href": "https://acme.atlassian.net/browse/OPS-42", "text": "OPS-42"}],
                 client="Jira", client_url="https://acme.atlassian.net/browse/OPS-42")
    for severity in ("error", "warning", "info"):
        sink.trigger(ROUTING_KEY, f"jira-bridge:OPS-{severity}", "x" * 2000, "jira-bridge", severity)

    assert _assert_all_valid(events_spec, captured) == ["POST /v2/enqueue"] * 4

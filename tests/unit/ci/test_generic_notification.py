import json
from datetime import UTC, datetime

import pytest

from jira_bridge.ci.model import Site
from jira_bridge.ci.sources.generic import NotificationInvalid, json_schema, parse_body, to_run

pytestmark = pytest.mark.unit

RECEIVED = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
MINIMAL = {"pipeline": {"name": "CI"}, "build_number": 7, "url": "https://ci.example.com/7", "state": "success"}


def body(**changes: object) -> bytes:
    return json.dumps({**MINIMAL, **changes}).encode()


def test_minimal_notification_is_a_build_reported_as_received() -> None:
    (notification,) = parse_body(body())
    run = to_run(notification, RECEIVED)
    assert run.kind == "build"
    assert run.pipeline.id == "CI"  # default: the pipeline name, stable across runs
    assert run.number == 7
    assert run.updated_at == RECEIVED
    assert run.project is None
    assert run.site is None
    assert run.report_only_state is None
    assert not run.debug


def test_plugin_settings_and_run_facts() -> None:
    (notification,) = parse_body(body(
        PROJECT="ops", CLOUD_ID="cloud-1", INSTANCE="myorg", ENVIRONMENT_NAME="Production EU",
        ENVIRONMENT_TYPE="prod", STATE="successful", LOG_LEVEL="DEBUG", ISSUE_KEYS=["OPS-9"],
        pipeline={"id": "org/repo/deploy.yml", "name": "Deploy"},
        updated_at="2026-11-23T04:00:00+01:00", started_at="2026-11-23T02:55:00Z", attempt=2,
        pr_title="OPS-1 PR", commits=["OPS-2 first", {"id": "abc", "message": "OPS-3 second", "author": {"name": "x"}}],
        branch="feature/OPS-4", repository_url="https://github.com/org/repo",
        tests={"total": 3, "passed": 3, "failed": 0},
    ))
    run = to_run(notification, RECEIVED)
    assert run.kind == "deployment"
    assert run.environment is not None
    assert run.environment.name == "Production EU"
    assert run.environment.type == "prod"
    assert run.project == "OPS"
    assert run.site == Site(instance="myorg", cloud_id="cloud-1")
    assert run.report_only_state == "successful"
    assert run.debug
    assert run.updated_at == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert run.attempt == 2
    assert run.texts.pr_title == "OPS-1 PR"
    assert run.texts.commit_messages == ("OPS-2 first", "OPS-3 second")
    assert run.texts.branch == "feature/OPS-4"
    assert run.issue_keys == ("OPS-9",)
    assert run.commit == "abc"  # no head commit given: the first commit with an id
    assert run.tests is not None
    assert run.tests.total == 3


def test_naive_timestamps_are_utc_and_numbers_as_strings_are_accepted() -> None:
    (notification,) = parse_body(body(build_number="12", updated_at="2026-11-23T03:00:00"))
    run = to_run(notification, RECEIVED)
    assert run.number == 12
    assert run.updated_at == RECEIVED


def test_a_batch_of_notifications() -> None:
    batch = json.dumps({"notifications": [MINIMAL, {**MINIMAL, "build_number": 8}]}).encode()
    assert [n.build_number for n in parse_body(batch)] == [7, 8]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"not json", "body is not JSON"),
        (body(PROJEKT="OPS"), "PROJEKT: is not a known setting"),
        (json.dumps({"pipeline": {"name": "CI"}}).encode(), "build_number: is required"),
        (body(url="not a url"), "url:"),
        (body(PROJECT="1OPS"), "PROJECT:"),
        (body(LOG_LEVEL="verbose"), "LOG_LEVEL:"),
        (body(build_number=-1), "build_number:"),
        (json.dumps({"notifications": []}).encode(), "notifications:"),
        (json.dumps({"notifications": [MINIMAL] * 101}).encode(), "notifications:"),
        (json.dumps([MINIMAL]).encode(), "(body)"),
    ],
)
def test_invalid_bodies_say_where(raw: bytes, problem: str) -> None:
    with pytest.raises(NotificationInvalid, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_body(raw)


def test_json_schema_describes_both_shapes_and_the_plugin_settings() -> None:
    schema = json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    notification = schema["$defs"]["CiNotification"]
    assert {"PROJECT", "INSTANCE", "CLOUD_ID", "ENVIRONMENT_NAME", "ENVIRONMENT_TYPE", "STATE", "LOG_LEVEL"} <= set(
        notification["properties"])
    assert set(notification["required"]) == {"pipeline", "build_number", "url", "state"}
    assert notification["additionalProperties"] is False
    assert len(schema["anyOf"]) == 2

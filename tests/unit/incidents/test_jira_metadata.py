"""Site metadata learned once for every container: a cold container asks Jira no more than a warm one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, cast

import pytest

from jira_bridge.incidents.jira_metadata import JiraMetadata
from jira_bridge.incidents.metadata_store import DynamoMetadataStore, InMemoryMetadataStore
from jira_bridge.incidents.workflow import TransitionOption, WorkflowMap
from jira_bridge.jira.client import JiraClient, JiraField, JiraUser, Project, Transition
from tests.unit.moto_tables import link_table

pytestmark = pytest.mark.unit

DONE = {"id": "31", "name": "Done", "to": {"name": "Done", "statusCategory": {"key": "done"}},
        "fields": {"resolution": {"required": True, "hasDefaultValue": False}}}


class CountingJira:
    """The few reads JiraMetadata makes, counted."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.field_ids = ["summary", "customfield_10040"]

    def fields(self) -> list[JiraField]:
        self.calls["fields"] += 1
        return [JiraField(id=f, key=f, name=f, custom=f.startswith("customfield_"), schema={"type": "string"})
                for f in self.field_ids]

    def find_user_by_email(self, email: str) -> JiraUser | None:
        self.calls["user/search"] += 1
        return JiraUser(account_id="acc-alice", display_name="Alice", email_address=email, active=True) \
            if email == "alice@example.com" else None

    def myself(self) -> JiraUser:
        self.calls["myself"] += 1
        return JiraUser(account_id="acc-bridge", display_name="Bridge", email_address=None, active=True)

    def get_project(self, key: str) -> Project:
        self.calls["project"] += 1
        return Project.from_json({"id": "1", "key": key, "name": key, "projectTypeKey": "software"})

    def get_transitions(self, issue: str) -> list[Transition]:
        self.calls["transitions"] += 1
        return [Transition.from_json(DONE)]

    def get_issue(self, issue: str, fields: Any = None, properties: Any = None, *, expand: str | None = None
                  ) -> dict[str, Any]:
        self.calls[f"issue?expand={expand}"] += 1
        return {"id": issue, "fields": {"status": {"name": "In Review"}, "issuetype": {"name": "Incident"}},
                "transitions": [DONE]}


def container(jira: CountingJira, shared: InMemoryMetadataStore, **kwargs: Any) -> JiraMetadata:
    return JiraMetadata(cast(JiraClient, jira), shared=shared, scope="default#site", identity="cred1", **kwargs)


def use_everything(metadata: JiraMetadata) -> None:
    metadata.schema("customfield_10040")
    metadata.account_for_email("Alice@Example.com")
    metadata.account_for_email("hidden@example.com")
    metadata.integration_account_id()
    metadata.is_service_desk("OPS")
    workflow = metadata.workflow("OPS", "Incident")
    metadata.transitions_from("10001", "In Review", workflow)


def test_a_cold_container_asks_jira_nothing_another_container_learned() -> None:
    jira, shared = CountingJira(), InMemoryMetadataStore()
    use_everything(container(jira, shared))
    first = dict(jira.calls)
    assert first == {"fields": 1, "user/search": 2, "myself": 1, "project": 1, "transitions": 1}
    jira.calls.clear()
    cold = container(jira, shared)  # a new container: nothing in its own memory
    use_everything(cold)
    assert jira.calls == Counter(), "everything came from the shared cache"
    assert cold.account_for_email("alice@example.com") == "acc-alice"
    assert cold.account_for_email("hidden@example.com") is None, "a miss is shared too"
    assert cold.integration_account_id() == "acc-bridge"
    options = cold.workflow("OPS", "Incident").options("In Review")
    assert [(o.id, o.to_status, o.required_fields, o.screen_fields) for o in options] == [
        ("31", "Done", ("resolution",), ("resolution",))]


def test_the_bridges_account_recorded_with_the_connector_needs_no_myself() -> None:
    jira, shared = CountingJira(), InMemoryMetadataStore()
    assert container(jira, shared, account_id="acc-recorded").integration_account_id() == "acc-recorded"
    assert jira.calls["myself"] == 0


def test_other_credentials_never_reuse_a_cached_account_id() -> None:
    jira, shared = CountingJira(), InMemoryMetadataStore()
    container(jira, shared).integration_account_id()
    JiraMetadata(cast(JiraClient, jira), shared=shared, scope="default#site", identity="cred2").integration_account_id()
    assert jira.calls["myself"] == 2


def test_a_field_jira_added_since_the_cache_was_filled_is_refetched_once() -> None:
    jira, shared = CountingJira(), InMemoryMetadataStore()
    now = [0.0]
    metadata = container(jira, shared, clock=lambda: now[0])
    metadata.fields()
    jira.field_ids.append("customfield_10099")
    assert metadata.schema("customfield_10099") == {"type": "string"}
    assert jira.calls["fields"] == 2
    # unknown even to Jira (a misspelt id): the list is asked for at most once a minute
    assert metadata.schema("customfield_19999") is None
    assert jira.calls["fields"] == 2
    now[0] += 61
    assert metadata.schema("customfield_19999") is None
    assert metadata.schema("customfield_19999") is None
    assert jira.calls["fields"] == 3
    assert "customfield_10099" in container(CountingJira(), shared).fields(), "the refetched list is shared"


def test_reread_replaces_what_was_known_of_the_status_and_shares_it() -> None:
    jira, shared = CountingJira(), InMemoryMetadataStore()
    metadata = container(jira, shared)
    workflow = metadata.workflow("OPS", "Incident")
    workflow.learn("In Review", [TransitionOption("30", "Old Done", "Done", "done", ("resolution",), ("resolution",))])
    assert metadata.reread_issue("10001", workflow) == ("In Review", "Incident")
    assert jira.calls == Counter({"issue?expand=transitions.fields": 1})
    assert [o.id for o in workflow.options("In Review")] == ["31"]
    assert [o.id for o in container(CountingJira(), shared).workflow("OPS", "Incident").options("In Review")] == ["31"]


def test_a_workflow_map_survives_its_json() -> None:
    workflow = WorkflowMap()
    workflow.learn("To Do", [TransitionOption("11", "Start", "In Progress", "indeterminate", (), ("assignee",))])
    workflow.initial_status = "To Do"
    again = WorkflowMap.from_json(workflow.to_json())
    assert again.options("to do") == workflow.options("To Do")
    assert again.initial_status == "To Do"
    assert again.categories == {"in progress": "indeterminate"}
    assert WorkflowMap.from_json({"transitions": {"x": [{"nonsense": 1}]}}).transitions == {}


@pytest.fixture
def dynamo(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with link_table(monkeypatch) as client:
        yield client


def test_dynamodb_items_expire_by_their_own_time_and_are_compressed(dynamo: Any) -> None:
    now = [1_000_000.0]
    store = DynamoMetadataStore("links", lambda: dynamo, clock=lambda: now[0])
    value = [{"id": f"customfield_{n}", "schema": {"type": "string", "custom": "textfield"}} for n in range(2000)]
    store.put("default#site#fields", value, ttl_seconds=60)
    item = dynamo.get_item(TableName="links", Key={"pk": {"S": "meta#default#site#fields"}})["Item"]
    assert int(item["expires_at"]["N"]) == 1_000_060
    assert len(item["value"]["B"]) < len(str(value)) / 5
    assert store.get("default#site#fields") == value
    now[0] += 61  # DynamoDB may not have deleted it yet: an expired item is a miss all the same
    assert store.get("default#site#fields") is None
    assert store.get("default#site#never-written") is None


def test_an_unreadable_cache_is_a_miss_not_a_failure(dynamo: Any) -> None:
    store = DynamoMetadataStore("no-such-table", lambda: dynamo)
    store.put("k", {"a": 1}, 60)  # logged, not raised
    assert store.get("k") is None


def test_an_unreachable_cache_is_a_miss_not_a_failure(dynamo: Any) -> None:
    """DynamoDB timing out or unreachable (botocore errors that are not ClientError) is a miss too."""
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

    class Unreachable:
        exceptions = dynamo.exceptions

        def get_item(self, **_: Any) -> Any:
            raise ReadTimeoutError(endpoint_url="https://dynamodb")

        def put_item(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://dynamodb")

    store = DynamoMetadataStore("links", Unreachable)
    store.put("k", {"a": 1}, 60)
    assert store.get("k") is None


def test_a_forgotten_user_is_asked_for_again_by_every_container() -> None:
    jira, shared = CountingJira(), InMemoryMetadataStore()
    metadata = container(jira, shared)
    metadata.account_for_email("alice@example.com")
    assert metadata.forget_user("Alice@example.com")
    assert not metadata.forget_user("never-looked-up@example.com"), "nothing cached: a retry learns nothing"
    assert container(jira, shared).account_for_email("alice@example.com") == "acc-alice"
    assert jira.calls["user/search"] == 2

"""The link store's contract, run against the in-memory fake and against DynamoDB (moto, in-process)."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from jira_bridge.links.model import IssueLink, LinkState, SyncStatus
from jira_bridge.links.store import DynamoLinkStore, InMemoryLinkStore, IssueAlreadyLinked, LinkStore, StaleLink

pytestmark = pytest.mark.unit


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[LinkStore]:
    if request.param == "memory":
        yield InMemoryLinkStore()
        return
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="links",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoLinkStore("links", lambda: client)


def new_link(incident_id: str = "INC-1") -> IssueLink:
    return IssueLink(incident_id=incident_id, connector="default", project_key="OPS")


def test_first_claim_wins_and_duplicates_see_it(store: LinkStore) -> None:
    first = store.claim(new_link())
    second = store.claim(new_link())
    assert first.claimed
    assert not second.claimed
    assert second.link.version == first.link.version == 1


def test_link_is_found_from_both_directions(store: LinkStore) -> None:
    link = store.claim(new_link()).link
    link.issue_id, link.issue_key, link.state = "10001", "OPS-1", LinkState.LINKED
    saved = store.save(link)
    assert saved.version == 2
    by_issue = store.get_by_issue("default", "10001")
    assert by_issue is not None
    assert by_issue.incident_id == "INC-1"
    assert by_issue.issue_key == "OPS-1"
    by_incident = store.get_by_incident("INC-1")
    assert by_incident is not None
    assert by_incident.state is LinkState.LINKED


def test_stale_write_is_refused(store: LinkStore) -> None:
    link = store.claim(new_link()).link
    racing = link.model_copy(deep=True)
    store.save(link)
    racing.last_error = "racing writer"
    with pytest.raises(StaleLink):
        store.save(racing)
    current = store.get_by_incident("INC-1")
    assert current is not None
    assert current.last_error is None


def test_an_issue_cannot_be_linked_to_two_incidents(store: LinkStore) -> None:
    first = store.claim(new_link("INC-1")).link
    first.issue_id = "10001"
    store.save(first)
    second = store.claim(new_link("INC-2")).link
    second.issue_id = "10001"
    with pytest.raises(IssueAlreadyLinked):
        store.save(second)
    owner = store.get_by_issue("default", "10001")
    assert owner is not None
    assert owner.incident_id == "INC-1"


def test_failures_are_recorded_with_jiras_message(store: LinkStore) -> None:
    link = store.claim(new_link()).link
    link.fail("create_issue", "customfield_10050: Field cannot be set")
    saved = store.save(link)
    reread = store.get_by_incident("INC-1")
    assert reread is not None
    assert reread.sync_status is SyncStatus.FAILED
    assert reread.last_error == "customfield_10050: Field cannot be set"
    assert reread.actions[-1].outcome == "failed"
    assert reread.version == saved.version


def linked(store: LinkStore, issue_id: str = "10001", key: str = "OPS-1") -> IssueLink:
    link = store.claim(new_link()).link
    link.issue_id, link.issue_key, link.state = issue_id, key, LinkState.LINKED
    return store.save(link)


def test_an_ended_issue_stays_as_history_and_its_item_no_longer_points_at_it(store: LinkStore) -> None:
    link = linked(store)
    link.end_issue("deleted in Jira by Alice")
    ended = store.save(link)
    assert (ended.state, ended.issue_id, ended.issue_key) == (LinkState.ENDED, None, None)
    assert [(p.issue_key, p.reason) for p in ended.history] == [("OPS-1", "deleted in Jira by Alice")]
    via_old_issue = store.get_by_issue("default", "10001")
    assert via_old_issue is not None
    assert via_old_issue.issue_id is None  # the old issue's item says: no longer linked
    assert via_old_issue.was_linked_to("default", "10001") is not None
    ended.issue_id, ended.issue_key, ended.state = "10002", "OPS-2", LinkState.LINKED
    relinked = store.save(ended)
    assert store.get_by_issue("default", "10002") == relinked
    old = store.get_by_issue("default", "10001")
    assert old is not None
    assert old.issue_key == "OPS-2"


def test_ending_a_link_without_an_issue_changes_nothing(store: LinkStore) -> None:
    link = store.claim(new_link()).link
    link.end_issue("whatever")
    assert (link.state, link.history) == (LinkState.CLAIMED, [])


def test_a_lost_version_race_on_a_linked_issue_is_stale_not_already_linked(store: LinkStore) -> None:
    link = linked(store)
    racing = link.model_copy(deep=True)
    store.save(link)
    racing.last_error = "racing writer"
    with pytest.raises(StaleLink):  # re-read and retried by the caller, never reported as a conflict
        store.save(racing)


@pytest.fixture
def dynamo(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoLinkStore, Any, list[str]]]:
    """A DynamoDB store and the write operations its client sends, in order."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="links", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        sent: list[str] = []
        client.meta.events.register("before-parameter-build.dynamodb.*",
                                    lambda model, **_: sent.append(model.name))
        yield DynamoLinkStore("links", lambda: client), client, sent


def test_an_update_of_a_linked_incident_is_one_conditional_put_not_a_transaction(
        dynamo: tuple[DynamoLinkStore, Any, list[str]]) -> None:
    store, _, sent = dynamo
    link = store.claim(new_link()).link
    link.issue_id, link.issue_key, link.state = "10001", "OPS-1", LinkState.LINKED
    link = store.save(link)  # the issue's item is new: linked atomically, in a transaction
    sent.clear()
    link.succeed("add_comment", "comment 1")
    link = store.save(link)
    reread = store.get_by_incident("INC-1")
    assert reread is not None
    reread.succeed("transition", "To Do -> Done")
    store.save(reread)
    assert [s for s in sent if s != "GetItem"] == ["PutItem", "PutItem"]
    by_issue = store.get_by_issue("default", "10001")
    assert by_issue is not None
    assert by_issue.version == 4, "by issue is the newest record"
    stale = link.model_copy()
    with pytest.raises(StaleLink):  # the single-item write is still conditional on the version
        store.save(stale)


def test_a_new_issue_after_an_ended_one_is_linked_in_a_transaction(
        dynamo: tuple[DynamoLinkStore, Any, list[str]]) -> None:
    store, _, sent = dynamo
    link = store.claim(new_link()).link
    link.issue_id, link.issue_key, link.state = "10001", "OPS-1", LinkState.LINKED
    link = store.save(link)
    link.end_issue("deleted in Jira")
    link = store.save(link)
    sent.clear()
    link.issue_id, link.issue_key, link.state = "10002", "OPS-2", LinkState.LINKED
    store.save(link)
    assert [s for s in sent if s != "GetItem"] == ["TransactWriteItems"]
    old = store.get_by_issue("default", "10001")
    assert old is not None
    assert old.issue_id == "10002"
    assert old.was_linked_to("default", "10001")


def test_issue_items_of_the_old_layout_still_find_the_current_record(
        dynamo: tuple[DynamoLinkStore, Any, list[str]]) -> None:
    """Before pointers, the issue item carried a copy of the record; the incident item is what is read."""
    store, client, _ = dynamo
    link = store.claim(new_link()).link
    link.issue_id, link.issue_key, link.state = "10001", "OPS-1", LinkState.LINKED
    old_copy = link.model_copy(update={"version": 2})
    record = {"S": old_copy.model_dump_json()}
    for pk in ("issue#default#10001", "incident#INC-1"):
        client.put_item(TableName="links", Item={"pk": {"S": pk}, "version": {"N": "2"},
                                                 "incident_id": {"S": "INC-1"}, "record": record})
    current = store.get_by_incident("INC-1")
    assert current is not None
    current.succeed("add_comment", "newer")
    store.save(current)  # adopts the old item as its pointer (allowed: it names this incident)
    found = store.get_by_issue("default", "10001")
    assert found is not None
    assert found.version == 3
    assert found.actions[-1].detail == "newer"

"""The link store's contract, run against the in-memory fake and against DynamoDB (moto, in-process)."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from jira_bridge.links.model import IssueLink, LinkState, SyncStatus
from jira_bridge.links.store import DynamoLinkStore, InMemoryLinkStore, IssueAlreadyLinked, LinkStore, StaleLink
from tests.unit.moto_tables import link_table

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
def moto_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoLinkStore, Any, list[str]]]:
    """A DynamoDB store and the write operations its client sends, in order."""
    with link_table(monkeypatch) as client:
        sent: list[str] = []
        client.meta.events.register("before-parameter-build.dynamodb.*",
                                    lambda model, **_: sent.append(model.name))
        yield DynamoLinkStore("links", lambda: client), client, sent


def test_an_update_of_a_linked_incident_is_one_conditional_put_not_a_transaction(
        moto_store: tuple[DynamoLinkStore, Any, list[str]]) -> None:
    store, _, sent = moto_store
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
        moto_store: tuple[DynamoLinkStore, Any, list[str]]) -> None:
    store, _, sent = moto_store
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
        moto_store: tuple[DynamoLinkStore, Any, list[str]]) -> None:
    """Before pointers, the issue item carried a copy of the record; the incident item is what is read."""
    store, client, _ = moto_store
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


def test_saving_a_link_nobody_claimed_is_stale(store: LinkStore) -> None:
    with pytest.raises(StaleLink):  # re-read: there is nothing to update
        store.save(new_link("INC-9"))
    assert store.get_by_incident("INC-9") is None


def test_a_reclaim_returns_the_stored_link_as_it_is_now(store: LinkStore) -> None:
    link = linked(store)
    again = store.claim(new_link())
    assert not again.claimed
    assert (again.link.issue_key, again.link.version) == ("OPS-1", link.version)


# ----- DynamoDB's answers the in-process model cannot produce, through a recording client -----


class CheckFailed(Exception):
    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__("ConditionalCheckFailed")
        self.response = response


class Cancelled(Exception):
    def __init__(self, *codes: str) -> None:
        super().__init__("TransactionCanceled")
        self.response = {"CancellationReasons": [{"Code": code} for code in codes]}


class RecordingClient:
    class exceptions:  # boto3's shape: client.exceptions.X
        ConditionalCheckFailedException = CheckFailed
        TransactionCanceledException = Cancelled

    def __init__(self, *, put: Exception | None = None, transact: Exception | None = None,
                 item: dict[str, Any] | None = None) -> None:
        self.put, self.transact, self.item = put, transact, item
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def put_item(self, **kwargs: Any) -> None:
        self.calls.append(("put_item", kwargs))
        if self.put is not None:
            raise self.put

    def transact_write_items(self, **kwargs: Any) -> None:
        self.calls.append(("transact_write_items", kwargs))
        if self.transact is not None:
            raise self.transact

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("get_item", kwargs))
        return {"Item": self.item} if self.item is not None else {}


def dynamo(client: RecordingClient) -> tuple[DynamoLinkStore, list[int]]:
    built: list[int] = []

    def factory() -> RecordingClient:
        built.append(1)
        return client

    return DynamoLinkStore("links", factory), built


def stored(link: IssueLink) -> dict[str, Any]:
    return {"pk": {"S": f"incident#{link.incident_id}"}, "record": {"S": link.model_dump_json()}}


def test_the_client_is_built_on_first_use_once() -> None:
    store, built = dynamo(RecordingClient())
    assert built == []
    store.get_by_incident("INC-1")
    store.get_by_issue("default", "10001")
    assert built == [1]


def test_a_lost_claim_answers_the_winner_from_the_failed_write_itself() -> None:
    winner = new_link().model_copy(update={"version": 3, "issue_key": "OPS-7"})
    client = RecordingClient(put=CheckFailed({"Item": stored(winner)}))
    outcome = dynamo(client)[0].claim(new_link())
    assert (outcome.claimed, outcome.link.issue_key, outcome.link.version) == (False, "OPS-7", 3)
    assert [name for name, _ in client.calls] == ["put_item"]  # no second read


def test_a_lost_claim_whose_winner_vanished_is_stale() -> None:
    client = RecordingClient(put=CheckFailed({}))
    with pytest.raises(StaleLink):
        dynamo(client)[0].claim(new_link())
    racing = new_link().model_copy(update={"version": 1})
    found = dynamo(RecordingClient(put=CheckFailed({}), item=stored(racing)))[0].claim(new_link())
    assert (found.claimed, found.link.version) == (False, 1)


def test_a_save_is_conditional_on_the_version_read_and_writes_the_key_when_known() -> None:
    client = RecordingClient()
    link = new_link().model_copy(update={"version": 4, "issue_id": "10001", "issue_key": "OPS-1"})
    saved = dynamo(client)[0].save(link)
    assert saved.version == 5
    [(_, call)] = client.calls
    incident, issue = (write["Put"] for write in call["TransactItems"])
    assert incident["ExpressionAttributeValues"] == {":expected": {"N": "4"}}
    assert (incident["Item"]["version"], incident["Item"]["issue_key"]) == ({"N": "5"}, {"S": "OPS-1"})
    assert issue["Item"]["pk"] == {"S": "issue#default#10001"}
    unkeyed = RecordingClient()
    dynamo(unkeyed)[0].save(new_link().model_copy(update={"version": 1}))
    [(operation, call)] = unkeyed.calls  # one item changes: a conditional PutItem, not a transaction
    assert operation == "put_item"
    assert call["ExpressionAttributeValues"] == {":expected": {"N": "1"}}
    assert "issue_key" not in call["Item"]


def ended(issue_id: str | None) -> IssueLink:
    link = new_link().model_copy(update={"version": 2, "issue_id": "10001", "issue_key": "OPS-1"})
    link.end_issue("deleted in Jira")
    if issue_id is not None:
        link.issue_id, link.issue_key = issue_id, "OPS-2"
    return link


@pytest.mark.parametrize(("link", "codes", "raised", "message"), [
    (ended("10002"), ("ConditionalCheckFailed", "None", "None"), StaleLink, "INC-1"),  # the version race
    (ended("10002"), ("None", "ConditionalCheckFailed", "None"), IssueAlreadyLinked, "default/10002"),
    (ended("10002"), ("None", "None", "ConditionalCheckFailed"), IssueAlreadyLinked, "an earlier issue of INC-1"),
    (ended(None), ("ConditionalCheckFailed", "None"), StaleLink, "INC-1"),
])
def test_a_cancelled_transaction_says_which_write_lost(link: IssueLink, codes: tuple[str, ...],
                                                        raised: type[Exception], message: str) -> None:
    with pytest.raises(raised, match=message):
        dynamo(RecordingClient(transact=Cancelled(*codes)))[0].save(link)


def test_reads_are_strongly_consistent() -> None:
    client = RecordingClient()
    store = dynamo(client)[0]
    store.get_by_incident("INC-1")
    store.get_by_issue("default", "10001")
    assert [call["ConsistentRead"] for _, call in client.calls] == [True, True]  # a claim just won is seen


def test_an_issue_linked_again_is_written_once_in_the_transaction() -> None:
    link = ended("".join(["1000", "1"]))  # the same issue as the history entry, as another string object
    client = RecordingClient()
    dynamo(client)[0].save(link)
    [(_, call)] = client.calls
    keys = [write["Put"]["Item"]["pk"]["S"] for write in call["TransactItems"]]
    assert keys == ["incident#INC-1", "issue#default#10001"]  # DynamoDB refuses two writes to one item


def test_an_issue_stays_with_its_incident_whichever_incident_id_sorts_first(store: LinkStore) -> None:
    later = store.claim(new_link("INC-2")).link
    later.issue_id = "10001"
    store.save(later)
    earlier = store.claim(new_link("INC-1")).link
    earlier.issue_id = "10001"
    with pytest.raises(IssueAlreadyLinked):
        store.save(earlier)
    owner = store.get_by_issue("default", "10001")
    assert owner is not None
    assert owner.incident_id == "INC-2"


def test_each_save_moves_the_version_on_by_one(store: LinkStore) -> None:
    link = store.claim(new_link()).link
    assert [store.save(link).version, store.save(store.get_by_incident("INC-1") or link).version] == [2, 3]


def test_a_save_from_a_version_never_read_is_stale(store: LinkStore) -> None:
    link = store.claim(new_link()).link
    with pytest.raises(StaleLink):
        store.save(link.model_copy(update={"version": 5}))


def test_what_a_caller_changes_after_a_save_is_not_stored_until_it_saves_again(store: LinkStore) -> None:
    saved = store.save(store.claim(new_link()).link)
    saved.written.comment_ids.append("10500")
    saved.last_error = "not saved"
    reread = store.get_by_incident("INC-1")
    assert reread is not None
    assert (reread.written.comment_ids, reread.last_error, reread.version) == ([], None, 2)
    reread.written.statuses.append("Done")
    again = store.get_by_incident("INC-1")
    assert again is not None
    assert again.written.statuses == [], "every read is a copy of its own"


def test_a_long_lived_link_still_saves() -> None:
    store = InMemoryLinkStore()  # versions past 256 are not small cached ints: compared by value
    link = store.claim(new_link()).link.model_copy(update={"version": 300})
    store.by_incident["INC-1"] = (300, link.model_dump_json())
    assert store.save(IssueLink.model_validate_json(store.by_incident["INC-1"][1])).version == 301


def test_a_claim_outcome_cannot_be_changed() -> None:
    import dataclasses

    outcome = InMemoryLinkStore().claim(new_link())
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.claimed = False  # type: ignore[misc]


@pytest.mark.parametrize("codes", [(), ("None", "")])
def test_a_cancellation_without_a_known_code_is_retried_not_a_crash(codes: tuple[str, ...]) -> None:
    cancelled = Cancelled(*codes)
    reasons = cancelled.response["CancellationReasons"]
    cancelled.response["CancellationReasons"] = [r if r["Code"] else {} for r in reasons]  # no Code at all
    with pytest.raises(StaleLink):
        dynamo(RecordingClient(transact=cancelled))[0].save(ended("10002"))


def test_an_incident_with_a_long_id_saves_its_own_issue_again(store: LinkStore) -> None:
    long_id = "INC-" + "7" * 80  # longer than pydantic's cached strings: compared by value
    link = store.claim(new_link(long_id)).link
    link.issue_id, link.issue_key, link.state = "10001", "OPS-1", LinkState.LINKED
    saved = store.save(store.save(link))
    assert saved.version == 3
    owner = store.get_by_issue("default", "10001")
    assert owner is not None
    assert owner.incident_id == long_id

"""Link records in DynamoDB: conditional writes, so no duplicate link can ever be written.

A link is the item `incident#<id>`, holding the whole record, plus one small item per issue it has
had, `issue#<connector>#<issue id>`, naming the incident (`incident_id`), so either direction finds
it (by issue: two GetItems). Every write is conditional on the version read (optimistic locking); a
lost race surfaces as :class:`StaleLink` and the caller re-reads and re-decides.

Writes cost what they change: an update of a linked incident changes only its own item, so it is one
conditional PutItem (1 write unit per KB), not a transaction (2 per KB and item). A transaction is
used only when an issue item is new (the issue is linked, or a new issue replaces an ended one), so
"this issue belongs to another incident" is checked atomically with the link. Issue items written
before this layout carry a copy of the record; it is never read (the incident item is the record).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from jira_bridge.links.model import IssueLink, utc_now


class StaleLink(Exception):
    """Someone else wrote this link since it was read; re-read and decide again."""


class IssueAlreadyLinked(Exception):
    """The Jira issue is linked to another incident already."""


@dataclass(frozen=True)
class ClaimOutcome:
    link: IssueLink
    claimed: bool  # False: the incident was claimed before (by a duplicate or a racing delivery)


class LinkStore(Protocol):
    def claim(self, link: IssueLink) -> ClaimOutcome: ...
    def save(self, link: IssueLink) -> IssueLink: ...
    def get_by_incident(self, incident_id: str) -> IssueLink | None: ...
    def get_by_issue(self, connector: str, issue_id: str) -> IssueLink | None: ...


def incident_key(incident_id: str) -> str:
    return f"incident#{incident_id}"


def issue_item_key(connector: str, issue_id: str) -> str:
    return f"issue#{connector}#{issue_id}"


class DynamoLinkStore:
    def __init__(self, table_name: str, client_factory: Callable[[], Any]) -> None:
        self._table = table_name
        self._client_factory = client_factory
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def claim(self, link: IssueLink) -> ClaimOutcome:
        fresh = link.model_copy(update={"version": 1, "claimed_at": utc_now(), "updated_at": utc_now()})
        try:
            self.client.put_item(
                TableName=self._table,
                Item=self._item(incident_key(link.incident_id), fresh),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            existing = error.response.get("Item")
            current = _decode(existing) if existing else self.get_by_incident(link.incident_id)
            if current is None:  # deleted in between: extremely unlikely, let the caller retry
                raise StaleLink(link.incident_id) from None
            return ClaimOutcome(link=current, claimed=False)
        return ClaimOutcome(link=fresh, claimed=True)

    def save(self, link: IssueLink) -> IssueLink:
        expected = link.version
        updated = link.model_copy(update={"version": expected + 1, "updated_at": utc_now()})
        issue_items = _issue_items(link)
        new_pointers = [key for key in issue_items if key not in link.stored_pointers()]
        item = self._item(incident_key(link.incident_id), updated)
        if issue_items:
            item["pointers"] = {"SS": sorted(set(issue_items) | link.stored_pointers())}
        condition = {"ConditionExpression": "#v = :expected", "ExpressionAttributeNames": {"#v": "version"},
                     "ExpressionAttributeValues": {":expected": {"N": str(expected)}}}
        if not new_pointers:  # only the incident's own item changes: no transaction needed
            try:
                self.client.put_item(TableName=self._table, Item=item, **condition)
            except self.client.exceptions.ConditionalCheckFailedException:
                raise StaleLink(link.incident_id) from None
            return _with_pointers(updated, issue_items)
        writes: list[dict[str, Any]] = [{"Put": {"TableName": self._table, "Item": item, **condition}}]
        for key in new_pointers:  # an issue never follows two incidents
            writes.append({"Put": {
                "TableName": self._table,
                "Item": {"pk": {"S": key}, "incident_id": {"S": link.incident_id}},
                "ConditionExpression": "attribute_not_exists(pk) OR incident_id = :incident",
                "ExpressionAttributeValues": {":incident": {"S": link.incident_id}},
            }})
        try:
            self.client.transact_write_items(TransactItems=writes)
        except self.client.exceptions.TransactionCanceledException as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons[1:]:
                current = issue_item_key(link.connector, link.issue_id) if link.issue_id else None
                refused = new_pointers[reasons[1:].index("ConditionalCheckFailed")]
                if refused == current:
                    raise IssueAlreadyLinked(f"{link.connector}/{link.issue_id}") from None
                raise IssueAlreadyLinked(f"{link.connector}: an earlier issue of {link.incident_id}") from None
            raise StaleLink(link.incident_id) from None
        return _with_pointers(updated, issue_items)

    def get_by_incident(self, incident_id: str) -> IssueLink | None:
        return self._get(incident_key(incident_id))

    def get_by_issue(self, connector: str, issue_id: str) -> IssueLink | None:
        """The issue item names the incident; its item is the record (the one that every update writes)."""
        pointer = self.client.get_item(TableName=self._table, Key={"pk": {"S": issue_item_key(connector, issue_id)}},
                                       ConsistentRead=True, ProjectionExpression="incident_id").get("Item")
        return self.get_by_incident(pointer["incident_id"]["S"]) if pointer else None

    def _get(self, pk: str) -> IssueLink | None:
        answer = self.client.get_item(TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        item = answer.get("Item")
        return _decode(item) if item else None

    @staticmethod
    def _item(pk: str, link: IssueLink) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": {"S": pk},
            "version": {"N": str(link.version)},
            "incident_id": {"S": link.incident_id},
            "record": {"S": link.model_dump_json()},
        }
        if link.issue_key:
            item["issue_key"] = {"S": link.issue_key}
        return item


def _decode(item: dict[str, Any]) -> IssueLink:
    link = IssueLink.model_validate_json(item["record"]["S"])
    return _with_pointers(link, item.get("pointers", {}).get("SS", []))


def _issue_items(link: IssueLink) -> list[str]:
    """The issue items a record needs: its issue's and every earlier issue's (late webhooks find them)."""
    keys = [issue_item_key(link.connector, link.issue_id)] if link.issue_id is not None else []
    keys += [issue_item_key(p.connector, p.issue_id) for p in link.history if p.issue_id != link.issue_id]
    return list(dict.fromkeys(keys))


def _with_pointers(link: IssueLink, keys: list[str]) -> IssueLink:
    link.remember_pointers(frozenset(keys))
    return link


class InMemoryLinkStore:
    """The same contract without DynamoDB, for tests and the benchmark, doing the in-process work the
    DynamoDB store does (the benchmark counts it as the function's own; DynamoDB is the network it leaves out).

    As in the table: an incident's record is kept serialised with its version, so every read is an independent
    copy and a write's condition compares the version without reading the record; an issue's entry names its
    incident. A save serialises the record once and returns the saved record, as the DynamoDB store does.
    """

    def __init__(self) -> None:
        self.by_incident: dict[str, tuple[int, str]] = {}  # incident id -> (version, record)
        self.by_issue: dict[str, str] = {}  # issue item key -> incident id

    def claim(self, link: IssueLink) -> ClaimOutcome:
        existing = self.by_incident.get(link.incident_id)
        if existing is not None:
            return ClaimOutcome(link=IssueLink.model_validate_json(existing[1]), claimed=False)
        fresh = link.model_copy(update={"version": 1})
        self.by_incident[link.incident_id] = (fresh.version, fresh.model_dump_json())
        return ClaimOutcome(link=fresh, claimed=True)

    def save(self, link: IssueLink) -> IssueLink:
        stored = self.by_incident.get(link.incident_id)
        if stored is None or stored[0] != link.version:
            raise StaleLink(link.incident_id)
        issue_items = _issue_items(link)
        if link.issue_id is not None:  # an issue never follows two incidents
            key = issue_item_key(link.connector, link.issue_id)
            owner = self.by_issue.get(key)
            if owner is not None and owner != link.incident_id:
                raise IssueAlreadyLinked(key)
        updated = link.model_copy(update={"version": link.version + 1, "updated_at": utc_now()})
        self.by_incident[link.incident_id] = (updated.version, updated.model_dump_json())
        for key in issue_items:
            self.by_issue[key] = link.incident_id
        return updated

    def get_by_incident(self, incident_id: str) -> IssueLink | None:
        stored = self.by_incident.get(incident_id)
        return IssueLink.model_validate_json(stored[1]) if stored else None

    def get_by_issue(self, connector: str, issue_id: str) -> IssueLink | None:
        incident_id = self.by_issue.get(issue_item_key(connector, issue_id))
        return self.get_by_incident(incident_id) if incident_id is not None else None

"""Link records in DynamoDB: conditional writes, so no duplicate link can ever be written.

Each link is two items written in one transaction, `incident#<id>` and `issue#<connector>#<issue id>`,
both carrying the whole record, so either direction is one GetItem. Every write is conditional on
the version read (optimistic locking); a lost race surfaces as :class:`StaleLink` and the caller
re-reads and re-decides.
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
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._item(incident_key(link.incident_id), updated),
                    "ConditionExpression": "#v = :expected",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":expected": {"N": str(expected)}},
                }
            }
        ]
        if link.issue_id is not None:
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": self._item(issue_item_key(link.connector, link.issue_id), updated),
                        "ConditionExpression": "attribute_not_exists(pk) OR incident_id = :incident",
                        "ExpressionAttributeValues": {":incident": {"S": link.incident_id}},
                    }
                }
            )
        for past in link.history:  # an earlier issue's item answers "no longer linked" (the record says so)
            if past.issue_id != link.issue_id:
                writes.append({"Put": {
                    "TableName": self._table,
                    "Item": self._item(issue_item_key(past.connector, past.issue_id), updated),
                    "ConditionExpression": "attribute_not_exists(pk) OR incident_id = :incident",
                    "ExpressionAttributeValues": {":incident": {"S": link.incident_id}},
                }})
        try:
            self.client.transact_write_items(TransactItems=writes)
        except self.client.exceptions.TransactionCanceledException as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise IssueAlreadyLinked(f"{link.connector}/{link.issue_id}") from None
            if "ConditionalCheckFailed" in reasons[2 if link.issue_id is not None else 1:]:
                raise IssueAlreadyLinked(f"{link.connector}: an earlier issue of {link.incident_id}") from None
            raise StaleLink(link.incident_id) from None
        return updated

    def get_by_incident(self, incident_id: str) -> IssueLink | None:
        return self._get(incident_key(incident_id))

    def get_by_issue(self, connector: str, issue_id: str) -> IssueLink | None:
        return self._get(issue_item_key(connector, issue_id))

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
    return IssueLink.model_validate_json(item["record"]["S"])


class InMemoryLinkStore:
    """The same contract without DynamoDB, for tests and the benchmark.

    Records are kept serialised, as DynamoDB keeps them, so every read is an independent copy.
    """

    def __init__(self) -> None:
        self.by_incident: dict[str, str] = {}
        self.by_issue: dict[str, str] = {}

    def claim(self, link: IssueLink) -> ClaimOutcome:
        existing = self.by_incident.get(link.incident_id)
        if existing is not None:
            return ClaimOutcome(link=IssueLink.model_validate_json(existing), claimed=False)
        fresh = link.model_copy(update={"version": 1})
        self.by_incident[link.incident_id] = fresh.model_dump_json()
        return ClaimOutcome(link=fresh, claimed=True)

    def save(self, link: IssueLink) -> IssueLink:
        current = self.get_by_incident(link.incident_id)
        if current is None or current.version != link.version:
            raise StaleLink(link.incident_id)
        updated = link.model_copy(update={"version": link.version + 1, "updated_at": utc_now()})
        record = updated.model_dump_json()
        if link.issue_id is not None:
            key = issue_item_key(link.connector, link.issue_id)
            other = self.by_issue.get(key)
            if other is not None and IssueLink.model_validate_json(other).incident_id != link.incident_id:
                raise IssueAlreadyLinked(key)
            self.by_issue[key] = record
        for past in link.history:
            if past.issue_id != link.issue_id:
                self.by_issue[issue_item_key(past.connector, past.issue_id)] = record
        self.by_incident[link.incident_id] = record
        return IssueLink.model_validate_json(record)

    def get_by_incident(self, incident_id: str) -> IssueLink | None:
        record = self.by_incident.get(incident_id)
        return IssueLink.model_validate_json(record) if record else None

    def get_by_issue(self, connector: str, issue_id: str) -> IssueLink | None:
        record = self.by_issue.get(issue_item_key(connector, issue_id))
        return IssueLink.model_validate_json(record) if record else None

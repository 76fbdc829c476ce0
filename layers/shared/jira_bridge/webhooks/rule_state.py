"""What the Jira rules remember: which issues already asked for an incident, how often each rule
fired this hour, and which rules were switched off. Kept in the link table beside the links.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

COUNTER_KEEP_SECONDS = 2 * 86_400


class DynamoRuleState:
    def __init__(self, table_name: str, client_factory: Callable[[], Any]) -> None:
        self._table = table_name
        self._client_factory = client_factory

    @property
    def _client(self) -> Any:
        return self._client_factory()

    def claim_origin(self, connector: str, issue_id: str, rule: str) -> str:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={"pk": {"S": f"origin#{connector}#{issue_id}"}, "rule": {"S": rule},
                      "state": {"S": "pending"}, "claimed_at": {"N": str(int(time.time()))}},
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as error:
            old = error.response.get("Item") or {}
            return str(old.get("state", {}).get("S", "published"))
        return "new"

    def mark_published(self, connector: str, issue_id: str) -> None:
        self._client.update_item(TableName=self._table, Key={"pk": {"S": f"origin#{connector}#{issue_id}"}},
                                 UpdateExpression="SET #s = :published", ExpressionAttributeNames={"#s": "state"},
                                 ExpressionAttributeValues={":published": {"S": "published"}})

    def release_origin(self, connector: str, issue_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key={"pk": {"S": f"origin#{connector}#{issue_id}"}})

    def count_firing(self, rule: str, hour: str) -> int:
        answer = self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"rule#{rule}#{hour}"}},
            UpdateExpression="ADD fired :one SET expires_at = if_not_exists(expires_at, :expires)",
            ExpressionAttributeValues={":one": {"N": "1"},
                                       ":expires": {"N": str(int(time.time()) + COUNTER_KEEP_SECONDS)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["fired"]["N"])

    def disabled_reason(self, rule: str) -> str | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": {"S": f"rule-disabled#{rule}"}},
                                     ConsistentRead=True).get("Item")
        return str(item["reason"]["S"]) if item else None

    def disable(self, rule: str, reason: str) -> None:
        self._client.put_item(TableName=self._table, Item={"pk": {"S": f"rule-disabled#{rule}"},
                                                           "reason": {"S": reason}})


class InMemoryRuleState:
    def __init__(self) -> None:
        self.origins: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self.disabled: dict[str, str] = {}

    def claim_origin(self, connector: str, issue_id: str, rule: str) -> str:
        key = f"{connector}#{issue_id}"
        if key in self.origins:
            return self.origins[key]
        self.origins[key] = "pending"
        return "new"

    def mark_published(self, connector: str, issue_id: str) -> None:
        self.origins[f"{connector}#{issue_id}"] = "published"

    def release_origin(self, connector: str, issue_id: str) -> None:
        self.origins.pop(f"{connector}#{issue_id}", None)

    def count_firing(self, rule: str, hour: str) -> int:
        key = f"{rule}#{hour}"
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]

    def disabled_reason(self, rule: str) -> str | None:
        return self.disabled.get(rule)

    def disable(self, rule: str, reason: str) -> None:
        self.disabled[rule] = reason

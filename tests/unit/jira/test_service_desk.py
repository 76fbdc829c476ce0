"""Jira Service Management: which property makes a comment internal, and who wrote a comment."""

import pytest

from jira_bridge.jira.client import Comment
from jira_bridge.jira.service_desk import classify_comment, comment_properties, is_internal_property

pytestmark = pytest.mark.unit


def test_internal_is_the_sd_public_comment_property() -> None:
    assert comment_properties("internal") == {"sd.public.comment": {"internal": True}}
    assert comment_properties("public") == {"sd.public.comment": {"internal": False}}


@pytest.mark.parametrize(("jsd_public", "account_type", "kind"), [
    (False, "atlassian", "internal"),
    (False, None, "internal"),
    (True, "atlassian", "public"),
    (True, "customer", "customer"),
    (None, "customer", "customer"),  # Jira did not say: judged by the author
    (None, None, "public"),
])
def test_comments_are_internal_agents_public_or_customers(jsd_public: bool | None, account_type: str | None,
                                                          kind: str) -> None:
    assert classify_comment(jsd_public, account_type) == kind


def test_comments_read_jsd_public_and_the_authors_account_type() -> None:
    comment = Comment.from_json({"id": "1", "jsdPublic": False,
                                 "author": {"accountId": "a", "accountType": "customer"}})
    assert comment.jsd_public is False
    assert comment.author_account_type == "customer"
    assert Comment.from_json({"id": "2"}).jsd_public is None


@pytest.mark.parametrize(("value", "internal"), [
    ({"internal": True}, True),
    ({"internal": False}, False),
    ({"internal": "true"}, False),  # Jira Service Management reads a JSON boolean
    ({}, False),
    (None, False),  # no property: the comment is public
    ("{\"internal\": true}", True),  # DC's OpenAPI types the value as JSON text
    ("{\"internal\": false}", False),
    ("not json", False),
])
def test_only_internal_true_in_the_property_makes_a_comment_internal(value: object, internal: bool) -> None:
    assert is_internal_property(value) is internal

"""SQS ids: what real SQS accepts (1-128 ASCII letters, digits, punctuation), stable for one value."""

import pytest

from jira_bridge.sqs_ids import incident_group_id, is_valid_sqs_id, sqs_id


@pytest.mark.parametrize("value", ["INC-1042", "P1A2B3C", "a" * 128, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"])
def test_valid_ids_are_kept_readable(value: str) -> None:
    assert is_valid_sqs_id(value)
    assert sqs_id(value) == value


@pytest.mark.parametrize("value", ["", "has space", "ünïcode", "a" * 129, "tab\there", "\ud800", "emoji🔥"])
def test_values_sqs_would_refuse_become_a_stable_valid_digest(value: str) -> None:
    assert not is_valid_sqs_id(value)
    converted = sqs_id(value)
    assert is_valid_sqs_id(converted)
    assert converted == sqs_id(value)
    assert converted.startswith("sha256:")


def test_each_incident_gets_its_own_group() -> None:
    assert incident_group_id("INC-1") == "incident#INC-1"
    assert incident_group_id("INC-1") != incident_group_id("INC-2")
    assert is_valid_sqs_id(incident_group_id("Ïncident with spaces " * 10))

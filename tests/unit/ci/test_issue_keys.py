import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_bridge.ci.issue_keys import MAX_KEYS_PER_ENTITY, find_issue_keys

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[OPS-1] fix login", ["OPS-1"]),
        ("ops-12: lower case counts", ["OPS-12"]),
        ("feature/OPS-12-login-page", ["OPS-12"]),
        ("Merge pull request #7 from org/PAY-3_retry", ["PAY-3"]),
        ("OPS-012 has a leading zero", []),
        ("OPS-12a is not a whole word", []),
        ("ABC-OPS-12 is part of a longer token", []),
        ("1OPS-2 starts with a digit", []),
        ("A1_B-9 digits and underscore in the project", ["A1_B-9"]),
        ("OPS-1, OPS-2 and again ops-1", ["OPS-1", "OPS-2"]),
        ("see (OPS-7).", ["OPS-7"]),
        ("", []),
    ],
)
def test_key_rules(text: str, expected: list[str]) -> None:
    assert find_issue_keys([text]) == expected


def test_first_seen_order_across_pr_title_commits_and_branch() -> None:
    texts = ["OPS-3 title", "commit OPS-1", "commit ops-3 again", None, "feature/OPS-2-x"]
    assert find_issue_keys(texts) == ["OPS-3", "OPS-1", "OPS-2"]


def test_project_filter_keeps_only_that_project() -> None:
    assert find_issue_keys(["OPS-1 PAY-2 UTF-8 ops-4"], project="ops") == ["OPS-1", "OPS-4"]


def test_cap_at_jiras_limit() -> None:
    many = " ".join(f"OPS-{n}" for n in range(1, 300))
    keys = find_issue_keys([many])
    assert len(keys) == MAX_KEYS_PER_ENTITY
    assert keys[0] == "OPS-1"


@given(
    st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,5}", fullmatch=True), st.integers(1, 10**6)),
             max_size=20),
    st.sampled_from([" ", "\n", ", ", " [", "] ", "/"]),
)
def test_every_embedded_key_is_found_once_upper_cased(keys: list[tuple[str, int]], sep: str) -> None:
    text = sep.join(f"{project}-{number}" for project, number in keys)
    expected = list(dict.fromkeys(f"{p.upper()}-{n}" for p, n in keys))
    assert find_issue_keys([text]) == expected

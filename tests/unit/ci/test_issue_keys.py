"""Issue keys as Atlassian's own parser finds them (github-for-jira ``src/util/jira-utils.ts``).

The first table is github-for-jira's ``jira-utils.test.ts`` vectors, case for case; the second is
real branch, PR and commit names; the property tests compare with a transcription of Atlassian's
regex on arbitrary text.
"""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_bridge.ci.issue_keys import MAX_KEYS_PER_ENTITY, find_issue_keys

pytestmark = pytest.mark.unit

# github-for-jira src/util/jira-utils.test.ts, "jiraIssueKeyParser"
ATLASSIAN_VECTORS: list[tuple[str, list[str]]] = [
    ("", []),
    ("JRA-123", ["JRA-123"]),
    ("jra-123", ["JRA-123"]),
    ("jRa-123", ["JRA-123"]),
    ("2PAC-123", []),
    ("42-123", []),
    ("J42-123", ["J42-123"]),
    ("b4l-123", ["B4L-123"]),
    ("Ja9-123", ["JA9-123"]),
    ("feature/J3-123-my-feature", ["J3-123"]),
    ("F-67-my-feature", []),
    ("JRA-123 with suffix spaces and JRA-123 TBD-123", ["JRA-123", "TBD-123"]),
    ("feature-branch/JRA-123", ["JRA-123"]),
    ("prefix-kebab-JRA-123", ["JRA-123"]),
    ("JRA-123-suffix-kebab", ["JRA-123"]),
    ("JRA-123 with suffix spaces", ["JRA-123"]),
    ("prefix spaces with JRA-123", ["JRA-123"]),
    ("JRA-123 Jra-456-jra-901\n[bah-321]", ["JRA-123", "JRA-456", "JRA-901", "BAH-321"]),
    ("JIRA-123", ["JIRA-123"]),
    ("abcd JIRA-123", ["JIRA-123"]),
    ("abcd-JIRA-123", ["JIRA-123"]),
    ("JIRA-123-abcd", ["JIRA-123"]),
    ("JIRA-123 abcd", ["JIRA-123"]),
    ("JIRA-123 JIRA-456 abcd", ["JIRA-123", "JIRA-456"]),
    ("JIRA-123abcd", []),
    ("JIRA-123abcd JIRA-456 abcd", ["JIRA-456"]),
]
# "should extract issue keys wrapped in special characters": every one of these on either side.
ATLASSIAN_SPECIAL_CHARACTERS = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\n\t"

# Real branch names, PR titles and commit subjects (GitHub, GitLab, Bitbucket, bots).
REAL_NAMES: list[tuple[str, list[str]]] = [
    ("feature/PROJ-1234-add-sso-login", ["PROJ-1234"]),
    ("bugfix/ops-77_fix_timeout", ["OPS-77"]),
    ("feature_OPS-1", ["OPS-1"]),
    ("Merge pull request #512 from acme/feature/CORE-88-cache", ["CORE-88"]),
    ("[CORE-88][CORE-89] fix race in the scheduler", ["CORE-88", "CORE-89"]),
    ('Revert "PLAT-1234: bump node to 20"', ["PLAT-1234"]),
    ("fix(api): handle null body (#456) refs JIRA-77", ["JIRA-77"]),
    ("OPS-3-WEB-9-shared-login", ["OPS-3", "WEB-9"]),
    ("feature/ABC-123_DEF-456", ["ABC-123", "DEF-456"]),
    ("hotfix/INC-2024-05-outage", ["INC-2024"]),
    ("Q-12-new-form", []),
    ("MY_APP-7 rename", ["APP-7"]),
    ("123-fix-login-page", []),
    ("release/v1.2.3", []),
    ("OPS-012-zero-padded", []),
    ("Überprüfung der Anmeldung OPS-5", ["OPS-5"]),
    ("Bump sha.js from 2.4.11 to 2.4.12", []),
    # Atlassian's rules read these as keys too; Jira answers them as unknown keys and PROJECT filters them.
    ("dependabot/npm_and_yarn/lodash-4.17.21", ["LODASH-4"]),
    ("renovate/actions-checkout-4.x", ["CHECKOUT-4"]),
    ("Use UTF-8 everywhere", ["UTF-8"]),
]


@pytest.mark.parametrize(("text", "expected"), ATLASSIAN_VECTORS)
def test_atlassian_vectors(text: str, expected: list[str]) -> None:
    assert find_issue_keys([text]) == expected


@pytest.mark.parametrize("before", list(ATLASSIAN_SPECIAL_CHARACTERS))
@pytest.mark.parametrize("after", list(ATLASSIAN_SPECIAL_CHARACTERS))
def test_atlassian_special_characters_separate(before: str, after: str) -> None:
    assert find_issue_keys([f"{before}JRA-123{after}"]) == ["JRA-123"]


@pytest.mark.parametrize(("text", "expected"), REAL_NAMES)
def test_real_branch_pr_and_commit_names(text: str, expected: list[str]) -> None:
    assert find_issue_keys([text]) == expected


@pytest.mark.parametrize(
    ("text", "project", "expected"),
    [
        ("feature_OPS-1", "OPS", ["OPS-1"]),
        ("feature_OPS-1", "ops", ["OPS-1"]),
        ("OPS-3-WEB-9", "WEB", ["WEB-9"]),
        ("OPS-1 PAY-2 UTF-8 ops-4", "OPS", ["OPS-1", "OPS-4"]),
        # A Data Center project with "_" is matched literally, still as a whole word.
        ("feature/my_app-7-login", "MY_APP", ["MY_APP-7"]),
        ("MY_APP-7 and APP-8", "MY_APP", ["MY_APP-7"]),
        ("XMY_APP-7", "MY_APP", []),
        ("MY_APP-7x", "MY_APP", []),
        ("MY_APP-07", "MY_APP", []),
        ("MY_APP-7", "APP", ["APP-7"]),  # "_" separates, as in Atlassian's rule
    ],
)
def test_project_filter(text: str, project: str, expected: list[str]) -> None:
    assert find_issue_keys([text], project=project) == expected


def test_explicit_keys_come_first_and_may_name_data_center_projects() -> None:
    keys = find_issue_keys(["fix OPS-2"], explicit=["my_app-7", "OPS-1, OPS-3"])
    assert keys == ["MY_APP-7", "OPS-1", "OPS-3", "OPS-2"]
    assert find_issue_keys([], explicit=["MY_APP-7", "OPS-1"], project="my_app") == ["MY_APP-7"]
    assert find_issue_keys([], explicit=["Q-1", "OPS-01"]) == []


def test_first_seen_order_across_pr_title_commits_and_branch() -> None:
    texts = ["OPS-3 title", "commit OPS-1", "commit ops-3 again", None, "feature/OPS-2-x"]
    assert find_issue_keys(texts) == ["OPS-3", "OPS-1", "OPS-2"]


def test_cap_at_jiras_limit() -> None:
    many = " ".join(f"OPS-{n}" for n in range(1, 300))
    keys = find_issue_keys([many])
    assert len(keys) == MAX_KEYS_PER_ENTITY
    assert keys[0] == "OPS-1"


def test_ascii_only_no_unicode_case_folding_into_keys() -> None:
    # JavaScript's /[A-Z]/iu matches the long s U+017F (and the Kelvin sign U+212A) and upper-cases it to S / K.
    assert find_issue_keys(["\u017fs-12"]) == []
    assert find_issue_keys(["\u212aa-12"]) == []
    assert find_issue_keys(["caféOPS-1"]) == ["OPS-1"]  # a non-ASCII letter separates, as in Atlassian's


# Atlassian's regex transcribed literally (consuming separator group, ASCII as JavaScript's \d is).
_ATLASSIAN = re.compile(r"(^|[^A-Z\d])([A-Z][A-Z\d]{1,255}-[1-9]\d{0,255})(?=$|[^A-Z\d])", re.IGNORECASE | re.ASCII)


def atlassian(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(2).upper() for m in _ATLASSIAN.finditer(text)))


@given(st.text(alphabet="aBz0 9-_/[]é\n.", max_size=60))
def test_same_keys_as_atlassians_regex_on_any_text(text: str) -> None:
    assert find_issue_keys([text], limit=10_000) == atlassian(text)


@given(
    st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9]{1,5}", fullmatch=True), st.integers(1, 10**6)),
             max_size=20),
    st.sampled_from([" ", "\n", ", ", " [", "] ", "/", "-", "_"]),
)
def test_every_embedded_key_is_found_once_upper_cased(keys: list[tuple[str, int]], sep: str) -> None:
    text = sep.join(f"{project}-{number}" for project, number in keys)
    expected = list(dict.fromkeys(f"{p.upper()}-{n}" for p, n in keys))
    assert find_issue_keys([text], limit=10_000) == expected

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_bridge.ci.model import CiRun, Environment, KeyTexts, Pipeline, TestCounts
from jira_bridge.ci.payloads import (
    MAX_ATTEMPT,
    MAX_URL,
    branch_url,
    build_data,
    deployment_data,
    fit_url,
    jira_timestamp,
    update_sequence_number,
)
from jira_bridge.ci.states import FINAL_STATES
from jira_bridge.ci.text import ELLIPSIS, stable_id, truncate

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
STATES = ["pending", "in_progress", "successful", "failed", "cancelled", "unknown", "rolled_back"]
NON_FINAL = [s for s in STATES if s not in FINAL_STATES]
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def run(**changes: object) -> CiRun:
    base = CiRun(
        source="notify", pipeline=Pipeline("org/repo/ci.yml", "CI", "https://ci.example.com/p"), number=42,
        url="https://ci.example.com/42", state="success", updated_at=T0,
        texts=KeyTexts(pr_title="OPS-1 Faster checkout", commit_messages=("OPS-1 cache\n\nbody",), branch="OPS-1-x"),
        commit="abc123", repository_url="https://github.com/org/repo",
    )
    return CiRun(**{**base.__dict__, **changes})  # type: ignore[arg-type]


# ----- updateSequenceNumber --------------------------------------------------------------------


@given(moments, moments, st.sampled_from(STATES), st.sampled_from(STATES), st.integers(1, 20))
def test_a_later_update_has_a_higher_number_unless_it_would_undo_a_final_state(
    first: datetime, second: datetime, first_state: str, second_state: str, attempt: int
) -> None:
    a = update_sequence_number(first_state, first, attempt)
    b = update_sequence_number(second_state, second, attempt)
    if first_state in FINAL_STATES and second_state not in FINAL_STATES:
        assert b < a, "an in-progress report never overwrites a final one, however late"
    elif (first_state in FINAL_STATES) == (second_state in FINAL_STATES) and second > first + timedelta(
            milliseconds=1):
        assert b > a, "a later update of the same kind wins"
    assert 0 < a < 2**53
    assert 0 < b < 2**53


@given(moments, moments, st.sampled_from(STATES), st.sampled_from(NON_FINAL), st.integers(1, 50))
def test_a_rerun_attempt_may_replace_a_final_state(
    first: datetime, second: datetime, final_state: str, rerun_state: str, attempt: int
) -> None:
    rerun = update_sequence_number(rerun_state, second, attempt + 1)
    assert rerun > update_sequence_number(final_state, first, attempt)


def test_same_update_same_number_and_ties_are_broken_by_state() -> None:
    assert update_sequence_number("successful", T0) == update_sequence_number("successful", T0)
    assert update_sequence_number("in_progress", T0) > update_sequence_number("pending", T0)
    assert update_sequence_number("successful", T0) > update_sequence_number("in_progress", T0 + timedelta(days=3))


# ----- truncation and ids ------------------------------------------------------------------------


@given(st.text(max_size=600), st.integers(1, 300))
def test_truncation_counts_characters_and_marks_the_cut(text: str, limit: int) -> None:
    cut = truncate(text, limit)
    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text
    else:
        assert cut == text[: limit - 1] + ELLIPSIS
    assert truncate(cut, limit) == cut


def test_truncation_is_by_characters_not_bytes() -> None:
    text = "Überprüfung " * 30  # 360 characters, 420 bytes in UTF-8
    cut = truncate(text, 255)
    assert len(cut) == 255
    assert len(cut.encode()) > 255
    assert truncate("🚀" * 300, 255) == "🚀" * 254 + ELLIPSIS


@given(st.text(min_size=1, max_size=1000))
def test_long_ids_stay_distinct_and_fit(value: str) -> None:
    fitted = stable_id(value)
    assert len(fitted) <= 255
    assert fitted == stable_id(value)
    if len(value) <= 255:
        assert fitted == value
    else:
        assert fitted != stable_id(value + "x")


def test_fit_url_drops_query_before_cutting() -> None:
    long_query = "https://ci.example.com/run/1?" + "x=1&" * 800
    assert fit_url(long_query) == "https://ci.example.com/run/1"
    assert len(fit_url("https://ci.example.com/" + "a" * 3000)) == MAX_URL


def test_jira_timestamps_are_utc_with_milliseconds() -> None:
    assert jira_timestamp(T0) == "2026-11-23T03:00:00.000Z"
    assert jira_timestamp(datetime(2026, 1, 1, 12, tzinfo=UTC).astimezone(UTC) + timedelta(microseconds=1500)) == (
        "2026-01-01T12:00:00.001Z")


# ----- entities ----------------------------------------------------------------------------------


def test_build_data() -> None:
    build = build_data(run(tests=TestCounts(10, 8, 1, 1)), "successful", ["OPS-1"])
    assert build == {
        "schemaVersion": "1.0", "pipelineId": "org/repo/ci.yml", "buildNumber": 42,
        "updateSequenceNumber": update_sequence_number("successful", T0), "displayName": "CI #42",
        "url": "https://ci.example.com/42", "state": "successful", "lastUpdated": "2026-11-23T03:00:00.000Z",
        "issueKeys": ["OPS-1"], "description": "OPS-1 Faster checkout", "label": "OPS-1-x",
        "references": [{"commit": {"id": "abc123", "repositoryUri": "https://github.com/org/repo"},
                        "ref": {"name": "OPS-1-x", "uri": "https://github.com/org/repo/tree/OPS-1-x"}}],
        "testInfo": {"totalNumber": 10, "numberPassed": 8, "numberFailed": 1, "numberSkipped": 1},
    }


def test_build_keys_are_capped_and_long_texts_truncated() -> None:
    long = "x" * 400
    build = build_data(run(display_name=long, label=long, description=long, pipeline=Pipeline("p" * 300, long)),
                       "failed", [f"OPS-{n}" for n in range(1, 200)])
    assert len(build["issueKeys"]) == 100
    assert all(len(build[f]) == 255 for f in ("displayName", "label", "description", "pipelineId"))
    assert build["pipelineId"] != "p" * 255


def test_deployment_data_keeps_the_environment_name_and_derives_id_and_type() -> None:
    started = T0 - timedelta(minutes=5)
    deployment = deployment_data(run(environment=Environment("Production EU"), started_at=started), "successful",
                                 [f"OPS-{n}" for n in range(1, 600)])
    assert deployment["environment"]["displayName"] == "Production EU"
    assert deployment["environment"]["type"] == "production"
    assert deployment["environment"]["id"].startswith("production-eu-")
    assert deployment["pipeline"] == {"id": "org/repo/ci.yml", "displayName": "CI", "url": "https://ci.example.com/p"}
    assert deployment["deploymentSequenceNumber"] == 42
    assert deployment["associations"][0]["associationType"] == "issueIdOrKeys"
    assert len(deployment["associations"][0]["values"]) == 500
    assert deployment["duration"] == 300
    assert deployment["description"] == "OPS-1 Faster checkout"


def test_deployment_description_is_always_there() -> None:
    bare = run(environment=Environment("staging"), texts=KeyTexts(branch="OPS-2"), description=None)
    assert deployment_data(bare, "in_progress", ["OPS-2"])["description"] == "CI #42 to staging"
    assert "duration" not in deployment_data(bare, "in_progress", ["OPS-2"])


def test_a_build_needs_no_environment_and_a_deployment_needs_one() -> None:
    with pytest.raises(ValueError, match="environment"):
        deployment_data(run(), "successful", ["OPS-1"])


@given(moments, st.sampled_from(STATES), st.integers(1, 10_000))
def test_numbers_stay_exact_as_json_doubles(moment: datetime, state: str, attempt: int) -> None:
    number = update_sequence_number(state, moment, attempt)
    assert number < 2**53
    assert int(float(number)) == number
    assert json.loads(json.dumps(number)) == number


def test_the_largest_number_is_below_2_to_the_53() -> None:
    largest = update_sequence_number("rolled_back", datetime(2200, 1, 1, tzinfo=UTC), MAX_ATTEMPT)
    assert largest == 2**53 - 2  # every bit used, rank 6 of 7
    assert update_sequence_number("successful", T0, 1) < 2**53


def test_deployments_of_one_pipeline_and_environment_number_upwards_over_time() -> None:
    numbers = [update_sequence_number("successful", T0 + timedelta(minutes=n)) for n in range(10)]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 10


# ----- references: the branch (or the pull request), not the repository root ------------------------


@pytest.mark.parametrize(
    ("repository", "branch", "expected"),
    [
        ("https://github.com/org/repo", "feature/OPS-1-x", "https://github.com/org/repo/tree/feature/OPS-1-x"),
        ("https://github.com/org/repo.git", "refs/heads/main", "https://github.com/org/repo/tree/main"),
        ("https://gitlab.com/group/sub/repo/", "OPS-2-fix", "https://gitlab.com/group/sub/repo/-/tree/OPS-2-fix"),
        ("https://bitbucket.org/team/repo", "bug/ops 3", "https://bitbucket.org/team/repo/src/bug/ops%203"),
        ("https://dev.azure.com/org/proj/_git/repo", "feature/x",
         "https://dev.azure.com/org/proj/_git/repo?version=GBfeature%2Fx"),
        ("https://git.example.com/org/repo", "main", None),
        (None, "main", None),
    ],
)
def test_branch_url_on_known_hosts(repository: str | None, branch: str, expected: str | None) -> None:
    assert branch_url(repository, branch) == expected


def ref_of(**changes: object) -> dict[str, str]:
    (reference,) = build_data(run(**changes), "successful", ["OPS-1"])["references"]
    ref: dict[str, str] = reference["ref"]
    return ref


def test_the_ref_links_the_pull_request_then_the_branch_then_the_repository() -> None:
    pr = "https://github.com/org/repo/pull/7"
    assert ref_of(pull_request_url=pr)["uri"] == pr
    assert ref_of()["uri"] == "https://github.com/org/repo/tree/OPS-1-x"
    assert ref_of(branch_url="https://git.example.com/org/repo/branches/x")["uri"] == (
        "https://git.example.com/org/repo/branches/x")
    assert ref_of(repository_url="https://git.example.com/org/repo")["uri"] == "https://git.example.com/org/repo"

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_bridge.ci.environments import ENVIRONMENT_TYPES, TYPE_WORDS, environment_id, environment_type
from jira_bridge.ci.states import (
    BUILD_STATES,
    DEPLOYMENT_STATES,
    STATE_WORDS,
    is_final,
    jira_state,
    unknown_state_warning,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("ci_state", "expected"),
    [
        # GitHub (workflow_run status / conclusion, deployment_status state)
        ("queued", "pending"), ("requested", "pending"), ("in_progress", "in_progress"), ("success", "successful"),
        ("failure", "failed"), ("timed_out", "failed"), ("cancelled", "cancelled"), ("action_required", "pending"),
        ("neutral", "successful"), ("stale", "cancelled"), ("startup_failure", "failed"), ("error", "failed"),
        # GitLab
        ("running", "in_progress"), ("canceled", "cancelled"), ("manual", "pending"), ("skipped", "cancelled"),
        ("waiting_for_resource", "pending"),
        # CodeBuild / CodePipeline (upper case)
        ("IN_PROGRESS", "in_progress"), ("SUCCEEDED", "successful"), ("FAILED", "failed"), ("STOPPED", "cancelled"),
        ("STARTED", "in_progress"), ("RESUMED", "in_progress"), ("SUPERSEDED", "cancelled"), ("CANCELED", "cancelled"),
        ("STOPPING", "in_progress"), ("FAULT", "failed"),
        # Jenkins, Azure DevOps, free text
        ("UNSTABLE", "failed"), ("ABORTED", "cancelled"), ("NOT_BUILT", "cancelled"), ("partiallySucceeded", "failed"),
        ("Timed Out", "failed"), ("in-progress", "in_progress"), ("  Success ", "successful"),
        # Jira's own words map to themselves; anything else is unknown
        ("successful", "successful"), ("pending", "pending"), ("unknown", "unknown"),
        ("banana", "unknown"), ("", "unknown"), ("sucess", "unknown"),
        # words users expect (issue 15), accents and spacing ignored
        ("terminated", "cancelled"), ("TIMED_OUT", "failed"), ("Skipped", "cancelled"), ("Action Required", "pending"),
        ("interrupted", "cancelled"), ("expired", "cancelled"), ("waiting-for-approval", "pending"),
        ("canceling", "in_progress"), ("Succès", "unknown"), ("sùccess", "successful"), ("  timed  out ", "failed"),
    ],
)
def test_ci_states_map_onto_jira(ci_state: str, expected: str) -> None:
    assert jira_state(ci_state, "build") == expected


def test_rolled_back_is_a_deployment_state_and_a_failed_build() -> None:
    assert jira_state("rolled_back", "deployment") == "rolled_back"
    assert jira_state("ROLLBACK", "deployment") == "rolled_back"
    assert jira_state("rolled_back", "build") == "failed"


@given(st.text(max_size=40), st.sampled_from(["build", "deployment"]))
def test_every_word_maps_to_a_state_jira_accepts(word: str, kind: str) -> None:
    state = jira_state(word, kind)  # type: ignore[arg-type]
    assert state in (BUILD_STATES if kind == "build" else DEPLOYMENT_STATES)


def test_final_states() -> None:
    assert all(is_final(s) for s in ("successful", "failed", "cancelled", "rolled_back"))
    assert not any(is_final(s) for s in ("pending", "in_progress", "unknown"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("production", "production"), ("Production EU", "production"), ("prod-us-east-1", "production"),
        ("PRD", "production"), ("live", "production"), ("staging", "staging"), ("stg-2", "staging"),
        ("pre-prod", "staging"), ("preprod", "staging"), ("Pre_Prod", "staging"), ("qa", "testing"),
        ("UAT", "testing"), ("integration", "testing"), ("test", "testing"), ("prod-test", "testing"),
        ("stàging", "staging"), ("STÁGING-EU", "staging"), ("internal", "staging"), ("uat", "testing"),
        ("QA-2", "testing"), ("perf", "testing"), ("perf-eu", "testing"), ("sandbox", "development"),
        ("Préprod", "staging"),
        ("dev", "development"), ("Development", "development"), ("my-sandbox", "development"),
        ("github-pages", "unmapped"), ("eu-west-1", "unmapped"), ("productivity", "unmapped"),
    ],
)
def test_environment_type_is_guessed_from_the_words_of_the_name(name: str, expected: str) -> None:
    assert environment_type(name) == expected


def test_explicit_environment_type_wins_and_aliases_work() -> None:
    assert environment_type("eu-west-1", "production") == "production"
    assert environment_type("eu-west-1", "PROD") == "production"
    assert environment_type("production", "staging") == "staging"
    assert environment_type("production", "not-a-type") == "production"  # unusable: guessed instead


def test_environment_id_is_stable_readable_and_ignores_case_and_spacing() -> None:
    first = environment_id("Production EU")
    assert first == environment_id("production  eu") == environment_id(" PRODUCTION EU ")
    assert first.startswith("production-eu-")
    assert environment_id("prod/eu") != environment_id("prod-eu"), "same slug, different names: different ids"
    assert environment_id("x", explicit="my-env-id") == "my-env-id"


@given(st.text(min_size=1, max_size=600))
def test_environment_ids_fit_jira(name: str) -> None:
    value = environment_id(name)
    assert 1 <= len(value) <= 255
    assert value == environment_id(name)
    assert environment_type(name) in ENVIRONMENT_TYPES


README = Path(__file__).resolve().parents[3] / "README.md"


def readme_table(first_header: str) -> dict[str, set[str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### CI states and environment words"):]
    lines = section[section.index(first_header):].splitlines()[2:]
    table: dict[str, set[str]] = {}
    for line in lines:
        if not line.startswith("|"):
            break
        name, words = (cell.strip() for cell in line.strip("|").split("|"))
        table[name.strip("`")] = {w.strip().strip("`") for w in words.split(",")}
    return table


def test_the_readme_tables_are_the_words_the_bridge_knows() -> None:
    states: dict[str, set[str]] = {}
    for word, state in STATE_WORDS.items():
        states.setdefault(state, set()).add(word)
    assert readme_table("| Jira state |") == states
    assert readme_table("| Jira environment type |") == {t: set(words) for t, words in TYPE_WORDS}


def test_unknown_words_are_warned_about() -> None:
    assert unknown_state_warning("success") is None
    assert unknown_state_warning(None) is None
    warning = unknown_state_warning("sucess")
    assert warning is not None
    assert "'sucess' is not a CI state the bridge knows: reported as unknown" in warning

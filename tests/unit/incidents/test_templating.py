import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_bridge.incidents.templating import TemplateProblem, one_line, render, render_value, to_jinja

pytestmark = pytest.mark.unit

CONTEXT = {
    "incident": {"title": "DB down", "severity": "SEV1", "owner": {"email": "a@example.com"}},
    "jira": {"key": "OPS-7"},
}


def test_both_spellings_render_the_same() -> None:
    assert render("[incident.severity] {{incident.title}}", CONTEXT) == "SEV1 DB down"
    assert render("{{ incident.severity }} [incident.title]", CONTEXT) == "SEV1 DB down"
    assert render("see [jira.key]", CONTEXT) == "see OPS-7"


def test_other_square_brackets_are_left_alone() -> None:
    assert render("[WIP] [not.a.root] [incident]", CONTEXT) == "[WIP] [not.a.root] [incident]"
    assert to_jinja("[1] [incident.owner.email]") == "[1] {{ incident.owner.email }}"


def test_unknown_variable_is_an_error_naming_it_when_strict() -> None:
    with pytest.raises(TemplateProblem, match="nope"):
        render("{{ incident.nope }}", CONTEXT, strict=True)
    with pytest.raises(TemplateProblem, match="serverity"):
        render("[incident.serverity]", CONTEXT, strict=True)


def test_at_run_time_an_unknown_variable_renders_empty_even_when_chained() -> None:
    assert render("[incident.severity] {{ incident.nope }}|{{ incident.custom.a.b }}|x", CONTEXT) == "SEV1 ||x"
    assert render("{{ incident.nope or 'none' }}", CONTEXT) == "none"


def test_incident_data_is_never_evaluated_as_a_template() -> None:
    hostile = {"incident": {"title": "{{ 7*7 }} [incident.severity] {% for x in y %}", "severity": "SEV1"}}
    assert render("[incident.title]", hostile) == "{{ 7*7 }} [incident.severity] {% for x in y %}"


def test_a_summary_is_one_line_of_at_most_255_characters() -> None:
    assert one_line("DB down\n\n  on eu-west-1\t(primary)") == "DB down on eu-west-1 (primary)"
    long = one_line("word " * 100)
    assert len(long) == 255
    assert long.endswith("\u2026")
    assert one_line("x" * 255) == "x" * 255


def test_sandbox_refuses_python_internals() -> None:
    with pytest.raises(TemplateProblem):
        render("{{ incident.__class__.__mro__ }}", CONTEXT)


def test_render_value_walks_lists_and_mappings() -> None:
    assert render_value({"labels": ["sev-[incident.severity]", 3]}, CONTEXT) == {"labels": ["sev-SEV1", 3]}


@given(st.text().filter(lambda s: "{" not in s and "[" not in s))
def test_plain_text_passes_through(text: str) -> None:
    assert render(text, CONTEXT) == text

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_bridge.incidents.templating import TemplateProblem, render, render_value, to_jinja

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


def test_unknown_variable_is_an_error_naming_it() -> None:
    with pytest.raises(TemplateProblem, match="nope"):
        render("{{ incident.nope }}", CONTEXT)
    with pytest.raises(TemplateProblem, match="serverity"):
        render("[incident.serverity]", CONTEXT)


def test_sandbox_refuses_python_internals() -> None:
    with pytest.raises(TemplateProblem):
        render("{{ incident.__class__.__mro__ }}", CONTEXT)


def test_render_value_walks_lists_and_mappings() -> None:
    assert render_value({"labels": ["sev-[incident.severity]", 3]}, CONTEXT) == {"labels": ["sev-SEV1", 3]}


@given(st.text().filter(lambda s: "{" not in s and "[" not in s))
def test_plain_text_passes_through(text: str) -> None:
    assert render(text, CONTEXT) == text

"""ADF: text -> document, the builder, pass-through, and document -> text (with hypothesis round trips)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jira_bridge.jira import adf
from jira_bridge.jira.adf import adf_to_text, doc, from_text, paragraph, text, to_adf

pytestmark = [pytest.mark.unit, pytest.mark.disable_socket]  # HTTP is faked under urllib3 (tests/http_fake.py)


def test_paragraphs_and_hard_breaks() -> None:
    assert from_text("Checkout is down.\nSince 10:02 UTC.\n\n  \nImpact: all EU users") == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Checkout is down."},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Since 10:02 UTC."},
                ],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "Impact: all EU users"}]},
        ],
    }


def test_urls_become_links_without_trailing_punctuation() -> None:
    document = from_text(
        "Runbook: https://wiki.example.com/x?a=1&b=2. Dashboard (https://grafana.example.com/d/1)"
    )
    nodes = document["content"][0]["content"]
    assert nodes == [
        {"type": "text", "text": "Runbook: "},
        {
            "type": "text",
            "text": "https://wiki.example.com/x?a=1&b=2",
            "marks": [{"type": "link", "attrs": {"href": "https://wiki.example.com/x?a=1&b=2"}}],
        },
        {"type": "text", "text": ". Dashboard ("},
        {
            "type": "text",
            "text": "https://grafana.example.com/d/1",
            "marks": [{"type": "link", "attrs": {"href": "https://grafana.example.com/d/1"}}],
        },
        {"type": "text", "text": ")"},
    ]


def test_balanced_parentheses_stay_in_the_url() -> None:
    nodes = from_text("see https://en.wikipedia.org/wiki/Bug_(engineering).")["content"][0]["content"]
    assert nodes[1]["text"] == "https://en.wikipedia.org/wiki/Bug_(engineering)"
    assert nodes[2]["text"] == "."


def test_empty_text_is_an_empty_document() -> None:
    assert from_text("") == {"type": "doc", "version": 1, "content": []}
    assert from_text("\n \n\t\n") == {"type": "doc", "version": 1, "content": []}


def test_windows_newlines() -> None:
    assert adf_to_text(from_text("a\r\nb\r\n\r\nc")) == "a\nb\n\nc"


def test_existing_document_passes_through() -> None:
    document = doc(paragraph(text("bold", [adf.strong()])))
    assert to_adf(document) == document
    assert to_adf(paragraph("just a paragraph")) == doc(paragraph("just a paragraph"))
    with pytest.raises(TypeError):
        to_adf({"type": "text", "text": "inline nodes need a paragraph"})


def test_builder() -> None:
    document = doc(
        adf.heading(2, "Incident INC-42"),
        paragraph("Severity ", text("SEV1", [adf.strong()]), " since ", text("10:02", [adf.code()])),
        adf.bullet_list("first", [text("second", [adf.em()])]),
        adf.code_block("kubectl rollout undo deploy/checkout", "bash"),
    )
    assert document["content"][0] == {
        "type": "heading",
        "attrs": {"level": 2},
        "content": [{"type": "text", "text": "Incident INC-42"}],
    }
    assert adf_to_text(document) == (
        "Incident INC-42\n\nSeverity SEV1 since 10:02\n\n- first\n- second\n\n"
        "kubectl rollout undo deploy/checkout"
    )
    with pytest.raises(ValueError, match="at least one character"):
        text("")
    with pytest.raises(ValueError, match="level"):
        adf.heading(7, "x")


def test_reading_a_jira_comment_back() -> None:
    comment: dict[str, Any] = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@Mia Krystof"}},
                    {"type": "text", "text": " please take a look "},
                    {"type": "emoji", "attrs": {"shortName": ":eyes:", "text": "👀"}},
                ],
            },
            {
                "type": "orderedList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "a"}]}],
                    },
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "b"}]}],
                    },
                ],
            },
            {
                "type": "paragraph",
                "content": [{"type": "inlineCard", "attrs": {"url": "https://x.example/1"}}],
            },
        ],
    }
    assert adf_to_text(comment) == "@Mia Krystof please take a look 👀\n\n1. a\n2. b\n\nhttps://x.example/1"
    assert adf_to_text(None) == ""
    assert adf_to_text("wiki *markup* stays") == "wiki *markup* stays"


# --- properties -------------------------------------------------------------------------------

# a line: any text without line breaks that is not blank
_line = st.text(st.characters(exclude_characters="\r\n"), min_size=1, max_size=40).filter(
    lambda s: s.strip() != ""
)
_paragraphs = st.lists(st.lists(_line, min_size=1, max_size=4), min_size=0, max_size=5)


@settings(max_examples=200, deadline=None)
@given(_paragraphs)
def test_round_trip_of_paragraph_text(paragraphs: list[list[str]]) -> None:
    """Paragraphs of lines survive text -> ADF -> text exactly."""
    canonical = "\n\n".join("\n".join(lines) for lines in paragraphs)
    document = from_text(canonical)
    assert adf_to_text(document) == canonical
    assert len(document["content"]) == len(paragraphs)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_keeps_every_visible_character(value: str) -> None:
    document = from_text(value)
    back = adf_to_text(document)
    assert "".join(back.split()) == "".join(value.split())
    assert from_text(back) == document  # idempotent after one pass
    for block in document["content"]:
        for node in block.get("content", []):
            assert node["type"] in {"text", "hardBreak"}
            if node["type"] == "text":
                assert node["text"]  # the schema's minLength 1


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            _line.filter(lambda s: "http" not in s.lower()),
            st.from_regex(r"https://[a-z]{1,10}\.example\.com/[a-z0-9/_-]{0,20}", fullmatch=True),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_links_round_trip(parts: list[str]) -> None:
    line = " ".join(parts)
    document = from_text(line)
    assert adf_to_text(document) == line.strip("\n")
    links = [
        node["text"]
        for node in document["content"][0]["content"]
        if any(mark["type"] == "link" for mark in node.get("marks", []))
    ]
    for node_text in links:
        assert node_text.startswith("https://")

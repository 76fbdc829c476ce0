"""Atlassian Document Format: checking bodies, and turning them into text.

REST v3 takes and returns rich text as ADF. Webhook payloads carry the same values as *wiki markup*
strings (see the real captures in ``shared/contracts/jira-webhooks``), and the simulator's HTML index
shows plain text, hence the small renderer here. It covers the nodes an integration writes
(paragraphs, text marks, links, mentions, lists, code blocks, headings, rules); anything else
contributes its text content.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema import Draft4Validator

from jira_sim.errors import NOT_ADF

#: Where the ADF schema validator comes from: called on first use, returns None without contracts.
AdfValidatorSource = Callable[[], Draft4Validator | None]


def no_schema() -> Draft4Validator | None:
    return None


def adf_error(value: object, validator_source: AdfValidatorSource) -> str | None:
    """Why ``value`` is not an acceptable ADF document, or None when it is.

    Without a schema validator only the envelope is checked: ``{"type": "doc", "version": 1,
    "content": [...]}``, which is what Jira's first check rejects plain strings with.
    """
    if not isinstance(value, dict) or value.get("type") != "doc":
        return NOT_ADF
    if value.get("version") != 1 or not isinstance(value.get("content"), list):
        return NOT_ADF
    validator = validator_source()
    if validator is not None and not validator.is_valid(value):
        # Jira's answer for a document that has the right envelope but bad nodes.
        return "INVALID_INPUT"
    return None


def text_doc(text: str) -> dict[str, Any]:
    """A one-paragraph-per-line ADF document: the easiest valid body to build in tests and demos."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []} for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def to_wiki(doc: object) -> str:
    """Render an ADF document as Jira wiki markup, the form webhook payloads carry (a string is
    wiki markup already: Data Center stores what REST v2 was given)."""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    blocks = [_block(node) for node in doc.get("content") or []]
    return "\n\n".join(b for b in blocks if b)


def to_plain_text(doc: object) -> str:
    """Only the text, for display and for JQL text search (wiki markup is searched as written)."""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    parts: list[str] = []
    _collect_text(doc, parts)
    return " ".join(p for p in parts if p).strip()


def _collect_text(node: dict[str, Any], parts: list[str]) -> None:
    if node.get("type") == "text":
        parts.append(str(node.get("text", "")))
    for child in node.get("content") or []:
        if isinstance(child, dict):
            _collect_text(child, parts)


def _inline(nodes: list[Any]) -> str:
    return "".join(_inline_node(n) for n in nodes if isinstance(n, dict))


_MARK_WRAPPERS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "strong": lambda text, _: f"*{text}*",
    "em": lambda text, _: f"_{text}_",
    "code": lambda text, _: "{{" + text + "}}",
    "strike": lambda text, _: f"-{text}-",
    "underline": lambda text, _: f"+{text}+",
    "link": lambda text, attrs: f"[{text}|{attrs.get('href', '')}]",
}


def _inline_node(node: dict[str, Any]) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        text = str(node.get("text", ""))
        for mark in node.get("marks") or []:
            wrap = _MARK_WRAPPERS.get(mark.get("type", ""))
            if wrap is not None:
                text = wrap(text, mark.get("attrs") or {})
        return text
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return f"[~accountid:{attrs.get('id', '')}]"
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName", ""))
    if kind == "inlineCard":
        return f"[{attrs.get('url', '')}|{attrs.get('url', '')}|smart-link]"
    return _inline(node.get("content") or [])


def _block(node: object) -> str:
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    content = node.get("content") or []
    if kind == "paragraph":
        return _inline(content)
    if kind == "heading":
        return f"h{(node.get('attrs') or {}).get('level', 1)}. {_inline(content)}"
    if kind in ("bulletList", "orderedList"):
        bullet = "*" if kind == "bulletList" else "#"
        return "\n".join(f"{bullet} {_list_item(item)}" for item in content)
    if kind == "codeBlock":
        language = (node.get("attrs") or {}).get("language")
        opener = f"{{code:{language}}}" if language else "{code}"
        return f"{opener}{_inline(content)}{{code}}"
    if kind == "blockquote":
        return "{quote}" + "\n".join(_block(c) for c in content) + "{quote}"
    if kind == "rule":
        return "----"
    return "\n".join(_block(c) for c in content)


def _list_item(item: object) -> str:
    if not isinstance(item, dict):
        return ""
    return " ".join(_block(c) for c in item.get("content") or [])

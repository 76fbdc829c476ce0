"""Atlassian Document Format (ADF): what REST v3 wants for descriptions, comments and textarea fields.

REST v3 refuses a plain string in those fields ("Operation value must be an Atlassian Document"),
so :func:`to_adf` turns text into a document and passes an existing document through.

* :func:`from_text` - paragraphs split on blank lines, single newlines as ``hardBreak``, URLs as
  ``link`` marks (text kept exactly).
* :func:`from_markdown` - the same plus headings, bullet and numbered lists, fenced code and inline
  code/links/bold: what runbooks write into descriptions and comments.
* a tiny builder: :func:`doc`, :func:`paragraph`, :func:`text`, :func:`heading`,
  :func:`bullet_list`, :func:`code_block`, :func:`hard_break` and the marks :func:`link`,
  :func:`strong`, :func:`em`, :func:`code`.
* :func:`adf_to_text` - plain text back out of a document (comments read from Jira).

Schema: ``shared/contracts/adf/adf-schema-v1-full.json`` (``@atlaskit/adf-schema``). A text node's
``text`` must be non-empty, which is why empty strings never become text nodes here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

type AdfNode = dict[str, Any]
type Inline = AdfNode | str

_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}"

_BLOCK_TYPES = frozenset(
    {
        "paragraph",
        "heading",
        "bulletList",
        "orderedList",
        "codeBlock",
        "blockquote",
        "panel",
        "rule",
        "table",
        "mediaGroup",
        "mediaSingle",
        "expand",
        "taskList",
        "decisionList",
        "blockCard",
        "embedCard",
    }
)


# --- marks ----------------------------------------------------------------------------------


def link(href: str, title: str | None = None) -> AdfNode:
    attrs: dict[str, str] = {"href": href}
    if title:
        attrs["title"] = title
    return {"type": "link", "attrs": attrs}


def strong() -> AdfNode:
    return {"type": "strong"}


def em() -> AdfNode:
    return {"type": "em"}


def code() -> AdfNode:
    return {"type": "code"}


# --- nodes ----------------------------------------------------------------------------------


def text(value: str, marks: Iterable[AdfNode] | None = None) -> AdfNode:
    """A text node; ``value`` must be non-empty (the ADF schema's ``minLength: 1``)."""
    if not value:
        raise ValueError("an ADF text node needs at least one character")
    node: AdfNode = {"type": "text", "text": value}
    mark_list = list(marks or ())
    if mark_list:
        node["marks"] = mark_list
    return node


def hard_break() -> AdfNode:
    return {"type": "hardBreak"}


def _inline(items: Iterable[Inline]) -> list[AdfNode]:
    out: list[AdfNode] = []
    for item in items:
        if isinstance(item, str):
            out.extend(inline_text(item))
        else:
            out.append(item)
    return out


def paragraph(*content: Inline) -> AdfNode:
    """A paragraph; string arguments go through :func:`inline_text` (newlines, links)."""
    node: AdfNode = {"type": "paragraph"}
    inline = _inline(content)
    if inline:
        node["content"] = inline
    return node


def heading(level: int, *content: Inline) -> AdfNode:
    if not 1 <= level <= 6:
        raise ValueError("heading level must be 1..6")
    node: AdfNode = {"type": "heading", "attrs": {"level": level}}
    inline = _inline(content)
    if inline:
        node["content"] = inline
    return node


def bullet_list(*items: Inline | list[Inline]) -> AdfNode:
    """A bullet list; each item is a paragraph's inline content (a string or a list of nodes)."""
    if not items:
        raise ValueError("a bullet list needs at least one item")
    list_items = []
    for item in items:
        content = item if isinstance(item, list) else [item]
        list_items.append({"type": "listItem", "content": [paragraph(*content)]})
    return {"type": "bulletList", "content": list_items}


def code_block(value: str, language: str | None = None) -> AdfNode:
    node: AdfNode = {"type": "codeBlock"}
    if language:
        node["attrs"] = {"language": language}
    if value:
        node["content"] = [{"type": "text", "text": value}]
    return node


def doc(*blocks: AdfNode) -> AdfNode:
    """The document root (``version: 1``)."""
    return {"type": "doc", "version": 1, "content": list(blocks)}


# --- text -> ADF ----------------------------------------------------------------------------


def _split_url(match: re.Match[str]) -> tuple[str, str]:
    url = match.group(0)
    trimmed = url.rstrip(_TRAILING_PUNCTUATION)
    # keep a closing parenthesis that belongs to the URL, e.g. https://en.wikipedia.org/wiki/X_(Y)
    while url[len(trimmed) :].startswith(")") and trimmed.count("(") > trimmed.count(")"):
        trimmed += ")"
    return trimmed, url[len(trimmed) :]


def _markdown_nodes(line: str) -> list[AdfNode]:
    """Inline nodes of one line: Markdown's code spans, links and bold, then bare URLs in the rest."""
    nodes: list[AdfNode] = []
    position = 0
    for match in _INLINE.finditer(line):
        if match.start() > position:
            nodes.extend(_line_nodes(line[position:match.start()]))
        code_span, label, href, bold = match.groups()
        if code_span is not None:
            nodes.append(text(code_span, [code()]))
        elif label is not None:
            nodes.append(text(label, [link(href)]))
        else:
            nodes.append(text(bold, [strong()]))
        position = match.end()
    if position < len(line):
        nodes.extend(_line_nodes(line[position:]))
    return nodes


def _line_nodes(line: str) -> list[AdfNode]:
    """Inline nodes of one plain line: text, and bare URLs as links."""
    nodes: list[AdfNode] = []
    position = 0
    for match in _URL.finditer(line):
        url, _rest = _split_url(match)
        start = match.start()
        if len(url) <= len("https://"):
            continue
        if start > position:
            nodes.append(text(line[position:start]))
        nodes.append(text(url, [link(url)]))
        position = start + len(url)
    if position < len(line):
        nodes.append(text(line[position:]))
    return nodes


def inline_text(value: str) -> list[AdfNode]:
    """Inline nodes for a string: each ``\\n`` becomes a ``hardBreak``, URLs become links."""
    lines = _normalize_newlines(value).split("\n")
    nodes: list[AdfNode] = []
    for index, line in enumerate(lines):
        if index:
            nodes.append(hard_break())
        nodes.extend(_line_nodes(line))
    return nodes


def _normalize_newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _is_blank(line: str) -> bool:
    return not line.strip()


def text_paragraphs(value: str) -> list[list[str]]:
    """The paragraphs of ``value``: runs of non-blank lines, separated by blank lines."""
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in _normalize_newlines(value).split("\n"):
        if _is_blank(line):
            if current:
                paragraphs.append(current)
                current = []
        else:
            current.append(line)
    if current:
        paragraphs.append(current)
    return paragraphs


_FENCE = re.compile(r"^\s*```\s*([A-Za-z0-9_+-]*)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*(\d{1,9})[.)]\s+(.*)$")
# Inline Markdown the bridge understands: `code`, [text](url), **bold**. Bare URLs become links too.
_INLINE = re.compile(r"`([^`\n]+)`|\[([^\]\n]+)\]\((https?://[^)\s]+)\)|\*\*([^*\n]+)\*\*")


def from_text(value: str) -> AdfNode:
    """A document from plain text: one paragraph per blank-line-separated block, hard breaks inside.

    Lines that hold only whitespace count as blank; whitespace inside a line is kept.
    """
    return doc(*(paragraph(*_join_lines(lines)) for lines in text_paragraphs(value)))


def from_markdown(value: str) -> AdfNode:
    """A document from Markdown-ish text, as people write incident descriptions and notes.

    Paragraphs split on blank lines (single newlines are hard breaks); ``#`` headings; ``-``/``*``
    bullet and ``1.`` numbered lists; fenced code blocks; inline `code`, ``[text](url)``, ``**bold**``
    and bare URLs. Anything else is text, as typed. Written by hand (not a Markdown library): the
    layer needs only this subset, mapped straight onto ADF nodes, and no new runtime dependency.
    """
    lines = _normalize_newlines(value).split("\n")
    blocks: list[AdfNode] = []
    paragraph_lines: list[str] = []

    def end_paragraph() -> None:
        if paragraph_lines:
            blocks.append(paragraph(*_join_lines(paragraph_lines, _markdown_nodes)))
            paragraph_lines.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            end_paragraph()
            body: list[str] = []
            index += 1
            while index < len(lines) and not _FENCE.match(lines[index]):
                body.append(lines[index])
                index += 1
            blocks.append(code_block("\n".join(body), fence.group(1) or None))
            index += 1  # the closing fence (or the end of the text)
            continue
        heading_match = _HEADING.match(line)
        if heading_match:
            end_paragraph()
            blocks.append(heading(len(heading_match.group(1)), *_markdown_nodes(heading_match.group(2))))
            index += 1
            continue
        if _BULLET.match(line) or _NUMBERED.match(line):
            end_paragraph()
            numbered = _NUMBERED.match(line)
            pattern = _NUMBERED if numbered else _BULLET
            items: list[list[AdfNode]] = []
            while index < len(lines) and (item := pattern.match(lines[index])):
                items.append(_markdown_nodes(item.group(item.lastindex or 1)))
                index += 1
            blocks.append(_list(items, int(numbered.group(1)) if numbered else None))
            continue
        if _is_blank(line):
            end_paragraph()
        else:
            paragraph_lines.append(line)
        index += 1
    end_paragraph()
    return doc(*blocks)


def _list(items: list[list[AdfNode]], start: int | None) -> AdfNode:
    entries = [{"type": "listItem", "content": [paragraph(*content)]} for content in items]
    if start is None:
        return {"type": "bulletList", "content": entries}
    node: AdfNode = {"type": "orderedList", "content": entries}
    if start != 1:
        node["attrs"] = {"order": start}
    return node


def _join_lines(lines: list[str], inline: Callable[[str], list[AdfNode]] | None = None) -> list[AdfNode]:
    nodes: list[AdfNode] = []
    for index, line in enumerate(lines):
        if index:
            nodes.append(hard_break())
        nodes.extend((inline or _line_nodes)(line))
    return nodes


def is_doc(value: object) -> bool:
    return (
        isinstance(value, Mapping) and value.get("type") == "doc" and isinstance(value.get("content"), list)
    )


def to_adf(value: str | Mapping[str, Any]) -> AdfNode:
    """A document for a description/comment/textarea value.

    A document passes through unchanged, a single block node (e.g. a paragraph) is wrapped in a
    document, and a string is converted with :func:`from_text`.
    """
    if isinstance(value, str):
        return from_text(value)
    if is_doc(value):
        node = dict(value)
        node.setdefault("version", 1)
        return node
    if isinstance(value, Mapping) and value.get("type") in _BLOCK_TYPES:
        return doc(dict(value))
    raise TypeError(f"cannot turn {type(value).__name__} into an ADF document: give text or a doc node")


# --- ADF -> text ----------------------------------------------------------------------------


def adf_to_text(node: Any) -> str:
    """Plain text of a document: blocks separated by a blank line, ``hardBreak`` as a newline.

    Lists become ``- item`` lines, mentions their ``@name`` text, emoji their short name, cards
    their URL. A string is returned as is (REST v2 / webhooks sometimes carry wiki text).
    """
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if not isinstance(node, Mapping):
        return ""
    return _block_text(node).strip("\n")


def _children(node: Mapping[str, Any]) -> list[Any]:
    content = node.get("content")
    return content if isinstance(content, list) else []


def _blocks_text(blocks: list[Any], separator: str = "\n\n") -> str:
    parts = [_block_text(child) for child in blocks if isinstance(child, Mapping)]
    return separator.join(part for part in parts if part != "")


def _block_text(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    if kind in {"doc", "blockquote", "panel", "expand", "nestedExpand", "layoutSection", "layoutColumn"}:
        return _blocks_text(_children(node))
    if kind in {"bulletList", "orderedList", "taskList", "decisionList"}:
        lines = []
        for index, item in enumerate(_children(node), start=1):
            if not isinstance(item, Mapping):
                continue
            bullet = f"{index}." if kind == "orderedList" else "-"
            body = _blocks_text(_children(item), "\n") if _children(item) else _inline_text(item)
            lines.append(f"{bullet} " + body.replace("\n", "\n  "))
        return "\n".join(lines)
    if kind == "table":
        rows = []
        for row in _children(node):
            if isinstance(row, Mapping):
                cells = [
                    _blocks_text(_children(cell), " ") for cell in _children(row) if isinstance(cell, Mapping)
                ]
                rows.append(" | ".join(cells))
        return "\n".join(rows)
    if kind == "rule":
        return "---"
    if kind in {"paragraph", "heading", "codeBlock", "listItem", "taskItem", "decisionItem"}:
        return _inline_text(node)
    if kind in {"mediaSingle", "mediaGroup"}:
        return ""
    return _inline_text(node)


def _inline_text(node: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for child in _children(node):
        if not isinstance(child, Mapping):
            continue
        parts.append(_inline_node_text(child))
    return "".join(parts)


def _inline_node_text(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    raw_attrs = node.get("attrs")
    attrs: Mapping[str, Any] = raw_attrs if isinstance(raw_attrs, Mapping) else {}
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return str(attrs.get("text") or f"@{attrs.get('id', 'someone')}")
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in {"inlineCard", "blockCard", "embedCard"}:
        return str(attrs.get("url") or "")
    if kind == "status":
        return str(attrs.get("text") or "")
    if kind == "date":
        return str(attrs.get("timestamp") or "")
    if _children(node):
        return _block_text(node)
    return ""

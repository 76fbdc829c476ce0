"""Jira wiki markup rendered from the same ADF document the Cloud dialect sends.

Jira Data Center's REST v2 takes ``description``, ``environment``, comment bodies and textarea custom
fields as wiki-markup strings (there is no ADF on Data Center), so the Data Center dialect renders the
one internal document model (:mod:`jira_bridge.jira.adf`) here: one template, two renderings.

Written by hand because no maintained Python library renders ADF to Jira wiki markup (pandoc's Jira
writer works from pandoc's own AST, not ADF). Rules from Atlassian's "Text formatting notation help"
as summarised in ``shared/contracts/jira-datacenter/README.md`` section 4:

* paragraphs separated by a blank line, ``hardBreak`` as a newline; ``h1.``..``h6.`` headings;
  ``*`` / ``#`` list items (nested by repetition); ``{code:lang}`` and ``{quote}`` blocks; ``----``.
* marks: ``*strong*``, ``_em_``, ``-strike-``, ``+underline+``, ``{{code}}``, ``[text|url]`` links.
* mentions ``[~username]`` (Data Center names users by username, never by account id).
* escaping: ``{ } [ ] |`` always (``{`` starts a macro anywhere, ``[`` a link, ``|`` splits links and
  tables); the effect characters ``* _ - + ^ ~ ? #`` and ``!`` where they could open or close an effect
  (next to whitespace or at the edge of a text run); a line that would read as a heading, list or
  quote gets its first character escaped. Code blocks are not escaped (``{code}`` takes no markup).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jira_bridge.jira.adf import to_adf

_ALWAYS = re.compile(r"([\\{}\[\]|])")
_EFFECT = "*_-+^~?!#"
_EFFECT_AT_EDGE = re.compile(r"(?:(?<=\s)|^)([" + re.escape(_EFFECT) + r"])|([" + re.escape(_EFFECT) + r"])(?=\s|$)")
_LINE_START = re.compile(r"^(\s*)(h[1-6]\.|bq\.|[*#-]+\s|----)", re.MULTILINE)
_MARKS: dict[str, tuple[str, str]] = {
    "strong": ("*", "*"),
    "em": ("_", "_"),
    "strike": ("-", "-"),
    "underline": ("+", "+"),
    "code": ("{{", "}}"),
}


def escape(value: str) -> str:
    """``value`` as literal text: no macro, link, table cell or effect can start inside it."""
    escaped = _ALWAYS.sub(r"\\\1", value)
    return _EFFECT_AT_EDGE.sub(lambda m: "\\" + (m.group(1) or m.group(2)), escaped)


def to_wiki(value: str | Mapping[str, Any]) -> str:
    """Wiki markup for a description/comment/textarea value (text or an ADF document/block)."""
    return _blocks(_children(to_adf(value)), "\n\n").strip("\n")


def _children(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = node.get("content")
    return [c for c in content if isinstance(c, Mapping)] if isinstance(content, list) else []


def _attrs(node: Mapping[str, Any]) -> Mapping[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, Mapping) else {}


def _blocks(nodes: list[Mapping[str, Any]], separator: str) -> str:
    return separator.join(part for part in (_block(n) for n in nodes) if part != "")


def _block(node: Mapping[str, Any], list_prefix: str = "") -> str:
    kind = node.get("type")
    if kind == "paragraph":
        return _guard_line_starts(_inline(node))
    if kind == "heading":
        level = int(_attrs(node).get("level", 1))
        return f"h{min(max(level, 1), 6)}. {_inline(node)}"
    if kind in {"bulletList", "orderedList"}:
        return _list(node, list_prefix + ("*" if kind == "bulletList" else "#"))
    if kind == "codeBlock":
        language = _attrs(node).get("language")
        body = "".join(str(c.get("text", "")) for c in _children(node))
        opener = f"{{code:{language}}}" if language else "{code}"
        return f"{opener}\n{body}\n{{code}}"
    if kind == "blockquote":
        return "{quote}\n" + _blocks(_children(node), "\n\n") + "\n{quote}"
    if kind == "rule":
        return "----"
    if kind == "panel":
        return "{panel}\n" + _blocks(_children(node), "\n\n") + "\n{panel}"
    if kind == "table":
        return _table(node)
    if kind in {"mediaSingle", "mediaGroup"}:
        return ""
    if _children(node) and all(c.get("type") in _INLINE for c in _children(node)):
        return _guard_line_starts(_inline(node))
    return _blocks(_children(node), "\n\n")


def _list(node: Mapping[str, Any], prefix: str) -> str:
    """List items one per line; an item's own line breaks and paragraphs become ``\\\\`` (a forced
    break), since a newline would end the item. Nested lists follow on their own lines."""
    lines: list[str] = []
    for item in _children(node):
        own: list[str] = []
        nested: list[str] = []
        for child in _children(item):
            if child.get("type") in {"bulletList", "orderedList"}:
                nested.append(_block(child, prefix))
            else:
                own.append(_block(child).replace("\n", " \\\\ "))
        lines.append(f"{prefix} " + " \\\\ ".join(part for part in own if part))
        lines.extend(nested)
    return "\n".join(lines)


def _table(node: Mapping[str, Any]) -> str:
    rows: list[str] = []
    for row in _children(node):
        cells = _children(row)
        if cells and all(c.get("type") == "tableHeader" for c in cells):
            rows.append("||" + "||".join(_cell(c) for c in cells) + "||")
        else:
            rows.append("|" + "|".join(_cell(c) for c in cells) + "|")
    return "\n".join(rows)


def _cell(cell: Mapping[str, Any]) -> str:
    return _blocks(_children(cell), " ").replace("\n", " ") or " "


_INLINE = frozenset({"text", "hardBreak", "mention", "emoji", "inlineCard", "status", "date"})


def _inline(node: Mapping[str, Any]) -> str:
    return "".join(_inline_node(c) for c in _children(node))


def _inline_node(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "text":
        return _marked(str(node.get("text", "")), node.get("marks"))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        user = str(attrs.get("id") or "")
        return f"[~{user}]" if user else escape(str(attrs.get("text") or ""))
    if kind == "emoji":
        return escape(str(attrs.get("text") or attrs.get("shortName") or ""))
    if kind == "inlineCard":
        url = str(attrs.get("url") or "")
        return f"[{url}]" if url else ""
    if kind in {"status", "date"}:
        return escape(str(attrs.get("text") or attrs.get("timestamp") or ""))
    return _inline(node)


def _marked(value: str, marks: Any) -> str:
    mark_list = [m for m in marks if isinstance(m, Mapping)] if isinstance(marks, list) else []
    kinds = {str(m.get("type")) for m in mark_list}
    if "code" in kinds:
        # {{monospace}} still renders effects inside, so the text is escaped there too.
        rendered = "{{" + escape(value) + "}}"
    else:
        rendered = escape(value)
        for kind in ("strong", "em", "strike", "underline"):
            if kind in kinds and rendered.strip():
                opener, closer = _MARKS[kind]
                rendered = f"{opener}{rendered}{closer}"
    link = next((m for m in mark_list if m.get("type") == "link"), None)
    if link is not None:
        href = str(_attrs(link).get("href") or "")
        if href:
            target = href.replace("|", "%7C").replace("]", "%5D")
            return f"[{target}]" if value == href and not kinds - {"link"} else f"[{rendered}|{target}]"
    return rendered


def _guard_line_starts(text: str) -> str:
    """A paragraph line that would read as a heading, list item, quote or rule is escaped."""
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)

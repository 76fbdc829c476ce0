"""Text that has to fit Jira's limits: truncation by characters and ids that stay stable when long.

Jira's builds/deployments schema limits strings by ``maxLength``, which counts characters (code
points), not bytes: "Überprüfung" is 11 characters however it is encoded. Truncated text ends with
an ellipsis so a reader can tell it was cut. Identifiers are never cut blindly: two long pipeline
names sharing their first 255 characters would become one pipeline, so a long id keeps a prefix and
gains a hash of the whole.
"""

from __future__ import annotations

import hashlib
import unicodedata

ELLIPSIS = "\u2026"
MAX_ID = 255


def truncate(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its first ``limit - 1`` and an ellipsis."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def stable_id(value: str, limit: int = MAX_ID) -> str:
    """``value`` itself when it fits, else a prefix plus a hash of the whole (same input, same id)."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
    return f"{value[: limit - len(digest) - 1]}#{digest}"


def first_line(text: str | None) -> str | None:
    """The subject line of a commit message (``None`` for empty text)."""
    if not text:
        return None
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


def fold(word: str) -> str:
    """``word`` case-folded without accents, for matching words people type: "Stàging" -> "staging".

    (Decompose, drop the combining marks, as lodash's ``deburr`` does in Atlassian's GitHub app.)
    """
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))

"""Find Jira issue keys in PR titles, commit messages and branch names.

A key is a whole word: a project part that starts with a letter (letters, digits, `_`), a dash, and
a number without a leading zero. Matching ignores case and reports upper case, in first-seen order,
without duplicates. `feature/ops-12-login` names OPS-12; `ABC-OPS-12`, `OPS-012` and `OPS-12a` name
nothing (the same rules Jira's development panel applies).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Jira accepts at most this many issue keys per build or deployment.
MAX_KEYS_PER_ENTITY = 100

_KEY = re.compile(r"(?<![A-Za-z0-9-])([A-Za-z][A-Za-z0-9_]{0,254})-([1-9][0-9]{0,17})(?![A-Za-z0-9])")


def find_issue_keys(
    texts: Iterable[str | None], project: str | None = None, limit: int = MAX_KEYS_PER_ENTITY
) -> list[str]:
    wanted_project = project.strip().upper() if project else None
    seen: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for match in _KEY.finditer(text):
            key_project = match.group(1).upper()
            if wanted_project and key_project != wanted_project:
                continue
            seen.setdefault(f"{key_project}-{match.group(2)}", None)
            if len(seen) >= limit:
                return list(seen)
    return list(seen)

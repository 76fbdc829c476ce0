"""Find Jira issue keys in PR titles, commit messages and branch names.

The rules are those of Atlassian's own parser, the one behind Jira's GitHub integration
(``atlassian/github-for-jira`` ``src/util/jira-utils.ts``, ``jiraIssueKeyParser``), so a branch
links the same issues whether GitHub's app or the bridge reports it:

* **Case-insensitive, reported upper case**: ``jra-123``, ``jRa-123`` and ``JRA-123`` are all JRA-123.
* **Project part**: a letter, then at least one more letter or digit (2 to 256 characters):
  ``J42-123`` is a key, ``F-67`` (one character) and ``2PAC-123`` (starts with a digit) are not.
* **Number**: no leading zero (``OPS-012`` names nothing), up to 256 digits.
* **Whole words**: the key is not glued to a letter or digit on either side (``JIRA-123abcd`` and
  ``xJIRA-1`` name nothing). Everything else separates, including ``_`` (``feature_OPS-1`` names
  OPS-1, ``MY_APP-7`` names APP-7) and ``-`` (``abcd-JIRA-123`` names JIRA-123).
* **Every key of a chain**: ``OPS-3-WEB-9`` names OPS-3 and WEB-9.
* First-seen order, no duplicates, at most ``limit`` keys.

Two things go beyond Atlassian's parser. With ``project`` set (``PROJECT``), only that project's
keys count, and the project is matched literally: a Data Center project key may contain ``_``
(``MY_APP``), which the general rule reads as a separator, so ``PROJECT=MY_APP`` finds MY_APP-7 in
``feature/my_app-7-login`` (still whole words). And "letter or digit" means ASCII: Jira project keys
are ASCII, and JavaScript's case-insensitive ``[A-Z]`` also matches the long s (U+017F) and the
Kelvin sign (U+212A), which upper-case into a key the text never contained.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Jira accepts at most this many issue keys per build or deployment.
MAX_KEYS_PER_ENTITY = 100

# github-for-jira: /(^|[^A-Z\d])([A-Z][A-Z\d]{1,255}-[1-9]\d{0,255})(?=$|[^A-Z\d])/giu. Its leading
# group consumes the separator; a look-behind finds the same keys (the character after a key is a
# separator, so it can never begin the next key).
_EDGE_BEFORE = r"(?<![A-Za-z0-9])"
_NUMBER = r"-([1-9][0-9]{0,255})(?![A-Za-z0-9])"
_KEY = re.compile(_EDGE_BEFORE + r"([A-Za-z][A-Za-z0-9]{1,255})" + _NUMBER)
# A key the caller names explicitly (ISSUE_KEYS) may carry a Data Center project with "_".
_WHOLE_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]{1,255})-([1-9][0-9]{0,255})", re.ASCII)


@lru_cache(maxsize=64)
def _project_key(project: str) -> re.Pattern[str]:
    return re.compile(_EDGE_BEFORE + "(" + re.escape(project) + ")" + _NUMBER, re.IGNORECASE | re.ASCII)


def find_issue_keys(
    texts: Iterable[str | None],
    project: str | None = None,
    limit: int = MAX_KEYS_PER_ENTITY,
    explicit: Iterable[str] = (),
) -> list[str]:
    """Keys in ``texts`` (see the module docstring); ``explicit`` keys come first.

    An ``explicit`` entry that is a whole key is taken as is (upper-cased); any other entry is
    searched like the texts.
    """
    wanted = project.strip().upper() if project else None
    pattern = _project_key(wanted) if wanted else _KEY
    seen: dict[str, None] = {}
    searched: list[str | None] = []
    for entry in explicit:
        whole = _WHOLE_KEY.fullmatch(entry.strip())
        if whole is None:
            searched.append(entry)
        elif wanted is None or whole.group(1).upper() == wanted:
            seen.setdefault(f"{whole.group(1).upper()}-{whole.group(2)}", None)
    for text in [*searched, *texts]:
        if not text:
            continue
        for match in pattern.finditer(text):
            if len(seen) >= limit:
                break
            seen.setdefault(f"{match.group(1).upper()}-{match.group(2)}", None)
    return list(seen)[:limit]

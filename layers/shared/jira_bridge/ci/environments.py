"""Deployment environments: the user's name kept intact, a stable id, and Jira's environment type.

* The id is derived from the name alone, so every run (and every pipeline) deploying to
  "Production EU" lands on the same Jira environment: a readable slug plus a short hash of the
  case-folded name (``production-eu-1f3a9c2b``). An explicit ``ENVIRONMENT_ID`` wins.
* The type comes from ``ENVIRONMENT_TYPE`` when it names one of Jira's types (or a common alias such
  as ``prod``); otherwise it is guessed from the words of the name, like Atlassian's GitHub app does
  (github-for-jira ``transform-deployment.ts`` ``mapEnvironment``: its words, accents ignored, types
  tried in the order development, testing, staging, production), else ``unmapped``. The table is in
  README.md ("CI states and environment words"; a test keeps the two equal).
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from jira_bridge.ci.text import fold, stable_id

type EnvironmentType = Literal["unmapped", "development", "testing", "staging", "production"]

ENVIRONMENT_TYPES: tuple[EnvironmentType, ...] = ("unmapped", "development", "testing", "staging", "production")

# Checked in this order: a name that says both "prod" and "test" ("prod-test") is a test environment.
TYPE_WORDS: tuple[tuple[EnvironmentType, frozenset[str]], ...] = (
    ("development", frozenset({
        "development", "dev", "develop", "devel", "trunk", "local", "sandbox", "dev1", "dev2",
    })),
    ("testing", frozenset({
        "testing", "test", "tests", "tst", "qa", "qc", "integration", "integ", "intg", "int", "sit", "acceptance",
        "accept", "acpt", "control", "uat", "quality", "e2e", "review", "preview", "perf", "performance", "load",
        "stress",
    })),
    ("staging", frozenset({
        "staging", "stage", "stg", "sta", "preprod", "pre_prod", "preproduction", "pre", "model", "internal",
    })),
    ("production", frozenset({"production", "prod", "prd", "live", "prod1", "prod2"})),
)
_ALIASES: dict[str, EnvironmentType] = {
    word: env_type for env_type, words in TYPE_WORDS for word in words
} | {env_type: env_type for env_type in ENVIRONMENT_TYPES}
_WORD = re.compile(r"[a-z0-9]+")
_SLUG = re.compile(r"[^a-z0-9]+")


def environment_type(name: str, explicit: str | None = None) -> EnvironmentType:
    """``explicit`` when it is (an alias of) a Jira type, else guessed from ``name``."""
    if explicit:
        chosen = _ALIASES.get(fold(explicit.strip()).replace("-", "_"))
        if chosen is not None:
            return chosen
    words = _words(name)
    for env_type, vocabulary in TYPE_WORDS:
        if words & vocabulary:
            return env_type
    return "unmapped"


def environment_id(name: str, explicit: str | None = None) -> str:
    """A stable Jira environment id for ``name`` (``explicit`` wins, made to fit 255 characters)."""
    if explicit and explicit.strip():
        return stable_id(explicit.strip())
    folded = " ".join(name.split()).casefold()
    digest = hashlib.sha256(folded.encode("utf-8")).hexdigest()[:8]
    slug = _SLUG.sub("-", folded).strip("-")[:64].strip("-") or "environment"
    return f"{slug}-{digest}"


def is_environment_type(explicit: str) -> bool:
    """Whether ``ENVIRONMENT_TYPE`` names one of Jira's types (or an alias of one)."""
    return fold(explicit.strip()).replace("-", "_") in _ALIASES


def _words(name: str) -> set[str]:
    lowered = fold(name)
    words = set(_WORD.findall(lowered))
    # "pre-prod" / "pre_prod" / "preprod" all mean staging
    words |= {w.replace("-", "_") for w in re.findall(r"[a-z0-9]+(?:[-_][a-z0-9]+)+", lowered)}
    words |= {w.replace("_", "") for w in list(words) if "_" in w}
    return words

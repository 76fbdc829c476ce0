"""Runbook templates: both spellings users already write, rendered by Jinja's sandbox.

`[incident.severity]` (the runbook-tool spelling) is rewritten to `{{ incident.severity }}` before
rendering; anything else in square brackets is left alone. Undefined names fail loudly
(StrictUndefined), so `jira-bridge lint` can render every template against a sample context and
report an unknown variable before 3 a.m. does.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ROOTS = ("incident", "change", "actor", "event", "jira")
_BRACKETED = re.compile(r"\[((?:" + "|".join(_ROOTS) + r")(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\]")


class TemplateProblem(ValueError):
    """A template that cannot render: unknown variable, bad syntax, forbidden access."""


def to_jinja(source: str) -> str:
    return _BRACKETED.sub(lambda match: "{{ " + match.group(1) + " }}", source)


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.filters["upper"] = lambda value: str(value).upper()
    return env


@cache
def _compiled(source: str) -> Any:
    try:
        return _environment().from_string(to_jinja(source))
    except TemplateError as error:
        raise TemplateProblem(f"template {source!r} does not parse: {error}") from None


def is_template(source: str) -> bool:
    return "{{" in source or "{%" in source or bool(_BRACKETED.search(source))


def render(source: str, context: dict[str, Any]) -> str:
    """Render one template string; plain strings come back unchanged without touching Jinja."""
    if not is_template(source):
        return source
    try:
        return str(_compiled(source).render(**context))
    except UndefinedError as error:
        raise TemplateProblem(f"template {source!r}: {error.message}") from None
    except TemplateError as error:
        raise TemplateProblem(f"template {source!r}: {error}") from None


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Render every string inside a value (lists and mappings included)."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    return value

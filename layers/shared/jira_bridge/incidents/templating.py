"""Runbook templates: both spellings users already write, rendered by Jinja's sandbox.

`[incident.severity]` (the runbook-tool spelling) is rewritten to `{{ incident.severity }}` before
rendering; anything else in square brackets is left alone.

At run time an unknown name renders empty (`ChainableUndefined`: `incident.custom_fields.x.y` too):
one field an incident does not have must not refuse a whole create. `jira-bridge lint` renders with
`strict=True` (StrictUndefined) against a sample incident and reports each unknown name as a warning
with file:line. Rendering is one pass: values from the incident are data, never evaluated again as
a template (a title containing `{{ 7*7 }}` is written as typed).
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

# Jinja loads with the first string that is a template (~16 ms of a cold start, measured in fresh
# interpreters): a function whose first events render nothing (a webhook echo) never pays for it.
if TYPE_CHECKING:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

_ROOTS = ("incident", "change", "actor", "event", "jira")
_BRACKETED = re.compile(r"\[((?:" + "|".join(_ROOTS) + r")(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\]")


class TemplateProblem(ValueError):
    """A template that cannot render: unknown variable, bad syntax, forbidden access."""


class UnknownName(TemplateProblem):
    """A name the context does not have (only raised when rendering strictly: lint)."""


def to_jinja(source: str) -> str:
    return _BRACKETED.sub(lambda match: "{{ " + match.group(1) + " }}", source)


@cache
def _environment(strict: bool) -> ImmutableSandboxedEnvironment:
    from jinja2 import ChainableUndefined, StrictUndefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class _Empty(ChainableUndefined):
        """A missing name renders empty; a sandbox refusal (unsafe attribute) still fails loudly."""

        __slots__ = ()

        def __str__(self) -> str:
            if self._undefined_exception is SecurityError:
                self._fail_with_undefined_error()
            return ""

    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined if strict else _Empty,
                                        autoescape=False)
    env.filters["upper"] = lambda value: str(value).upper()
    return env


@cache
def _compiled(source: str, strict: bool = False) -> Any:
    environment = _environment(strict)
    from jinja2 import TemplateError

    try:
        return environment.from_string(to_jinja(source))
    except TemplateError as error:
        raise TemplateProblem(f"template {source!r} does not parse: {error}") from None


def is_template(source: str) -> bool:
    return "{{" in source or "{%" in source or bool(_BRACKETED.search(source))


def render(source: str, context: dict[str, Any], *, strict: bool = False) -> str:
    """Render one template string; plain strings come back unchanged without touching Jinja.

    `strict`: an unknown name raises (lint); otherwise it renders empty (run time)."""
    if not is_template(source):
        return source
    template = _compiled(source, strict)
    from jinja2 import TemplateError, UndefinedError
    from jinja2.exceptions import SecurityError

    try:
        return str(template.render(**context))
    except SecurityError as error:
        raise TemplateProblem(f"template {source!r}: {error}") from None
    except UndefinedError as error:
        raise UnknownName(f"template {source!r}: {error.message}") from None
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


SUMMARY_LIMIT = 255  # Jira refuses a longer summary


def one_line(value: str, limit: int = SUMMARY_LIMIT) -> str:
    """A summary: whitespace runs (newlines included) become one space, cut to `limit` with an ellipsis."""
    flat = " ".join(value.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "\u2026"

"""YAML configuration read with line numbers, so every complaint names the file and the line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from jira_bridge.errors import ConfigurationError

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: Any
    lines: dict[Location, int]

    def line_of(self, location: Sequence[str | int]) -> int | None:
        """The line of the deepest known node on this path (1-based)."""
        loc = tuple(location)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def where(self, location: Sequence[str | int]) -> str:
        line = self.line_of(location)
        return f"{self.path.name}:{line}" if line else self.path.name


def _collect_lines(node: yaml.Node, loc: Location, lines: dict[Location, int], duplicates: list[str]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:  # YAML would silently keep only the last one
                duplicates.append(f"{line}: key {key!r} appears twice in this mapping (first on line {seen[key]}); "
                                  "YAML keeps only the last, so the first is silently ignored: remove one")
            seen.setdefault(key, line)
            lines[(*loc, key)] = line
            _collect_lines(value_node, (*loc, key), lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*loc, index), lines, duplicates)


def read_yaml(path: Path) -> YamlDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"{path}: cannot read ({error.strerror})") from None
    # One parse: the composed node tree gives the line numbers, and the same tree is constructed into
    # Python data (what yaml.safe_load does after composing). Parsing twice cost ~7 ms per cold start.
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark else path.name
        raise ConfigurationError(f"{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    finally:
        loader.dispose()
    lines: dict[Location, int] = {}
    duplicates: list[str] = []
    if node is not None:
        _collect_lines(node, (), lines, duplicates)
    if duplicates:
        raise ConfigurationError("\n".join(f"{path.name}:{problem}" for problem in duplicates))
    return YamlDocument(path=path, data=data if data is not None else {}, lines=lines)


def explain(document: YamlDocument, error: ValidationError) -> list[str]:
    """One `file:line: path: problem` per pydantic error."""
    messages = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        path = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc).replace(".[", "[")
        problem = "is required" if item["type"] == "missing" else item["msg"]
        if item["type"] == "extra_forbidden":
            problem = "is not a known setting (check the spelling)"
        messages.append(f"{document.where(loc)}: {path or '(top level)'}: {problem}")
    return messages


def parse_document[M: BaseModel](document: YamlDocument, model: type[M]) -> M:
    try:
        return model.model_validate(document.data)
    except ValidationError as error:
        raise ConfigurationError("\n".join(explain(document, error))) from None

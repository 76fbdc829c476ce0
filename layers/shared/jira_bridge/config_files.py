"""YAML configuration read with line numbers, so every complaint names the file and the line.

The layer build (layers/shared/Makefile) also ships each config file of the repository compiled to JSON
(:func:`compile_yaml`: the data and the line numbers of a file that parses cleanly) in ``compiled_config/``
next to this module. :func:`read_yaml` answers from the compiled copy when it was made from exactly the
text it reads (same SHA-256), so a cold start neither imports PyYAML nor parses (~12 ms of CPU per
function, more under load); any other text (a config edited after the build, an error to report with its
line) is parsed as YAML, with the same result and the same errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from jira_bridge.errors import ConfigurationError

if TYPE_CHECKING:
    import yaml

Location = tuple[str | int, ...]

COMPILED_DIR = Path(__file__).resolve().parent / "compiled_config"
COMPILED_FORMAT = 1


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
    import yaml

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
    return compiled_document(path, text) or parse_yaml(path, text)


def parse_yaml(path: Path, text: str) -> YamlDocument:
    """`text` (the content of `path`) parsed as YAML, with the line of every node."""
    import yaml

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


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compile_yaml(path: Path) -> str | None:
    """What the layer build ships for `path`: its :func:`parse_yaml` document as JSON, or None when it has
    none to ship (it does not parse, or JSON cannot carry its data exactly: dates, non-string keys, NaN);
    :func:`read_yaml` then parses the YAML at run time, as it always did."""
    text = path.read_text(encoding="utf-8")
    try:
        document = parse_yaml(path, text)
        data = json.dumps(document.data, allow_nan=False)
    except (ConfigurationError, TypeError, ValueError):
        return None
    if json.loads(data) != document.data:  # e.g. {1: x} would come back as {"1": x}
        return None
    lines = [[list(loc), line] for loc, line in document.lines.items()]
    return json.dumps({"format": COMPILED_FORMAT, "source": path.name, "sha256": _digest(text),
                       "data": json.loads(data), "lines": lines}, separators=(",", ":"))


def compiled_document(path: Path, text: str, compiled_dir: Path | None = None) -> YamlDocument | None:
    """The compiled copy of `path` (in `compiled_dir`, default :data:`COMPILED_DIR`) if one was made from
    exactly `text`; None otherwise (parse the YAML)."""
    candidate = (compiled_dir or COMPILED_DIR) / f"{path.name}.json"
    try:
        compiled = json.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(compiled, dict) or compiled.get("format") != COMPILED_FORMAT or \
            compiled.get("sha256") != _digest(text):
        return None
    lines: dict[Location, int] = {tuple(loc): line for loc, line in compiled["lines"]}
    return YamlDocument(path=path, data=compiled["data"], lines=lines)


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

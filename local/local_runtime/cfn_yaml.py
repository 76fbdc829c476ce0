"""A CloudFormation-aware YAML loader: short-form intrinsics become their long-form JSON dicts.

    !Ref X                 -> {"Ref": "X"}
    !GetAtt A.B            -> {"Fn::GetAtt": ["A", "B"]}     (the list form is kept as is)
    !Sub "x-${A}"          -> {"Fn::Sub": "x-${A}"}
    !If [C, a, b]          -> {"Fn::If": ["C", a, b]}
    !Condition C           -> {"Condition": "C"}
    !<Name> v              -> {"Fn::<Name>": v}             (Join, Select, Split, Equals, Not, ...)

Like CloudFormation, it rejects duplicate mapping keys (plain PyYAML silently keeps the last one).
Timestamps stay strings (CloudFormation does not convert them; `AWSTemplateFormatVersion` would
otherwise become a date). Used by the local runtime and the template tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["CfnYamlLoader", "load_template", "loads"]

# Tags whose long form is not "Fn::<Tag>".
_SPECIAL = {"Ref": "Ref", "Condition": "Condition"}


class CfnYamlLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation short-form intrinsic functions."""


def _long_name(tag_suffix: str) -> str:
    return _SPECIAL.get(tag_suffix, f"Fn::{tag_suffix}")


def _construct_intrinsic(loader: CfnYamlLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _long_name(tag_suffix)
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            resource, _, attribute = str(value).partition(".")
            if not attribute:
                raise yaml.constructor.ConstructorError(
                    None, None, f"!GetAtt needs Resource.Attribute, got {value!r}", node.start_mark
                )
            value = [resource, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - PyYAML has no other node kinds
        raise yaml.constructor.ConstructorError(
            None, None, f"unexpected node for !{tag_suffix}", node.start_mark
        )
    return {name: value}


def _construct_mapping_no_duplicates(
    loader: CfnYamlLoader, node: yaml.MappingNode, deep: bool = False
) -> Any:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"duplicate key {key!r} (first at line {seen[key].start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


CfnYamlLoader.add_multi_constructor("!", _construct_intrinsic)
CfnYamlLoader.construct_mapping = _construct_mapping_no_duplicates  # type: ignore[method-assign,assignment]
CfnYamlLoader.add_constructor(
    "tag:yaml.org,2002:map",
    lambda loader, node: loader.construct_mapping(node, deep=True),  # type: ignore[arg-type]
)
# Keep timestamps as plain strings.
CfnYamlLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)


def loads(text: str) -> Any:
    """Parse CloudFormation YAML text."""
    return yaml.load(text, Loader=CfnYamlLoader)  # noqa: S506 - a SafeLoader subclass


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template file into plain dicts and lists."""
    document = loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a template must be a mapping, got {type(document).__name__}")
    return document

#!/usr/bin/env python3.13
"""Compile the repository's config/*.yaml to JSON for the shared layer (layers/shared/Makefile runs it).

    python3.13 scripts/compile_config.py config/ .aws-sam/build/JiraBridgeLayer/python/jira_bridge/compiled_config

Each file that parses cleanly is written as ``<name>.yaml.json``: its data, the line of every node and the
SHA-256 of the text it was made from (``jira_bridge.config_files.compile_yaml``). At run time
``read_yaml`` uses it only for exactly that text (ConfigLayer ships the YAML itself, as is); any other
text is parsed as YAML. A file that does not parse, or whose data JSON cannot carry exactly, is skipped
(and named here): the function parses it and reports its problem with the line, as without this step.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "shared"))

from jira_bridge.config_files import compile_yaml  # noqa: E402


def main(source: Path, target: Path) -> int:
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.json"):
        stale.unlink()
    for path in sorted(source.glob("*.yaml")):
        compiled = compile_yaml(path)
        if compiled is None:
            print(f"compile_config: {path.name} not compiled (parsed as YAML at run time)", file=sys.stderr)
            continue
        (target / f"{path.name}.json").write_text(compiled, encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: compile_config.py CONFIG_DIR TARGET_DIR")
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))

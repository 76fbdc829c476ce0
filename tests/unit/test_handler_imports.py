"""A handler's import loads what its cold start needs, not Powertools' parser models.

Powertools' batch utility imports all of its parser models (dozens of pydantic classes: ~113 M instructions,
~20 ms of a cold start) when pydantic is already loaded as the batch utility loads. The bridge loads pydantic,
so a handler that processes SQS batches imports Powertools' batch utility before the bridge.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted((ROOT / "functions").glob("*/*_handler.py"))
PARSER = "aws_lambda_powertools.utilities.parser"


def _loaded_parser_modules(handler: Path, before: str = "") -> list[str]:
    # What the first event imports later (the batch utility, lazily, for the SQS handlers) is imported too.
    uses_batch = "utilities.batch" in handler.read_text()
    probe = "\n".join([
        "import json, sys",
        before,
        f"import {handler.stem}",
        "import aws_lambda_powertools.utilities.batch" if uses_batch else "",
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({PARSER!r}))))",
    ])
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_REGION": "us-east-1",
                   "PYTHONPATH": os.pathsep.join([str(handler.parent), str(ROOT / "layers" / "shared")])}
    done = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda path: path.stem)
def test_a_handler_never_loads_powertools_parser_models(handler: Path) -> None:
    assert _loaded_parser_modules(handler) == []


def test_the_check_sees_the_parser_models_when_pydantic_comes_first() -> None:
    handler = ROOT / "functions" / "incident_events" / "incident_events_handler.py"
    assert f"{PARSER}.models" in _loaded_parser_modules(handler, before="import pydantic")

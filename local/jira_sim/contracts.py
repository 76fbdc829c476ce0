"""Lazy access to Atlassian's published contracts (``shared/contracts``), when the simulator has them.

The simulator never ships copies of these files. Given a contracts directory it validates ADF bodies
against the ADF JSON Schema and builds/deployments submissions against the software OpenAPI spec;
without one it falls back to the structural checks in `adf.py` and `software.py`.

Loaded schemas are cached per process (keyed by path): the software spec is 1.4 MB and every test
starts a fresh simulator.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

ADF_SCHEMA = "adf/adf-schema-v1-full.json"
SOFTWARE_SPEC = "jira-software-builds-deployments.openapi.json"
PLATFORM_SPEC = "jira-platform-v3.openapi.json"


class Contracts:
    """Validators built from one contracts directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()

    def adf_validator(self) -> Draft4Validator:
        return _adf_validator(self.directory / ADF_SCHEMA)

    def software_envelope_validator(self, kind: str) -> Draft4Validator:
        """The bulk request of ``kind`` ("builds" or "deployments"), each entity only an object.

        Jira answers 400 only when the request as a whole is malformed; an invalid single entity is
        reported under ``rejected*``, so entities are validated one by one with `software_entity_validator`.
        """
        return _software_validators(self.directory / SOFTWARE_SPEC, kind)[0]

    def software_entity_validator(self, kind: str) -> Draft4Validator:
        return _software_validators(self.directory / SOFTWARE_SPEC, kind)[1]


@cache
def _adf_validator(path: Path) -> Draft4Validator:
    schema = json.loads(path.read_text(encoding="utf-8"))
    return Draft4Validator(schema)


@cache
def _software_validators(path: Path, kind: str) -> tuple[Draft4Validator, Draft4Validator]:
    spec = json.loads(path.read_text(encoding="utf-8"))
    request = spec["paths"][f"/rest/{kind}/0.1/bulk"]["post"]["requestBody"]["content"]["application/json"]
    schema: dict[str, Any] = request["schema"]
    envelope = copy.deepcopy(schema)
    envelope["properties"][kind]["items"] = {"type": "object"}
    # OpenAPI 3.0 schemas are draft-04 plus a few annotations (example, deprecated) that
    # Draft4Validator ignores. date-time is checked; the spec's other formats are not asserted.
    checker = Draft4Validator.FORMAT_CHECKER
    return (
        Draft4Validator(envelope, format_checker=checker),
        Draft4Validator(schema["properties"][kind]["items"], format_checker=checker),
    )

"""The JSON Schemas published in schemas/ are exactly what the models produce, and the samples fit."""

import json
from pathlib import Path

import jsonschema
import pytest

from jira_bridge_cli.main import SCHEMAS, event_schema

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_published_schema_matches_the_model(name: str) -> None:
    published = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
    assert published == event_schema(name), f"regenerate with: jira-bridge schema {name} > schemas/{name}.schema.json"


@pytest.mark.parametrize("sample", ["incident-created.eventbridge.json", "incident-state-changed.eventbridge.json"])
def test_sample_incident_events_validate(sample: str) -> None:
    schema = json.loads((ROOT / "schemas" / "incident-changed.schema.json").read_text())
    detail = json.loads((ROOT / "events" / sample).read_text())["detail"]
    jsonschema.Draft202012Validator(schema).validate(detail)


def test_schema_rejects_an_event_without_its_incident() -> None:
    schema = json.loads((ROOT / "schemas" / "incident-changed.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError, match="incident"):
        jsonschema.Draft202012Validator(schema).validate(
            {"event_id": "e", "sequence": 1, "occurred_at": "2026-11-23T03:00:00Z", "change": {"kind": "created"}})

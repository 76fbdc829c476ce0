"""The files README "Incident sources" hands to an incident tool are right: the PutEvents entry is a
valid "Incident Changed" (schema and model), and the IAM policy grants exactly what the bus accepts."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from jira_bridge.incidents.events import IncidentChanged
from local_runtime.cfn_yaml import load_template

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "incident-source"


def test_the_put_events_entry_is_a_valid_incident_changed() -> None:
    [entry] = json.loads((EXAMPLES / "put-events.json").read_text())
    assert entry["DetailType"] == "Incident Changed"
    detail = json.loads(entry["Detail"])
    schema = json.loads((ROOT / "schemas" / "incident-changed.schema.json").read_text())
    jsonschema.validate(detail, schema)
    event = IncidentChanged.model_validate(detail)
    assert event.sequence >= 0
    assert event.event_id


def test_the_iam_policy_allows_only_incident_changed_on_the_bus() -> None:
    policy = json.loads((EXAMPLES / "iam-policy.json").read_text())
    [statement] = policy["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"].endswith(":event-bus/STACK-incidents")  # the default, stack-unique bus name
    template = load_template(ROOT / "template.yaml")
    bus_policy = template["Resources"]["IncidentBusCrossAccountPolicy"]["Properties"]["Statement"]
    assert statement["Condition"] == bus_policy["Condition"], "what the tool may send = what the bus accepts"
    rule = template["Resources"]["IncidentRouterFunction"]["Properties"]["Events"]["IncidentChanged"]
    detail_type = statement["Condition"]["StringEquals"]["events:detail-type"]
    assert rule["Properties"]["Pattern"] == {"detail-type": [detail_type]}

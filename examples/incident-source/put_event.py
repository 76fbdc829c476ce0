"""Publish one "Incident Changed" event on Jira Bridge's incident bus, as an incident tool would.

    AWS_PROFILE=incident-tool python put_event.py jira-bridge-prod-incidents event-detail.json

The detail must validate against schemas/incident-changed.schema.json. Two rules make a tool correct:
* `event_id` is unique per change (a retry of the same change reuses it: the bridge applies it once);
* `sequence` increases with every change of one incident (any integer that grows: a per-incident
  counter, or the change's time in epoch milliseconds); the bridge never applies an older change
  over a newer one of the same field, and delivers each incident's events in `sequence` order.
The caller needs only iam-policy.json (events:PutEvents on this bus, detail-type "Incident Changed").
"""

import json
import sys

import boto3


def main(bus: str, detail_file: str) -> int:
    with open(detail_file, encoding="utf-8") as handle:
        detail = json.load(handle)
    answer = boto3.client("events").put_events(Entries=[{
        "Source": "com.example.incidents",  # any source: the bridge's rule matches the detail-type
        "DetailType": "Incident Changed",
        "Detail": json.dumps(detail),
        "EventBusName": bus,  # the IncidentBusName output, or the IncidentBusArn from another account
    }])
    if answer["FailedEntryCount"]:
        print(answer["Entries"][0], file=sys.stderr)
        return 1
    print(answer["Entries"][0]["EventId"])
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

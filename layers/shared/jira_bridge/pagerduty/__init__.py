"""PagerDuty: V3 webhooks and the EventBridge integration in, REST API v2 and Events API v2 out.

* :mod:`.signature` - ``verify_pagerduty_signature``: `X-PagerDuty-Signature` over the raw body.
* :mod:`.inbound` - ``to_canonical`` (V3 body or EventBridge event -> ``IncidentChanged``) and
  ``put_events_entry`` (publish it as "Incident Changed").
* :mod:`.v3`, :mod:`.eventbridge` - the two payload formats and their mappings.
* :mod:`.rest_sink` - ``PagerDutyRestSink``: status, priority, assignee, notes.
* :mod:`.events_sink` - ``PagerDutyEventsSink``: triggers with a dedup key.
* :mod:`.credentials` - the `jira-bridge/<stack>/pagerduty` secret.
* :mod:`.transport`, :mod:`.errors` - HTTP through the shared retry loop; typed errors.

Importing this package does no I/O, and imports a submodule only when one of its names is first
used: the inbound path never loads ``requests``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jira_bridge.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from jira_bridge.pagerduty.credentials import (
        PagerDutySecret,
        load_pagerduty_secret,
        pagerduty_secret_name,
        parse_pagerduty_secret,
    )
    from jira_bridge.pagerduty.errors import (
        PagerDutyError,
        PagerDutyLookupFailed,
        PagerDutyPayloadInvalid,
        PagerDutyRateLimited,
        PagerDutyRefused,
        PagerDutyUnavailable,
    )
    from jira_bridge.pagerduty.events_sink import PagerDutyEventsSink
    from jira_bridge.pagerduty.inbound import put_events_entry, to_canonical
    from jira_bridge.pagerduty.rest_sink import PagerDutyRestSink, UpdateOutcome
    from jira_bridge.pagerduty.signature import SignatureInvalid, verify_pagerduty_signature

_WHERE: dict[str, str] = {
    "PagerDutyError": "jira_bridge.pagerduty.errors",
    "PagerDutyEventsSink": "jira_bridge.pagerduty.events_sink",
    "PagerDutyLookupFailed": "jira_bridge.pagerduty.errors",
    "PagerDutyPayloadInvalid": "jira_bridge.pagerduty.errors",
    "PagerDutyRateLimited": "jira_bridge.pagerduty.errors",
    "PagerDutyRefused": "jira_bridge.pagerduty.errors",
    "PagerDutyRestSink": "jira_bridge.pagerduty.rest_sink",
    "PagerDutySecret": "jira_bridge.pagerduty.credentials",
    "PagerDutyUnavailable": "jira_bridge.pagerduty.errors",
    "SignatureInvalid": "jira_bridge.pagerduty.signature",
    "UpdateOutcome": "jira_bridge.pagerduty.rest_sink",
    "load_pagerduty_secret": "jira_bridge.pagerduty.credentials",
    "pagerduty_secret_name": "jira_bridge.pagerduty.credentials",
    "parse_pagerduty_secret": "jira_bridge.pagerduty.credentials",
    "put_events_entry": "jira_bridge.pagerduty.inbound",
    "to_canonical": "jira_bridge.pagerduty.inbound",
    "verify_pagerduty_signature": "jira_bridge.pagerduty.signature",
}


__getattr__ = lazy_exports(__name__, _WHERE)


__all__ = [
    "PagerDutyError",
    "PagerDutyEventsSink",
    "PagerDutyLookupFailed",
    "PagerDutyPayloadInvalid",
    "PagerDutyRateLimited",
    "PagerDutyRefused",
    "PagerDutyRestSink",
    "PagerDutySecret",
    "PagerDutyUnavailable",
    "SignatureInvalid",
    "UpdateOutcome",
    "load_pagerduty_secret",
    "pagerduty_secret_name",
    "parse_pagerduty_secret",
    "put_events_entry",
    "to_canonical",
    "verify_pagerduty_signature",
]

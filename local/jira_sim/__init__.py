"""jira_sim: a Jira Cloud simulator on loopback, for tests and the local demo (never shipped).

Start one::

    from jira_sim import JiraSimulator
    with JiraSimulator(contracts_dir=Path("../shared/contracts")) as sim:
        requests.get(sim.base_url + "/rest/api/3/myself", auth=sim.credentials("jira-bridge@example.com"))

The default site (`seed.default_site`):

* Users (Basic auth ``email:token``): ``jira-bridge@example.com`` / ``jira-bridge-api-token`` (the
  integration account), ``alice@example.com`` / ``alice-api-token`` (a human, Europe/Berlin),
  ``bob@example.com`` / ``bob-api-token`` (email hidden: absent from responses, not searchable),
  ``carol@example.com`` / ``carol-api-token`` (no TRANSITION_ISSUES / RESOLVE / CLOSE).
* Projects ``OPS`` (id 10000, "OPS Incident Workflow") and ``PAY`` (id 10001, "Simplified Workflow"),
  issue types Task (10002) and Incident (10004), priorities Highest..Lowest (ids 1-5, Medium default),
  resolutions Done (10000), Won't Do (10001), Duplicate (10002), Cannot Reproduce (10003).
* Statuses To Do (10000, new), In Progress (3), In Review (10001), Done (10002, done), Won't Do (10003, done).
* OPS workflow: 11 Start Progress (To Do->In Progress), 21 Request Review (In Progress->In Review),
  31 Done (In Review->Done; screen with ``resolution``, required), 41 Stop Progress (In Progress->To Do),
  51 Back to In Progress (In Review->In Progress), 61 Reopen (Done->To Do), 91 Won't Do (global, from
  every status; resolution required). No direct To Do->Done; nothing leaves Won't Do.
  PAY workflow: global transitions 11 To Do, 21 In Progress, 31 Done (sets resolution Done).
* Custom fields: 10040 Incident ID (text), 10041 Severity (select SEV1-SEV4, option ids 10101-10104;
  required for OPS Incidents), 10042 Affected services (multi-select api/web/payments/database),
  10043 Customers affected (number), 10044 Impact summary (textarea, ADF), 10045 Incident URL (url),
  10046 Incident commander (user picker), 10047 Root cause (textarea; OPS edit screen only, not on
  create), 10048 Incident started (datetime). OPS Tasks only have Incident ID.
* OAuth client credentials ``jira-bridge-ci`` / ``jira-bridge-ci-secret``; Connect app
  ``jira-bridge-connect`` with shared secret ``jira-bridge-connect-shared-secret``; cloudId
  ``5d3e2a9c-7f41-4b8e-9c1a-2f6b0d4e8a17``.
"""

from jira_sim.actors import SimulatorCallError, UserSession
from jira_sim.adf import text_doc
from jira_sim.seed import SiteSeed, default_site
from jira_sim.server import JiraSimulator
from jira_sim.webhooks import ALL_EVENTS, DeliveryAttempt, DeliveryPolicy, sign

__all__ = [
    "ALL_EVENTS",
    "DeliveryAttempt",
    "DeliveryPolicy",
    "JiraSimulator",
    "SimulatorCallError",
    "SiteSeed",
    "UserSession",
    "default_site",
    "sign",
    "text_doc",
]

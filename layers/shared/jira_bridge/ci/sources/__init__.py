"""Every source of CI runs, parsed at the edge into :class:`jira_bridge.ci.model.CiRun`.

* :mod:`.generic` - the authenticated ``POST /ci/notify`` body any pipeline can send (JSON Schema in
  README and ``schemas/ci-notification.schema.json``).
* :mod:`.codebuild` - EventBridge "CodeBuild Build State Change".
* :mod:`.codepipeline` - EventBridge "CodePipeline Pipeline Execution State Change".
* :mod:`.github` - GitHub ``workflow_run`` and ``deployment_status`` webhooks.
* :mod:`.gitlab` - GitLab Pipeline Hook and Deployment Hook webhooks.

A body that is not what its source sends raises :class:`PayloadInvalid` (answer 400, saying where);
an event the bridge does not report raises :class:`NotReported` (answer 202: the sender must not retry).
"""

from __future__ import annotations

from jira_bridge.ci.errors import NotReported, PayloadInvalid

__all__ = ["NotReported", "PayloadInvalid"]

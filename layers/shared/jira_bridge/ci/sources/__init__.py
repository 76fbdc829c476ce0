"""Every source of CI runs, parsed at the edge into :class:`jira_bridge.ci.model.CiRun`.

* :mod:`.generic` - the authenticated ``POST /ci/notify`` body any pipeline can send (JSON Schema in
  README and ``schemas/ci-notification.schema.json``).
* :mod:`.codebuild` - EventBridge "CodeBuild Build State Change".
* :mod:`.codepipeline` - EventBridge "CodePipeline Pipeline Execution State Change".
* :mod:`.github` - GitHub ``workflow_run`` and ``deployment_status`` webhooks.
"""

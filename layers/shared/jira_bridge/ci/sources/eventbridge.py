"""CodeBuild and CodePipeline state changes from EventBridge rules, parsed into runs."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from jira_bridge.ci.config import NativeSources
from jira_bridge.ci.model import CiRun
from jira_bridge.ci.sources import NotReported, PayloadInvalid, codebuild, codepipeline
from jira_bridge.ci.sources.generic import describe


def run_from(event: dict[str, Any], native: NativeSources) -> CiRun:
    """The run an EventBridge event reports (:class:`PayloadInvalid` / :class:`NotReported` otherwise)."""
    source, detail_type = event.get("source"), event.get("detail-type")
    try:
        if source == codebuild.SOURCE and detail_type == codebuild.DETAIL_TYPE:
            return codebuild.to_run(codebuild.CodeBuildEvent.model_validate(event), native)
        if source == codepipeline.SOURCE and detail_type == codepipeline.DETAIL_TYPE:
            return codepipeline.to_run(codepipeline.CodePipelineEvent.model_validate(event), native)
    except ValidationError as error:
        raise PayloadInvalid(describe(error)) from None
    raise NotReported(f"{source} {detail_type}")

"""The CI -> Jira resources of template.yaml: native-source rules, their failure queue, the callers secret."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.template

FAILURES = {"Fn::GetAtt": ["CiEventsFailures", "Arn"]}


def ci_function(template: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"]["CiNotifyFunction"]["Properties"]
    return props


def test_codebuild_and_codepipeline_rules_on_the_default_bus(template: dict[str, Any]) -> None:
    events = ci_function(template)["Events"]
    rules = {name: e["Properties"] for name, e in events.items() if e["Type"] == "EventBridgeRule"}
    assert set(rules) == {"CodeBuildStateChange", "CodePipelineExecutionStateChange"}
    assert rules["CodeBuildStateChange"]["Pattern"] == {
        "source": ["aws.codebuild"], "detail-type": ["CodeBuild Build State Change"],
        "detail": {"build-status": ["IN_PROGRESS", "SUCCEEDED", "FAILED", "STOPPED"]}}
    assert rules["CodePipelineExecutionStateChange"]["Pattern"] == {
        "source": ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"]}
    for rule in rules.values():
        assert "EventBusName" not in rule, "AWS services publish to the default bus"
        assert rule["DeadLetterConfig"] == {"Arn": FAILURES}
        assert {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= set(rule["RetryPolicy"])


def test_function_failures_go_to_the_same_alarmed_queue(template: dict[str, Any]) -> None:
    invoke = ci_function(template)["EventInvokeConfig"]
    assert 0 <= invoke["MaximumRetryAttempts"] <= 2
    assert invoke["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": FAILURES}
    policy = template["Resources"]["CiEventsFailuresPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allow = next(s for s in policy if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Fn::GetAtt": ["CiNotifyFunctionCodeBuildStateChange", "Arn"]},
        {"Fn::GetAtt": ["CiNotifyFunctionCodePipelineExecutionStateChange", "Arn"]}]
    sends = [s for s in ci_function(template)["Policies"][0]["Statement"] if s["Action"] == "sqs:SendMessage"]
    assert [s["Resource"] for s in sends] == [FAILURES]


def test_callers_secret_is_outside_the_connector_prefix_with_a_generated_github_secret(
        template: dict[str, Any]) -> None:
    props = template["Resources"]["CiCallersSecret"]["Properties"]
    assert props["Name"] == {"Fn::Sub": "jira-bridge/${AWS::StackName}/ci-callers"}
    generate = props["GenerateSecretString"]
    assert generate["GenerateStringKey"] == "github_webhook_secret"
    assert int(generate["PasswordLength"]) >= 32
    assert json.loads(generate["SecretStringTemplate"]) == {"callers": {}}, "no caller credentials in the template"
    assert template["Outputs"]["CiCallersSecretName"]["Value"] == props["Name"]

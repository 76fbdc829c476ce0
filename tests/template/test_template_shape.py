"""The security and reliability properties a reviewer checks in template.yaml, asserted on its parsed shape.

These complement the linters: they pin the decisions of docs/architecture.md (names other code depends
on, least privilege, encryption, redrive, alarms) so a template edit cannot quietly undo them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from local_runtime.cfn_yaml import load_template
from tests.template.conftest import REPO_ROOT

pytestmark = pytest.mark.template

FUNCTIONS = {
    "IncidentRouterFunction": ("functions/incident_router", "incident_router_handler.lambda_handler"),
    "IncidentEventsFunction": ("functions/incident_events", "incident_events_handler.lambda_handler"),
    "JiraWebhookFunction": ("functions/jira_webhook", "jira_webhook_handler.lambda_handler"),
    "CiNotifyFunction": ("functions/ci_notify", "ci_notify_handler.lambda_handler"),
    "JiraChangesFunction": ("functions/jira_changes", "jira_changes_handler.lambda_handler"),
    "JiraReconcileFunction": ("functions/jira_reconcile", "jira_reconcile_handler.lambda_handler"),
    "PagerDutyWebhookFunction": ("functions/pagerduty_webhook", "pagerduty_webhook_handler.lambda_handler"),
    "IncidentWebhookFunction": ("functions/incident_webhook", "incident_webhook_handler.lambda_handler"),
}
API_ROUTES = {
    ("JiraWebhookFunction", "/webhooks/jira", "post"),
    ("CiNotifyFunction", "/ci/notify", "post"),
    ("CiNotifyFunction", "/webhooks/github", "post"),
    ("CiNotifyFunction", "/webhooks/gitlab", "post"),
    ("CiNotifyFunction", "/ci/approval/{issueKey}", "get"),
    ("CiNotifyFunction", "/ci/approval/{issueKey}", "post"),
    ("CiNotifyFunction", "/ci/issues", "post"),
    ("PagerDutyWebhookFunction", "/webhooks/pagerduty", "post"),
    ("PagerDutyWebhookFunction", "/webhooks/pagerduty/{account}", "post"),
    ("IncidentWebhookFunction", "/incidents", "post"),
}
SHARED_ENV = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "LINK_TABLE_NAME",
    "IDEMPOTENCY_TABLE_NAME",
    "CONNECTOR_SECRET_PREFIX",
    "EVENT_BUS_NAME",
    "CONFIG_DIR",
}
CONNECTOR_PREFIX = "jira-bridge/${AWS::StackName}/connectors/"
CONNECTOR_SECRETS_ARN = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:" + CONNECTOR_PREFIX + "*"
)
PAGERDUTY_ACCOUNT_PREFIX = "jira-bridge/${AWS::StackName}/pagerduty/"  # the non-default PagerDuty accounts
PAGERDUTY_ACCOUNTS_ARN = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:" + PAGERDUTY_ACCOUNT_PREFIX + "*"
)
# Item-level DynamoDB actions; anything else (Scan, Query on other tables, Batch*, table admin) is out.
DYNAMODB_ITEM_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
}
OUTPUTS = {
    "JiraWebhookUrl",
    "CiNotifyUrl",
    "GithubWebhookUrl",
    "ApprovalUrl",
    "IncidentBusName",
    "IncidentBusArn",
    "LinkTableName",
    "IdempotencyTableName",
    "DefaultConnectorSecretName",
    "IncidentEventsDLQUrl",
    "IncidentEventsDeliveryDLQUrl",
}
SECRET_LOOKING = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
# Names that contain SECRET but carry no secret: where connector secrets live, not their values.
SECRET_LOOKING_ALLOWED = {"CONNECTOR_SECRET_PREFIX", "PAGERDUTY_SECRET_NAME", "CI_CALLERS_SECRET_NAME",
                          "INCIDENT_CALLERS_SECRET_NAME"}


# ----------------------------------------------------------------------------------------- helpers


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM Globals: maps merge (resource wins), lists concatenate (globals first), scalars override."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


def function_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A SAM function's effective properties (Globals.Function applied)."""
    globals_fn = template.get("Globals", {}).get("Function", {})
    merged: dict[str, Any] = merge_globals(globals_fn, template["Resources"][logical_id]["Properties"])
    return merged


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def get_att(resource: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [resource, attribute]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(template: dict[str, Any], conditions: dict[str, bool] | None = None
                      ) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM/resource policy statement written in the template, with where it lives (``Fn::If``
    statements: the branch ``conditions`` choose, or both)."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        documents: list[Any] = []
        if kind == "AWS::Serverless::Function":
            documents += [p for p in as_list(props.get("Policies", [])) if isinstance(p, dict)]
        elif kind in {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            documents += [p.get("PolicyDocument", {}) for p in props.get("Policies", [])]
            if "PolicyDocument" in props:
                documents.append(props["PolicyDocument"])
        elif "PolicyDocument" in props:  # queue, topic, bucket policies
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in as_list(document.get("Statement", [])):
                for branch in branches(statement, conditions):
                    yield logical_id, branch


def branches(statement: dict[str, Any], conditions: dict[str, bool] | None) -> list[dict[str, Any]]:
    """A statement, or an ``Fn::If`` statement's branch for ``conditions`` (both when ``None``)."""
    if "Fn::If" not in statement:
        return [statement]
    name, when_true, when_false = statement["Fn::If"]
    chosen = ([when_true, when_false] if conditions is None or name not in conditions
              else [when_true if conditions[name] else when_false])
    return [c for c in chosen if c != {"Ref": "AWS::NoValue"}]


def function_statements(template: dict[str, Any], logical_id: str,
                        conditions: dict[str, bool] | None = None) -> list[dict[str, Any]]:
    return [s for where, s in policy_statements(template, conditions) if where == logical_id]


def actions(statement: dict[str, Any]) -> list[str]:
    return [str(a) for a in as_list(statement.get("Action", []))]


def dead_letter_queues(template: dict[str, Any]) -> set[str]:
    """Queues that receive failures: redrive targets of queues and DeadLetterConfig of rule targets."""
    dlqs = set()
    for queue in of_type(template, "AWS::SQS::Queue").values():
        redrive = queue["Properties"].get("RedrivePolicy")
        if redrive:
            dlqs.add(redrive["deadLetterTargetArn"]["Fn::GetAtt"][0])
    for rule in of_type(template, "AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            if "DeadLetterConfig" in target:
                dlqs.add(target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0])
    for function in of_type(template, "AWS::Serverless::Function").values():
        props = function["Properties"]
        for event in props.get("Events", {}).values():
            dead_letter = event.get("Properties", {}).get("DeadLetterConfig", {})
            if "Arn" in dead_letter:
                dlqs.add(dead_letter["Arn"]["Fn::GetAtt"][0])
            assert "Type" not in dead_letter, "name the DLQ (Arn) so it can have an alarm"
        on_failure = props.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure")
        if on_failure:
            dlqs.add(on_failure["Destination"]["Fn::GetAtt"][0])
    return dlqs


# ----------------------------------------------------------------------------------------- functions


def test_the_functions_exist_with_their_exact_code_and_handler(template: dict[str, Any]) -> None:
    assert set(of_type(template, "AWS::Serverless::Function")) == set(FUNCTIONS)
    for logical_id, (code_uri, handler) in FUNCTIONS.items():
        props = function_properties(template, logical_id)
        assert props["CodeUri"] == code_uri, logical_id
        assert props["Handler"] == handler, logical_id
        assert (REPO_ROOT / code_uri).is_dir(), f"{logical_id}: CodeUri {code_uri} does not exist"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_is_python313_traced_and_uses_both_layers(
    template: dict[str, Any], logical_id: str
) -> None:
    props = function_properties(template, logical_id)
    layer = template["Resources"]["JiraBridgeLayer"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == [layer["Metadata"]["BuildArchitecture"]], "function/layer arch mismatch"
    assert props["Tracing"] == "Active"
    assert isinstance(props["Timeout"], int)
    assert isinstance(props["MemorySize"], int)
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    for layer_id in ("JiraBridgeLayer", "ConfigLayer"):
        assert ref(layer_id) in props.get("Layers", []), f"{logical_id} does not use {layer_id}"
    assert "Role" not in props, "each function keeps its own SAM-generated role"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_has_the_shared_environment(template: dict[str, Any], logical_id: str) -> None:
    env = function_properties(template, logical_id)["Environment"]["Variables"]
    assert set(env) >= SHARED_ENV, f"{logical_id} misses {sorted(SHARED_ENV - set(env))}"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == {"Fn::Sub": "JiraBridge/${AWS::StackName}"}  # per stack
    assert env["POWERTOOLS_LOG_LEVEL"] == ref("LogLevel")
    assert env["LINK_TABLE_NAME"] == ref("LinkTable")
    assert env["IDEMPOTENCY_TABLE_NAME"] == ref("IdempotencyTable")
    assert env["CONNECTOR_SECRET_PREFIX"] == {"Fn::Sub": CONNECTOR_PREFIX}
    assert env["EVENT_BUS_NAME"] == ref("IncidentBus")
    assert env["CONFIG_DIR"] == "/opt"


def test_service_names_are_distinct_and_the_incident_function_knows_its_dlq(template: dict[str, Any]) -> None:
    names = [
        function_properties(template, f)["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for f in FUNCTIONS
    ]
    assert len(set(names)) == len(names), names
    env = function_properties(template, "IncidentEventsFunction")["Environment"]["Variables"]
    assert env["INCIDENT_EVENTS_DLQ_URL"] == ref("IncidentEventsDLQ")


def test_no_secret_is_an_environment_variable_or_a_parameter(template: dict[str, Any]) -> None:
    for logical_id in FUNCTIONS:
        env = function_properties(template, logical_id)["Environment"]["Variables"]
        for name, value in env.items():
            assert name in SECRET_LOOKING_ALLOWED or not SECRET_LOOKING.search(name), (
                f"{logical_id}: env var {name} looks like a secret; read secrets from Secrets Manager"
            )
            assert "{{resolve:" not in json.dumps(value), f"{logical_id}: {name} resolves a dynamic reference"
    for name, spec in template.get("Parameters", {}).items():
        assert not SECRET_LOOKING.search(name), f"parameter {name} looks like a secret"
        assert not spec.get("NoEcho"), f"parameter {name} is NoEcho: secrets must not be parameters"


def test_layers(template: dict[str, Any]) -> None:
    shared = template["Resources"]["JiraBridgeLayer"]
    assert shared["Type"] == "AWS::Serverless::LayerVersion"
    assert shared["Properties"]["ContentUri"] == "layers/shared"
    assert shared["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert shared["Metadata"]["BuildMethod"] == "makefile"  # layers/shared/Makefile (tests/template/test_sam_build.py)
    assert shared["Properties"]["CompatibleArchitectures"] == [shared["Metadata"]["BuildArchitecture"]]
    assert shared["Properties"]["RetentionPolicy"] in {"Retain", "Delete"}
    assert (REPO_ROOT / "layers/shared/jira_bridge/__init__.py").is_file()
    requirements = (REPO_ROOT / "layers/shared/requirements.txt").read_text(encoding="utf-8").lower()
    assert not re.search(r"^\s*(boto3|botocore)\b", requirements, re.MULTILINE), (
        "boto3 comes from the runtime"
    )

    config = template["Resources"]["ConfigLayer"]
    assert config["Type"] == "AWS::Serverless::LayerVersion"
    assert config["Properties"]["ContentUri"].rstrip("/") == "config"
    assert "BuildMethod" not in config.get("Metadata", {}), "config is shipped as is, never built"
    connectors = load_template(REPO_ROOT / "config/connectors.yaml")
    assert "default_connector" in connectors
    assert "projects" in connectors


# ----------------------------------------------------------------------------------------- IAM


def test_no_policy_statement_uses_a_wildcard_resource(template: dict[str, Any]) -> None:
    statements = list(policy_statements(template))
    assert statements, "no policy statements found: the walker is broken"
    for where, statement in statements:
        resources = as_list(statement.get("Resource", []))
        assert resources, f"{where}: statement {statement.get('Sid')} has no Resource"
        assert "*" not in resources, f"{where}: statement {statement.get('Sid')} grants on Resource '*'"
        if statement.get("Effect") == "Allow":
            wild = [a for a in actions(statement) if a == "*" or a.endswith(":*")]
            assert not wild, f"{where}: Allow statement {statement.get('Sid')} has wildcard actions {wild}"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_policies_are_inline_statements_only(template: dict[str, Any], logical_id: str) -> None:
    """No managed policies or broad SAM policy templates (DynamoDBCrudPolicy grants Scan and Batch*)."""
    for policy in as_list(template["Resources"][logical_id]["Properties"].get("Policies", [])):
        assert isinstance(policy, dict), f"{logical_id}: {policy!r} is a managed policy or template"
        assert "Statement" in policy, f"{logical_id}: {policy!r} is not an inline statement list"


def secret_readers(template: dict[str, Any], conditions: dict[str, bool]) -> dict[str, set[str]]:
    """For each secret resource a function may read (by ARN or prefix): which functions may."""
    readers: dict[str, set[str]] = {}
    for logical_id in FUNCTIONS:
        for statement in function_statements(template, logical_id, conditions):
            if not any("secretsmanager" in a for a in actions(statement)):
                continue
            assert actions(statement) == ["secretsmanager:GetSecretValue"], (logical_id, statement)
            for resource in as_list(statement["Resource"]):
                readers.setdefault(json.dumps(resource), set()).add(logical_id)
    return readers


@pytest.mark.parametrize("pagerduty_outbound", [False, True])
def test_each_secret_is_readable_only_by_the_functions_that_read_it(
    template: dict[str, Any], pagerduty_outbound: bool
) -> None:
    """Connectors (Jira credentials), the CI callers (API keys, HMAC and GitHub secrets) and PagerDuty
    are three grants, each to its readers only; the connector prefix covers neither of the others."""
    connectors = json.dumps({"Fn::Sub": CONNECTOR_SECRETS_ARN})
    jira_functions = {"IncidentEventsFunction", "JiraWebhookFunction", "JiraChangesFunction",
                      "JiraReconcileFunction", "CiNotifyFunction"}
    pagerduty_readers = {"PagerDutyWebhookFunction"} | (
        {"JiraChangesFunction", "JiraReconcileFunction"} if pagerduty_outbound else set())
    assert secret_readers(template, {"PagerDutyOutbound": pagerduty_outbound}) == {
        connectors: jira_functions,
        json.dumps(ref("CiCallersSecret")): {"CiNotifyFunction"},
        json.dumps(ref("PagerDutySecret")): pagerduty_readers,
        # the other PagerDuty accounts' secrets (pagerduty.yaml): the same readers, that prefix only
        json.dumps({"Fn::Sub": PAGERDUTY_ACCOUNTS_ARN}): pagerduty_readers,
        json.dumps(ref("IncidentCallersSecret")): {"IncidentWebhookFunction"},
    }
    names = {logical_id: template["Resources"][logical_id]["Properties"]["Name"]["Fn::Sub"]
             for logical_id in of_type(template, "AWS::SecretsManager::Secret")}
    outside = {k: v for k, v in names.items() if not v.startswith(CONNECTOR_PREFIX)}
    assert set(outside) == {"CiCallersSecret", "PagerDutySecret", "IncidentCallersSecret"}, (
        "only connectors live under the prefix")
    assert not [v for v in names.values() if v.startswith(PAGERDUTY_ACCOUNT_PREFIX)], (
        "the PagerDuty accounts' prefix holds no secret of the stack's (CI callers, connectors, ...)")
    assert not PAGERDUTY_ACCOUNT_PREFIX.startswith(CONNECTOR_PREFIX)
    assert not CONNECTOR_PREFIX.startswith(PAGERDUTY_ACCOUNT_PREFIX)
    assert template["Conditions"]["PagerDutyOutbound"] == {"Fn::Equals": [ref("PagerDutyOutbound"), "true"]}
    assert template["Parameters"]["PagerDutyOutbound"]["Default"] == "false"


def test_dynamodb_access_is_item_level_on_named_tables(template: dict[str, Any]) -> None:
    expected_tables = {
        "IncidentEventsFunction": {"LinkTable", "IdempotencyTable"},
        "JiraWebhookFunction": set(),  # verifies and queues; touches no table
        "JiraChangesFunction": {"LinkTable", "IdempotencyTable"},
        "JiraReconcileFunction": {"LinkTable"},
        "CiNotifyFunction": {"IdempotencyTable", "LinkTable"},  # LinkTable: meta# items only (below)
    }
    for logical_id, tables in expected_tables.items():
        granted = set()
        for statement in function_statements(template, logical_id):
            dynamo = [a for a in actions(statement) if a.startswith("dynamodb:")]
            if not dynamo:
                continue
            assert set(dynamo) <= DYNAMODB_ITEM_ACTIONS, (
                f"{logical_id}: {sorted(set(dynamo) - DYNAMODB_ITEM_ACTIONS)}"
            )
            for resource in as_list(statement["Resource"]):
                table, attribute = resource["Fn::GetAtt"]
                assert attribute == "Arn"
                granted.add(table)
            if statement["Resource"] == get_att("IdempotencyTable", "Arn"):
                # Powertools idempotency: Get/Put/Update/Delete (docs "IAM Permissions").
                assert {
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                } <= set(dynamo)
        assert granted == tables, f"{logical_id}: DynamoDB on {sorted(granted)}, expected {sorted(tables)}"


def test_event_bus_and_dlq_grants_are_scoped(template: dict[str, Any]) -> None:
    for logical_id in ("IncidentEventsFunction", "JiraChangesFunction", "JiraReconcileFunction"):
        puts = [s for s in function_statements(template, logical_id) if "events:PutEvents" in actions(s)]
        assert puts, f"{logical_id} cannot publish to the bus"
        assert all(s["Resource"] == get_att("IncidentBus", "Arn") for s in puts), logical_id
    sends = [
        s for s in function_statements(template, "IncidentEventsFunction") if "sqs:SendMessage" in actions(s)
    ]
    assert sends
    assert all(s["Resource"] == get_att("IncidentEventsDLQ", "Arn") for s in sends)
    for statement in function_statements(template, "CiNotifyFunction"):
        assert "events:PutEvents" not in actions(statement), "CI notify does not publish incident events"
        if "LinkTable" in json.dumps(statement):  # the shared Jira metadata cache, never an incident link
            assert set(actions(statement)) == {"dynamodb:GetItem", "dynamodb:PutItem"}, statement
            assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["meta#*"]}}


# ----------------------------------------------------------------------------------------- state


@pytest.mark.parametrize(("logical_id", "key"), [("LinkTable", "pk"), ("IdempotencyTable", "id")])
def test_tables_are_on_demand_encrypted_and_recoverable(
    template: dict[str, Any], logical_id: str, key: str
) -> None:
    props = template["Resources"][logical_id]["Properties"]
    assert template["Resources"][logical_id]["Type"] == "AWS::DynamoDB::Table"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": key, "KeyType": "HASH"}], "partition key only"
    assert props["AttributeDefinitions"] == [{"AttributeName": key, "AttributeType": "S"}]
    pitr = props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
    assert pitr is True, f"{logical_id}: point-in-time recovery is off"
    assert props.get("SSESpecification", {}).get("SSEEnabled") is True, f"{logical_id}: SSE is off"


def test_table_specifics(template: dict[str, Any]) -> None:
    link = template["Resources"]["LinkTable"]
    assert link["Properties"]["DeletionProtectionEnabled"] == ref("TableDeletionProtection")
    assert link.get("DeletionPolicy") == "Retain"
    assert link.get("UpdateReplacePolicy") == "Retain"
    ttl = template["Resources"]["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expiration", "Enabled": True}


def test_default_connector_secret_holds_placeholders_and_a_generated_webhook_secret(
    template: dict[str, Any],
) -> None:
    secret = template["Resources"]["DefaultConnectorSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    props = secret["Properties"]
    assert props["Name"] == {"Fn::Sub": CONNECTOR_PREFIX + "default"}
    assert "SecretString" not in props, "no literal secret material in the template"
    generate = props["GenerateSecretString"]
    assert generate["GenerateStringKey"] == "webhook_secret"
    assert int(generate["PasswordLength"]) >= 32
    placeholder = json.loads(generate["SecretStringTemplate"])
    assert set(placeholder) == {"site_url", "email", "api_token"}
    assert all("CHANGE-ME" in value for value in placeholder.values()), placeholder


# ----------------------------------------------------------------------------------------- queues and events


def test_every_queue_is_encrypted(template: dict[str, Any]) -> None:
    queues = of_type(template, "AWS::SQS::Queue")
    assert queues
    for logical_id, queue in queues.items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, (
            f"{logical_id} is not encrypted"
        )


def test_every_source_queue_redrives_and_every_dlq_is_a_queue_here(template: dict[str, Any]) -> None:
    queues = of_type(template, "AWS::SQS::Queue")
    dlqs = dead_letter_queues(template)
    assert dlqs >= {"IncidentEventsDLQ", "IncidentEventsDeliveryDLQ", "JiraChangesDLQ", "JiraReconcileFailures"}, (
        f"dead-letter queues found: {sorted(dlqs)}"
    )
    assert dlqs <= set(queues)
    for logical_id, queue in queues.items():
        if logical_id in dlqs:
            assert queue["Properties"]["MessageRetentionPeriod"] == 1209600, f"{logical_id}: keep 14 days"
            continue
        redrive = queue["Properties"].get("RedrivePolicy")
        assert redrive, f"source queue {logical_id} has no RedrivePolicy"
        # The incident queue backs off per message (ChangeMessageVisibility), so its receives are spread
        # over about a day; the others retry at their visibility timeout.
        assert 1 <= int(redrive["maxReceiveCount"]) <= {"IncidentEventsQueue": 100, "JiraChangesQueue": 20}.get(
            logical_id, 10)


def test_incident_events_queue_is_fifo_and_outlives_the_consumer(template: dict[str, Any]) -> None:
    queue = template["Resources"]["IncidentEventsQueue"]["Properties"]
    dlq = template["Resources"]["IncidentEventsDLQ"]["Properties"]
    consumer = function_properties(template, "IncidentEventsFunction")
    assert queue["FifoQueue"] is True
    # The router deduplicates on the producer's event id; a replay must not be dropped as a copy of it.
    assert queue["ContentBasedDeduplication"] is False
    assert dlq["FifoQueue"] is True, "a FIFO queue's DLQ must be FIFO"
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": get_att("IncidentEventsDLQ", "Arn"),
        "maxReceiveCount": 100,
    }
    # Backoff never exceeds 15 minutes, so 100 receives take far longer than a 6-hour outage.
    from jira_bridge.queue_retries import MAX_BACKOFF_SECONDS, retry_delay

    worst_case = sum(retry_delay(None, n, 0.0) for n in range(1, 100))
    assert worst_case > 6 * 3600
    assert max(retry_delay(None, n, 1.0) for n in range(1, 100)) <= MAX_BACKOFF_SECONDS
    assert queue["MessageRetentionPeriod"] >= 4 * 86400
    assert queue["VisibilityTimeout"] >= 6 * consumer["Timeout"], (
        "visibility timeout must be >= 6x the timeout"
    )
    # EventBridge DLQs must be standard queues.
    assert not template["Resources"]["IncidentEventsDeliveryDLQ"]["Properties"].get("FifoQueue")


def test_incident_events_function_consumes_the_fifo_queue_with_partial_batches(
    template: dict[str, Any],
) -> None:
    props = function_properties(template, "IncidentEventsFunction")
    (event,) = props["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == get_att("IncidentEventsQueue", "Arn")
    assert event["Properties"]["BatchSize"] == 10
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": ref("IncidentEventsMaximumConcurrency")}
    assert "ReservedConcurrentExecutions" in props, "caps concurrent calls into Jira"
    statements = [s for p in props["Policies"] for s in as_list(p["Statement"])]
    backoff = [s for s in statements if "sqs:ChangeMessageVisibility" in actions(s)]
    assert backoff == [{"Sid": "BackOffFailedEvents", "Effect": "Allow", "Action": "sqs:ChangeMessageVisibility",
                        "Resource": get_att("IncidentEventsQueue", "Arn")}]


def test_incident_events_reach_a_router_that_groups_them_per_incident(template: dict[str, Any]) -> None:
    """The router reads no secret and calls no Jira: it may only send to the queue and its DLQ."""
    bus = template["Resources"]["IncidentBus"]
    assert bus["Type"] == "AWS::Events::EventBus"
    # stack-unique by default: a staging and a prod stack in one account never share (or collide on) a bus
    assert bus["Properties"]["Name"] == {
        "Fn::If": ["HasIncidentBusName", ref("IncidentBusName"), {"Fn::Sub": "${AWS::StackName}-incidents"}]
    }
    assert template["Parameters"]["IncidentBusName"]["Default"] == ""
    # EventBridge's SQS target can only set a static group: no rule targets a queue (the one raw rule is
    # PagerDuty's partner bus -> its function)
    assert set(of_type(template, "AWS::Events::Rule")) == {"PagerDutyEventBridgeRule"}
    props = function_properties(template, "IncidentRouterFunction")
    (event,) = props["Events"].values()
    assert event["Type"] == "EventBridgeRule"
    assert event["Properties"]["EventBusName"] == ref("IncidentBus")
    assert event["Properties"]["Pattern"] == {"detail-type": ["Incident Changed"]}
    assert {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= set(event["Properties"]["RetryPolicy"])
    assert event["Properties"]["DeadLetterConfig"] == {"Arn": get_att("IncidentEventsDeliveryDLQ", "Arn")}
    on_failure = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": get_att("IncidentEventsDeliveryDLQ", "Arn")}
    env = props["Environment"]["Variables"]
    assert env["INCIDENT_EVENTS_QUEUE_URL"] == ref("IncidentEventsQueue")
    statements = [s for p in props["Policies"] for s in as_list(p["Statement"])]
    assert {s["Resource"]["Fn::GetAtt"][0] for s in statements} == {"IncidentEventsQueue", "IncidentEventsDLQ"}
    assert all(actions(s) == ["sqs:SendMessage"] for s in statements)


def test_eventbridge_may_send_only_from_the_rule(template: dict[str, Any]) -> None:
    """The delivery DLQ lets events.amazonaws.com send only for the router's rule (aws:SourceArn)."""
    policies = of_type(template, "AWS::SQS::QueuePolicy")
    for queue in ("IncidentEventsDeliveryDLQ",):
        allowing = [
            statement
            for policy in policies.values()
            if ref(queue) in policy["Properties"]["Queues"]
            for statement in as_list(policy["Properties"]["PolicyDocument"]["Statement"])
            if statement["Effect"] == "Allow"
        ]
        assert allowing, f"no queue policy lets EventBridge send to {queue}"
        for statement in allowing:
            assert statement["Principal"] == {"Service": "events.amazonaws.com"}
            assert actions(statement) == ["sqs:SendMessage"]
            assert statement["Resource"] == get_att(queue, "Arn")
            assert statement["Condition"] == {
                "ArnEquals": {"aws:SourceArn": get_att("IncidentRouterFunctionIncidentChanged", "Arn")}
            }


def test_every_dlq_has_an_alarm(template: dict[str, Any]) -> None:
    alarms = of_type(template, "AWS::CloudWatch::Alarm").values()
    for dlq in dead_letter_queues(template):
        matching = [
            a["Properties"]
            for a in alarms
            if a["Properties"].get("Namespace") == "AWS/SQS"
            and a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
            and {"Name": "QueueName", "Value": get_att(dlq, "QueueName")} in a["Properties"]["Dimensions"]
        ]
        assert matching, f"dead-letter queue {dlq} has no ApproximateNumberOfMessagesVisible alarm"
        for alarm in matching:
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
            assert alarm["Threshold"] == 0
            assert alarm["AlarmActions"] == {
                "Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], ref("AWS::NoValue")]
            }
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""



def test_an_invalid_config_at_cold_start_raises_an_alarm_for_every_function_that_checks_it(
        template: dict[str, Any]) -> None:
    """A function whose handler validates its config at cold start (``adapters.config_problem``) refuses
    its work while it is broken: one ``ConfigInvalid`` of any of them must page someone."""
    checking = set()
    for logical_id in of_type(template, "AWS::Serverless::Function"):
        props = function_properties(template, logical_id)
        code = REPO_ROOT / str(props["CodeUri"])
        if any("config_problem" in path.read_text() for path in code.glob("*.py")):
            checking.add(props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"])
    assert len(checking) >= 5, checking
    alarm = of_type(template, "AWS::CloudWatch::Alarm")["ConfigInvalidAlarm"]["Properties"]
    stats = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    watched = {d["Value"] for metric in stats if metric["MetricName"] == "ConfigInvalid" for d in metric["Dimensions"]}
    assert watched == checking
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["AlarmActions"] == {"Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], ref("AWS::NoValue")]}

# ----------------------------------------------------------------------------------------- API


def test_api_is_throttled_traced_and_access_logged(template: dict[str, Any]) -> None:
    api = template["Resources"]["JiraBridgeApi"]
    assert api["Type"] == "AWS::Serverless::Api"
    props = api["Properties"]
    assert props["StageName"] == "v1"
    assert props["TracingEnabled"] is True
    default = [m for m in props["MethodSettings"] if m["ResourcePath"] == "/*" and m["HttpMethod"] == "*"]
    assert default, "no stage-wide MethodSettings"
    assert default[0]["ThrottlingBurstLimit"] == ref("ApiThrottlingBurstLimit")
    assert default[0]["ThrottlingRateLimit"] == ref("ApiThrottlingRateLimit")
    assert default[0].get("DataTraceEnabled") is False, "full request logging would log webhook signatures"
    condition, access, off = props["AccessLogSetting"]["Fn::If"]
    assert condition == "ApiLogging"
    assert off == ref("AWS::NoValue")
    assert default[0]["LoggingLevel"] == {"Fn::If": ["ApiLogging", "ERROR", "OFF"]}
    log_group, attribute = access["DestinationArn"]["Fn::GetAtt"]
    assert attribute == "Arn"
    assert template["Resources"][log_group]["Properties"]["RetentionInDays"] == ref("LogRetentionDays")
    fields = json.loads(access["Format"])
    assert {"requestId", "status", "resourcePath"} <= set(fields)
    assert not any("header" in str(v).lower() or "body" in str(v).lower() for v in fields.values())


def test_api_routes(template: dict[str, Any]) -> None:
    routes = set()
    for logical_id in FUNCTIONS:
        for event in function_properties(template, logical_id).get("Events", {}).values():
            if event["Type"] == "Api":
                assert event["Properties"]["RestApiId"] == ref("JiraBridgeApi"), "no implicit API"
                routes.add((logical_id, event["Properties"]["Path"], event["Properties"]["Method"].lower()))
    assert routes == API_ROUTES


def test_request_size_limit_is_documented(template: dict[str, Any]) -> None:
    limit = template["Metadata"]["JiraBridge"]["RequestSizeLimit"]
    assert limit["HandlerLimitBytes"] == 256 * 1024
    assert limit["ApiGatewayHardLimitBytes"] == 10 * 1024 * 1024
    assert "256 KB" in template["Description"]
    assert "413" in template["Description"]


def test_every_function_has_a_log_group_with_retention(template: dict[str, Any]) -> None:
    names = {
        json.dumps(lg["Properties"]["LogGroupName"]): lg["Properties"].get("RetentionInDays")
        for lg in of_type(template, "AWS::Logs::LogGroup").values()
    }
    for logical_id in FUNCTIONS:
        key = json.dumps({"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"})
        assert names.get(key) == ref("LogRetentionDays"), f"{logical_id} has no log group with retention"
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30


# ----------------------------------------------------------------------------------------- outputs


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert set(outputs) >= OUTPUTS, f"missing outputs {sorted(OUTPUTS - set(outputs))}"
    base = "https://${JiraBridgeApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1"
    assert outputs["JiraWebhookUrl"]["Value"] == {"Fn::Sub": base + "/webhooks/jira"}
    assert outputs["CiNotifyUrl"]["Value"] == {"Fn::Sub": base + "/ci/notify"}
    assert outputs["GithubWebhookUrl"]["Value"] == {"Fn::Sub": base + "/webhooks/github"}
    assert outputs["ApprovalUrl"]["Value"] == {"Fn::Sub": base + "/ci/approval/{issueKey}"}
    assert outputs["IncidentBusArn"]["Value"] == get_att("IncidentBus", "Arn")


def test_nothing_account_wide_changes_unless_asked(template: dict[str, Any]) -> None:
    """The API Gateway CloudWatch role is an account-wide setting: created only on request; logs follow."""
    params = template["Parameters"]
    assert params["ConfigureApiGatewayAccountRole"]["Default"] == "false"
    assert params["ApiAccessLogging"]["Default"] == "false"
    conditions = template["Conditions"]
    assert conditions["CreateApiGatewayAccountRole"] == {"Fn::Equals": [ref("ConfigureApiGatewayAccountRole"), "true"]}
    assert conditions["ApiLogging"] == {"Fn::Or": [{"Fn::Equals": [ref("ApiAccessLogging"), "true"]},
                                                   {"Condition": "CreateApiGatewayAccountRole"}]}
    account_wide = {lid for lid, r in template["Resources"].items()
                    if r["Type"] in {"AWS::ApiGateway::Account", "AWS::IAM::Role"}}  # fmt: skip
    assert account_wide == {"ApiGatewayAccount", "ApiGatewayCloudWatchRole"}
    assert all(template["Resources"][lid].get("Condition") == "CreateApiGatewayAccountRole" for lid in account_wide)


def test_named_resources_are_unique_per_stack(template: dict[str, Any]) -> None:
    """Two stacks (staging, prod) in one account and region: every explicit name carries the stack name."""
    names = {"AWS::Events::EventBus": "Name", "AWS::SecretsManager::Secret": "Name", "AWS::SQS::Queue": "QueueName",
             "AWS::DynamoDB::Table": "TableName", "AWS::Logs::LogGroup": "LogGroupName",
             "AWS::CloudWatch::Dashboard": "DashboardName", "AWS::CloudWatch::Alarm": "AlarmName"}  # fmt: skip
    for logical_id, resource in template["Resources"].items():
        key = names.get(resource["Type"])
        if key is None or key not in resource.get("Properties", {}):
            continue
        text = json.dumps(resource["Properties"][key])
        assert "${AWS::StackName}" in text or re.search(r"\$\{[A-Za-z]+Function\}", text), (
            f"{logical_id}.{key} = {text}: would collide with another stack of this template in the same account"
        )


def test_incident_sources_other_accounts_and_pagerduty_eventbridge(template: dict[str, Any]) -> None:
    """Another account may put only "Incident Changed" on the bus; PagerDuty's partner bus reaches the
    PagerDuty function through a rule with retries and a dead-letter queue, its failures kept too."""
    resources = template["Resources"]
    policy = resources["IncidentBusCrossAccountPolicy"]
    assert policy["Condition"] == "HasIncidentSourceAccounts"
    assert template["Parameters"]["IncidentSourceAccounts"]["Default"] == ""
    statement = policy["Properties"]["Statement"]
    assert statement["Principal"] == {"AWS": ref("IncidentSourceAccounts")}
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == get_att("IncidentBus", "Arn")
    assert statement["Condition"] == {"StringEquals": {"events:detail-type": "Incident Changed"}}

    rule = resources["PagerDutyEventBridgeRule"]
    assert rule["Condition"] == "HasPagerDutyEventBus"
    assert rule["Properties"]["EventBusName"] == ref("PagerDutyEventBusName")
    assert rule["Properties"]["EventPattern"]["detail-type"] == ["PagerDuty Webhook"]
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"] == get_att("PagerDutyWebhookFunction", "Arn")
    assert target["DeadLetterConfig"]["Arn"] == get_att("PagerDutyEventsFailures", "Arn")
    permission = resources["PagerDutyEventBridgePermission"]["Properties"]
    assert permission["SourceArn"] == get_att("PagerDutyEventBridgeRule", "Arn")
    function = function_properties(template, "PagerDutyWebhookFunction")
    assert function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"] == get_att(
        "PagerDutyEventsFailures", "Arn")


def _alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """(namespace, metric, dimensions) of an alarm, whether on one metric or metric math."""
    props = alarm["Properties"]
    if "Metrics" not in props:
        return [{"Namespace": props["Namespace"], "MetricName": props["MetricName"], "Dimensions": props["Dimensions"]}]
    return [q["MetricStat"]["Metric"] for q in props["Metrics"] if "MetricStat" in q]


def test_an_sre_is_paged_for_every_function_queue_and_dlq(template: dict[str, Any]) -> None:
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    watched = [m for a in alarms.values() for m in _alarm_metrics(a)]

    def watching(namespace: str, metric: str, dimension: dict[str, Any]) -> bool:
        return any(m["Namespace"] == namespace and m["MetricName"] == metric and dimension in m["Dimensions"]
                   for m in watched)  # fmt: skip

    for function in of_type(template, "AWS::Serverless::Function"):
        for metric in ("Errors", "Throttles"):
            assert watching("AWS/Lambda", metric, {"Name": "FunctionName", "Value": ref(function)}), (function, metric)
    for queue, resource in of_type(template, "AWS::SQS::Queue").items():
        if "RedrivePolicy" in resource["Properties"]:  # a working queue: its oldest message's age
            assert watching("AWS/SQS", "ApproximateAgeOfOldestMessage",
                            {"Name": "QueueName", "Value": get_att(queue, "QueueName")}), queue
    api = {"Name": "ApiName", "Value": {"Fn::Sub": "${AWS::StackName}-api"}}
    assert template["Resources"]["JiraBridgeApi"]["Properties"]["Name"] == api["Value"]
    assert watching("AWS/ApiGateway", "5XXError", api)
    rejected = alarms["WebhookSignatureRejectedAlarm"]["Properties"]
    assert rejected["Threshold"] == 10, "a rate, not a single forged request"
    assert {m["Dimensions"][0]["Value"] for m in _alarm_metrics(alarms["WebhookSignatureRejectedAlarm"])} == {
        "jira-webhook", "pagerduty-webhook"}
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], ref("AWS::NoValue")]}


def test_one_dashboard_shows_what_the_bridge_does(template: dict[str, Any]) -> None:
    [dashboard] = of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    titles = " | ".join(w["properties"]["title"] for w in widgets)
    for words in ("in / applied / parked", "429", "latency", "Webhooks: accepted / rejected", "CI: reported / rejected",
                  "errors", "throttles", "age", "Dead-letter"):
        assert words.lower() in titles.lower(), f"dashboard lacks {words!r}: {titles}"
    # every custom metric it charts is one the code emits, in the stack's namespace
    layer = REPO_ROOT / "layers" / "shared" / "jira_bridge"
    sources = [*layer.rglob("*.py"), *(REPO_ROOT / "functions").rglob("*.py")]
    code = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    for widget in widgets:
        for metric in widget["properties"]["metrics"]:
            if metric[0] == "JiraBridge/${AWS::StackName}":
                assert f'"{metric[1]}"' in code, f"the dashboard charts {metric[1]}, which nothing emits"

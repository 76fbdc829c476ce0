"""template.yaml read as a stack: parameters, resources with local physical names, functions and events.

The local runtime never hand-copies a table schema or a queue setting: everything it provisions or
invokes is read from here. Intrinsic functions are resolved for the subset the template uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_runtime.cfn_yaml import load_template

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"


@dataclass(frozen=True)
class FunctionEvent:
    name: str
    type: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory_mb: int
    events: list[FunctionEvent] = field(default_factory=list)

    @property
    def module_name(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def function_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]


class Stack:
    """A template plus the values that make it concrete on this machine."""

    def __init__(
        self,
        template_path: Path,
        stack_name: str = "jira-bridge-local",
        parameters: dict[str, str] | None = None,
        region: str = REGION,
    ) -> None:
        self.template_path = template_path
        self.root = template_path.parent
        self.template = load_template(template_path)
        self.stack_name = stack_name
        self.region = region
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in self.template.get("Parameters", {}).items()
        }
        self.parameters.update(parameters or {})
        self.resources: dict[str, dict[str, Any]] = self.template["Resources"]
        self.queue_urls: dict[str, str] = {}  # filled in by provisioning: logical id -> real URL

    # ----- resources -----------------------------------------------------------------------------

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one type that CloudFormation would create (a false `Condition` creates nothing)."""
        return {lid: r for lid, r in self.resources.items()
                if r.get("Type") == resource_type and ("Condition" not in r or self.condition(r["Condition"]))}

    def properties(self, logical_id: str) -> dict[str, Any]:
        props: dict[str, Any] = self.resources[logical_id].get("Properties", {})
        return props

    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        kind = resource["Type"]
        explicit = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Events::EventBus": "Name",
            "AWS::Events::Rule": "Name",
            "AWS::SecretsManager::Secret": "Name",
            "AWS::Serverless::Function": "FunctionName",
        }.get(kind)
        if explicit and explicit in props:
            return str(self.resolve(props[explicit]))
        name = f"{self.stack_name}-{logical_id}"
        if kind == "AWS::SQS::Queue" and props.get("FifoQueue"):
            name += ".fifo"
        return name

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        service_arn = {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{self.region}:{ACCOUNT_ID}:event-bus/{name}",
            "AWS::Events::Rule": f"arn:aws:events:{self.region}:{ACCOUNT_ID}:rule/{name}",
            "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{self.region}:{ACCOUNT_ID}:secret:{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{name}",
        }.get(kind)
        if service_arn is None:
            return f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:{kind}/{name}"
        return service_arn

    def queue_logical_id_for_arn(self, arn: str) -> str | None:
        for logical_id in self.of_type("AWS::SQS::Queue"):
            if self.arn(logical_id) == arn:
                return logical_id
        return None

    # ----- intrinsic functions -------------------------------------------------------------------

    def pseudo(self, name: str) -> str | None:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }.get(name, f"<{name}>")

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            spec = self.template.get("Parameters", {}).get(name, {})
            value = self.parameters[name]
            if spec.get("Type", "").startswith("CommaDelimitedList") or spec.get("Type", "").startswith("List<"):
                return [v for v in value.split(",") if v]
            return value
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name not in self.resources:
            raise KeyError(f"template.yaml: Ref to unknown name {name!r}")
        kind = self.resources[name]["Type"]
        if kind == "AWS::SQS::Queue":
            return self.queue_urls.get(name, self.physical_name(name))
        if kind in {"AWS::Events::Rule", "AWS::SecretsManager::Secret", "AWS::Serverless::LayerVersion"}:
            return self.arn(name)
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute == "QueueUrl":
            return self.queue_urls.get(logical_id, self.physical_name(logical_id))
        if attribute in {"QueueName", "Name"}:
            return self.physical_name(logical_id)
        return f"<{logical_id}.{attribute}>"

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        (key, arg), = value.items()
        if key == "Ref":
            return self.ref(arg)
        if key == "Fn::GetAtt":
            parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self.get_att(parts[0], parts[1])
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            return str(arg[0]).join(str(self.resolve(v)) for v in self.resolve(arg[1]))
        if key == "Fn::If":
            return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
        if key == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(v) for v in arg)
        if key == "Fn::Or":
            return any(self.resolve(v) for v in arg)
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Select":
            return self.resolve(arg[1])[int(self.resolve(arg[0]))]
        if key == "Fn::Split":
            return str(self.resolve(arg[1])).split(arg[0])
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        resolved_vars = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in resolved_vars:
                return str(resolved_vars[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, template)

    # ----- functions -----------------------------------------------------------------------------

    def functions(self) -> dict[str, FunctionSpec]:
        globals_fn = self.template.get("Globals", {}).get("Function", {})
        specs = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource.get("Properties", {})
            env = dict(globals_fn.get("Environment", {}).get("Variables", {}))
            env.update(props.get("Environment", {}).get("Variables", {}))
            resolved_env = {
                k: str(v) for k, v in ((k, self.resolve(v)) for k, v in env.items()) if v is not None
            }
            events = [
                FunctionEvent(name=name, type=e["Type"], properties=e.get("Properties", {}))
                for name, e in props.get("Events", {}).items()
            ]
            specs[logical_id] = FunctionSpec(
                logical_id=logical_id,
                code_uri=self.root / str(props.get("CodeUri", globals_fn.get("CodeUri", "."))),
                handler=str(props.get("Handler", globals_fn.get("Handler"))),
                environment=resolved_env,
                timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                memory_mb=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
                events=events,
            )
        return specs

    def function(self, logical_id: str) -> FunctionSpec:
        specs = self.functions()
        if logical_id not in specs:
            known = ", ".join(sorted(specs))
            raise KeyError(f"{logical_id!r} is not a function in {self.template_path.name} (known: {known})")
        return specs[logical_id]

    def layer_dirs(self) -> list[Path]:
        """Where each layer's content sits in the repo (what Lambda would mount under /opt)."""
        return [
            self.root / str(r["Properties"]["ContentUri"])
            for r in self.of_type("AWS::Serverless::LayerVersion").values()
        ]

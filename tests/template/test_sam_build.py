"""`sam build` alone (no container, no extra step) builds the shared layer slim and precompiled, and
`sam package` (scripts/package_dry_run.py, S3 on loopback) turns it into what CloudFormation receives.

The build is the slow part (~30 s, mostly pip resolving the layer's pins), so it runs once per module
(the `built` fixture) and every test asserts on that one build in a temporary directory.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_runtime.cfn_yaml import load_template
from local_runtime.stack import Stack
from tests.template.conftest import REPO_ROOT, TEMPLATE, run_tool, tool

pytestmark = pytest.mark.template

PACKAGE = REPO_ROOT / "scripts" / "package_dry_run.py"
MAX_LAYER_MB = 20  # the finalized layer, unzipped: sources, native code and the cold-start pycs
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "dateutil")
REMOVED_GLOBS = ("yaml/_yaml*.so", "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.min.*", "**/*.pyi",
                 "pydantic/v1/**/*.py", "*.dist-info/RECORD")
# Loaded lazily by the first invocation (adapters, Tracer, deferred imports): must be precompiled too.
# The layer's own lazily imported modules are read from jira_bridge/adapters.py and the handlers.
FIRST_INVOCATION = (
    "aws_lambda_powertools.utilities.parameters", "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb", "urllib3.poolmanager",
    "urllib3.connectionpool", "jinja2.sandbox", "jwt", "aws_xray_sdk.core", "aws_xray_sdk.ext.util",
    "aws_xray_sdk.ext.botocore.patch",
)  # fmt: skip
# Pure-python modules of the layer that import on any CPU (the layer's native wheels are arm64).
PORTABLE_MODULES = ("jira_bridge", "urllib3", "jmespath", "jwt", "jinja2",
                    "typing_extensions", "annotated_types")  # fmt: skip


def size_mb(path: Path) -> float:
    """Apparent size (`du --apparent-size`): file sizes plus the directories' own entries."""
    return sum(p.lstat().st_size for p in path.rglob("*")) / 1e6


def bundled(python_dir: Path, name: str) -> list[str]:
    return sorted(p.name for p in python_dir.iterdir() if p.name == name or p.name.startswith(f"{name}-"))


def module_file(python_dir: Path, module: str) -> str:
    relative = module.replace(".", "/")
    return f"{relative}/__init__.py" if (python_dir / relative / "__init__.py").is_file() else f"{relative}.py"


def imported_names(path: Path) -> set[str]:
    """Modules a source imports itself, at any depth (read, not imported); relative imports left out."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def run_python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@dataclass(frozen=True)
class Built:
    build_dir: Path
    report: dict[str, Any]
    output: str
    package_dir: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    assert sys.version_info[:2] == (3, 13), "the template tier runs on the project's Python 3.13 (.venv)"
    sam = tool("sam", "sam")
    tmp_path = tmp_path_factory.mktemp("sam")
    build_dir = tmp_path / "build"
    report_file = tmp_path / "finalize.json"
    # exactly `make build` / `sam build`: the layer's Makefile runs finalize_layer.py; the variable only
    # asks it to also write its JSON report
    result = run_tool([sam, "build", "--template-file", TEMPLATE.name, "--build-dir", build_dir, "--parallel"],
                      timeout=400, extra_env={"JIRA_BRIDGE_LAYER_REPORT": str(report_file)})  # fmt: skip
    assert result.returncode == 0, f"sam build failed ({result.returncode}):\n{result.stdout}"
    assert report_file.is_file(), f"sam build did not run finalize_layer.py:\n{result.stdout}"
    package_dir = tmp_path / "package"
    packaged = subprocess.run(
        [sys.executable, str(PACKAGE), "--build-dir", str(build_dir), "--env", "staging", "--out", str(package_dir),
         "--sam", str(sam)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert packaged.returncode == 0, f"package_dry_run.py failed:\n{packaged.stdout}{packaged.stderr}"
    return Built(build_dir, json.loads(report_file.read_text()), result.stdout, package_dir)


def test_the_layer_is_built_by_sam_build_itself(template: dict[str, Any]) -> None:
    """One build: sam build / sam sync / make build all run the layer's Makefile, nothing runs beside it."""
    layer = template["Resources"]["JiraBridgeLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"
    makefile = (REPO_ROOT / layer["Properties"]["ContentUri"] / "Makefile").read_text(encoding="utf-8")
    assert "build-JiraBridgeLayer:" in makefile
    assert "scripts/finalize_layer.py" in makefile
    assert "--platform manylinux2014_aarch64" in makefile
    assert "--python-version 3.13" in makefile
    recipe = (REPO_ROOT / "Makefile").read_text(encoding="utf-8").split("\nbuild:", 1)[1].split("\n\n", 1)[0]
    assert "finalize_layer" not in recipe, "make build must ship what sam build ships: no step beside it"


def test_sam_build_layer_is_lean_and_precompiled(built: Built, tmp_path: Path) -> None:
    build_dir, report, output = built.build_dir, built.report, built.output
    layer = build_dir / "JiraBridgeLayer"
    python_dir = layer / "python"
    assert (python_dir / "jira_bridge" / "__init__.py").is_file(), f"jira_bridge missing from {python_dir}"
    assert not (python_dir / "bin").exists(), "console scripts (#! this machine's Python) must not ship"
    functions = Stack(build_dir / "template.yaml").functions()  # CodeUri points at the built code
    handlers = {
        logical_id: path
        for logical_id, spec in functions.items()
        if (path := spec.code_uri / f"{spec.module_name.replace('.', '/')}.py").is_file()
    }
    assert {"IncidentEventsFunction", "JiraWebhookFunction", "JiraChangesFunction"} <= handlers.keys(), handlers

    # 1. pruned, unused files dropped, cold-start closure precompiled: by sam build alone
    for name in RUNTIME_PROVIDED:
        assert not bundled(python_dir, name), f"{name} is still bundled after pruning"
    for pattern in REMOVED_GLOBS:
        assert not list(python_dir.glob(pattern)), f"{pattern} should have been removed\n{output}"
    final = size_mb(layer)
    biggest = ", ".join(f"{b['name']} {b['bytes'] / 1e6:.1f} MB (pyc {b['pyc_bytes'] / 1e6:.1f})"
                        for b in report["biggest"])  # fmt: skip
    assert final <= MAX_LAYER_MB, f"finalized layer is {final:.1f} MB unzipped (> {MAX_LAYER_MB}): {biggest}\n{output}"

    # 2. the closure covers every function, with the versions the layer ships, and the lazy imports
    assert not report["version_mismatches"], report["version_mismatches"]
    assert handlers.keys() <= report["closure_per_function"].keys(), output
    closure = set(report["compiled"])
    expected = {module_file(python_dir, m) for m in FIRST_INVOCATION}
    assert not expected - closure, f"lazily imported modules left out of the closure: {sorted(expected - closure)}"
    # config/*.yaml ships compiled to JSON (scripts/compile_config.py): no cold start parses YAML
    assert (python_dir / "jira_bridge" / "compiled_config" / "runbooks.yaml.json").is_file()
    assert not {f for f in closure if f.startswith("yaml/")}, "PyYAML is precompiled: a cold start imports it"
    # what the handlers and the adapters' factories import, at any depth (read, not imported)
    sources = [*handlers.values(), python_dir / "jira_bridge" / "adapters.py"]
    named = {name for path in sources for name in imported_names(path)}
    in_layer = {f for m in named if (python_dir / (f := module_file(python_dir, m))).is_file()}
    assert "jira_bridge/incidents/sync.py" in in_layer, sorted(in_layer)
    assert not in_layer - closure, (
        f"modules the handlers or adapters import are not precompiled: {sorted(in_layer - closure)}"
    )

    # 3. exactly the closure is precompiled, with unchecked hash-based pycs of this Python
    magic = importlib.util.MAGIC_NUMBER
    for relative in closure:
        pyc = Path(importlib.util.cache_from_source(str(python_dir / relative)))
        assert pyc.is_file(), f"{relative} is in the cold-start closure but has no pyc"
        header = pyc.read_bytes()[:8]
        assert header[:4] == magic, f"{pyc} was not compiled by this Python ({sys.version.split()[0]})"
        # PEP 552 flags: bit 0 = hash-based, bit 1 = check_source. 0b01 = unchecked hash.
        assert int.from_bytes(header[4:8], "little") == 0b01, f"{pyc} is not an unchecked-hash pyc"
    pycs = list(python_dir.rglob("*.pyc"))
    assert len(pycs) == len(closure), f"{len(pycs)} pycs for a closure of {len(closure)} modules"

    # 4. the pycs are what gets imported: no compile() of a layer source during the imports, except
    #    the pure-Python fallbacks of the layer's arm64 extensions, which only this x86 host needs
    probe = textwrap.dedent(
        f"""
        import glob, importlib, os, sys
        layer = {str(python_dir)!r}
        sys.path.insert(0, layer)
        compiled = []
        sys.addaudithook(lambda event, args: event == "compile" and isinstance(args[1], str)
                         and args[1].startswith(layer) and compiled.append(args[1]))
        for name in {PORTABLE_MODULES!r}:
            module = importlib.import_module(name)
            assert module.__file__.startswith(layer), (name, module.__file__)
            assert module.__cached__ and module.__spec__.cached, name
        fallbacks = [f for f in compiled if glob.glob(os.path.join(os.path.dirname(f), "*-aarch64-linux-gnu.so"))]
        missed = sorted(set(compiled) - set(fallbacks))
        assert not missed, f"compiled from source instead of loading pycs: {{missed}}"
        files = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
        print("imported", sum(f.startswith(layer) for f in files), "layer modules from pycs,",
              len(fallbacks), "x86-only fallbacks from source")
        """
    )
    imported = run_python("-s", "-B", "-c", probe, cwd=tmp_path)
    assert imported.returncode == 0, f"importing the precompiled layer failed:\n{imported.stdout}{imported.stderr}"

    # 5. without libyaml, the layer's pure-Python PyYAML still parses (only stdlib + the layer on sys.path)
    yaml_probe = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(python_dir)!r})
        import yaml
        assert yaml.__file__.startswith({str(python_dir)!r}), yaml.__file__
        assert yaml.__with_libyaml__ is False
        assert not hasattr(yaml, "CSafeLoader")
        assert yaml.safe_load("a: [1, two]\\nb: {{c: true}}") == {{"a": [1, "two"], "b": {{"c": True}}}}
        assert yaml.compose("k: v", Loader=yaml.SafeLoader).start_mark.line == 0
        try:
            import _yaml
        except ModuleNotFoundError:
            pass
        else:
            raise AssertionError("_yaml should not import without libyaml")
        print("yaml", yaml.__version__, "pure Python")
        """
    )
    parsed = run_python("-I", "-S", "-B", "-c", yaml_probe, cwd=tmp_path)
    assert parsed.returncode == 0, f"PyYAML without libyaml failed:\n{parsed.stdout}{parsed.stderr}"

    print(
        f"layer: {final:.1f} MB with {len(pycs)} pycs ({report['pyc_bytes'] / 1e6:.1f} MB); "
        f"{imported.stdout.strip()}; {parsed.stdout.strip()}"
    )


def readme_table(heading: str) -> dict[str, str]:
    """First-column names (each `code` span) -> second column, from the table under `heading` in README.md."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"\n{heading}\n" in text, f"README.md has no '{heading}' section"
    section = text.split(f"\n{heading}\n", 1)[1].split("\n#", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2 or set(cells[0]) <= {"-"} or cells[0] in {"parameter", "output"}:
            continue
        for name in re.findall(r"`([A-Za-z0-9]+)`", cells[0]):
            rows[name] = cells[1]
    return rows


def test_packaged_template_matches_the_readme(built: Built) -> None:
    """What CloudFormation receives: code in S3 (zips that are the built code), and the parameters and
    outputs the README's Deploy section documents, with the defaults it states."""
    packaged = load_template(built.package_dir / "packaged.yaml")
    manifest = json.loads((built.package_dir / "manifest.json").read_text())
    code_resources = {lid for lid, r in packaged["Resources"].items()
                      if r["Type"] in {"AWS::Serverless::Function", "AWS::Serverless::LayerVersion"}}  # fmt: skip
    assert code_resources == manifest.keys(), "every function and layer must point at an uploaded zip"
    layer_zip = built.package_dir / manifest["JiraBridgeLayer"]["file"]
    with zipfile.ZipFile(layer_zip) as archive:
        names = set(archive.namelist())
    assert "python/jira_bridge/__init__.py" in names
    assert any(n.endswith(".pyc") for n in names), "the packaged layer lost the precompiled bytecode"
    assert not any(n.startswith("python/botocore/") for n in names), "the packaged layer is not the pruned one"
    assert manifest["JiraBridgeLayer"]["unzipped_bytes"] / 1e6 <= MAX_LAYER_MB

    documented = readme_table("### Template parameters")
    parameters = packaged["Parameters"]
    assert documented.keys() == parameters.keys(), (
        f"README parameters table: missing {sorted(parameters.keys() - documented.keys())}, "
        f"stale {sorted(documented.keys() - parameters.keys())}"
    )
    for name, spec in parameters.items():
        default = str(spec.get("Default", ""))
        stated = documented[name]
        assert stated == ("(empty)" if default == "" else f"`{default}`"), f"README says {name} defaults to {stated}"
    outputs = readme_table("### Stack outputs")
    assert outputs.keys() == packaged["Outputs"].keys(), (
        f"README outputs table: missing {sorted(packaged['Outputs'].keys() - outputs.keys())}, "
        f"stale {sorted(outputs.keys() - packaged['Outputs'].keys())}"
    )


def test_samconfig_environments_deploy_distinct_stacks() -> None:
    """`make deploy ENV=...` for each environment: its own stack, never prompting, nothing account-wide."""
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    stacks = {}
    for env in ("dev", "staging", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        stacks[env] = deploy["stack_name"]
        assert deploy["capabilities"] == "CAPABILITY_IAM", env
        assert deploy.get("resolve_s3") is True, env
        overrides = " ".join(deploy.get("parameter_overrides", []))
        assert "ConfigureApiGatewayAccountRole=true" not in overrides, f"{env} changes an account-wide setting"
        for pair in deploy.get("parameter_overrides", []):
            assert pair.split("=", 1)[0] in readme_table("### Template parameters"), f"{env}: unknown {pair}"
    assert len(set(stacks.values())) == len(stacks), stacks
    assert "template_file" not in str(config.get("default", {})), "sam deploy must take the built template"

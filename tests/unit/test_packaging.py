"""`pip install .` gives a working CLI: every third-party module the CLI and the shared package import
is a declared dependency, and every exact pin (layer, dev venv) satisfies the declared ranges."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
FIRST_PARTY = {"jira_bridge", "jira_bridge_cli", "jira_sim", "local_runtime"}
# imported only under TYPE_CHECKING or for type stubs
TYPING_ONLY = {"mypy_boto3_dynamodb", "mypy_boto3_sqs", "mypy_boto3_events", "mypy_boto3_secretsmanager"}


def declared(extra: str | None = None) -> dict[str, Requirement]:
    specs = PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]
    return {canonicalize_name(r.name): r for r in map(Requirement, specs)}


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]+\])?==([^\s#]+)", line.strip())
        if match:
            found[canonicalize_name(match.group(1))] = match.group(3)
    return found


def top_level_imports(directory: Path) -> set[str]:
    names = set()
    for path in directory.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names - FIRST_PARTY - set(sys.stdlib_module_names) - TYPING_ONLY


def distributions_of(modules: set[str]) -> dict[str, set[str]]:
    mapping = importlib.metadata.packages_distributions()
    return {module: {canonicalize_name(d) for d in mapping.get(module, [])} for module in modules}


def transitive(requirements: dict[str, Requirement]) -> set[str]:
    """Distributions installed by `requirements` one level down (with the extras asked for, nothing else)."""
    found = set()
    for name, requirement in requirements.items():
        for text in importlib.metadata.requires(name) or []:
            dependency = Requirement(text)
            extras = ["", *requirement.extras]
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in extras):
                found.add(canonicalize_name(dependency.name))
    return found


def test_every_module_the_cli_and_layer_import_is_a_declared_dependency() -> None:
    core = declared()
    modules = top_level_imports(REPO_ROOT / "local" / "jira_bridge_cli") | top_level_imports(
        REPO_ROOT / "layers" / "shared" / "jira_bridge")
    undeclared = {}
    for module, dists in distributions_of(modules).items():
        # a module provided by a declared distribution, or by one a declared distribution depends on
        if not dists or dists & core.keys():
            continue
        if not dists & transitive(core):
            undeclared[module] = dists
    assert not undeclared, f"imported but not in pyproject.toml dependencies: {undeclared}"


def test_local_modules_are_covered_by_the_local_extra() -> None:
    everything = declared() | declared("local")
    modules = top_level_imports(REPO_ROOT / "local" / "jira_sim") | top_level_imports(
        REPO_ROOT / "local" / "local_runtime")
    missing = {m: d for m, d in distributions_of(modules).items() if d and not d & everything.keys()
               and m not in {"werkzeug", "flask"}}  # fmt: skip
    assert not missing, f"`jira-bridge local` imports what the [local] extra does not declare: {missing}"


def test_exact_pins_satisfy_the_declared_ranges() -> None:
    layer = pins(REPO_ROOT / "layers" / "shared" / "requirements.txt")
    dev = pins(REPO_ROOT / "requirements-dev.txt")
    for name, requirement in (declared() | declared("local")).items():
        version = layer.get(name) or dev.get(name)
        assert version is not None, f"{name} is declared in pyproject.toml but pinned nowhere"
        assert requirement.specifier.contains(version), f"{name}=={version} is outside pyproject.toml's {requirement}"
    for name in layer.keys() & dev.keys():
        assert layer[name] == dev[name], f"{name} pinned twice, differently: layer {layer[name]}, dev {dev[name]}"

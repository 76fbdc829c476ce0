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


LAYER_LOCK = REPO_ROOT / "layers" / "shared" / "requirements.txt"
DEV_LOCK = REPO_ROOT / "requirements-dev.txt"


def lambda_runtime_provided() -> set[str]:
    """What the layer leaves to the Lambda runtime: `make lock` and finalize_layer.py must agree."""
    from scripts.finalize_layer import RUNTIME_PROVIDED

    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^LAMBDA_RUNTIME_PROVIDED := (.+)$", makefile, re.MULTILINE)
    assert match, "Makefile: LAMBDA_RUNTIME_PROVIDED is gone"
    in_makefile = {canonicalize_name(n) for n in match.group(1).split()}
    assert in_makefile == {canonicalize_name(n) for n in RUNTIME_PROVIDED}, (
        "Makefile's LAMBDA_RUNTIME_PROVIDED and scripts/finalize_layer.py's RUNTIME_PROVIDED differ")
    return in_makefile


def test_every_runtime_dependency_is_pinned_in_the_layer_within_its_range() -> None:
    layer = pins(LAYER_LOCK)
    provided = lambda_runtime_provided()
    for name, requirement in declared().items():
        if name in provided:
            assert name not in layer, f"{name} comes from the Lambda runtime; the layer must not ship it"
            continue
        assert name in layer, f"{name} is a runtime dependency in pyproject.toml but not in the layer lock: make lock"
        assert requirement.specifier.contains(layer[name]), (
            f"layer pins {name}=={layer[name]}, outside pyproject.toml's {requirement}: make lock")


def test_the_layer_lock_is_closed_under_dependencies() -> None:
    """The layer installs with --no-deps: whatever a pinned distribution needs must be pinned too."""
    layer = pins(LAYER_LOCK)
    provided = lambda_runtime_provided()
    extras = {name: set(r.extras) for name, r in declared().items()}
    missing = {}
    for name, version in layer.items():
        installed = importlib.metadata.version(name)
        assert installed == version, f"the dev venv has {name}=={installed}: make .venv/bin/.installed"
        for text in importlib.metadata.requires(name) or []:
            dependency = Requirement(text)
            wanted = [{"extra": e} for e in ["", *extras.get(name, ())]]
            if dependency.marker is not None and not any(dependency.marker.evaluate(env) for env in wanted):
                continue
            dep = canonicalize_name(dependency.name)
            if dep not in layer and dep not in provided:
                missing.setdefault(dep, []).append(name)
    assert not missing, f"needed by the layer's pins but not pinned (the layer installs --no-deps): {missing}"


def test_both_pinned_files_are_the_lock_with_hashes_and_agree() -> None:
    layer, dev = pins(LAYER_LOCK), pins(DEV_LOCK)
    for path in (LAYER_LOCK, DEV_LOCK):
        text = path.read_text(encoding="utf-8")
        assert "#    make lock\n" in text, f"{path.name} was not generated by `make lock`"
        assert "file://" not in text, f"{path.name} names this machine's package indexes"
        assert "--find-links" not in text, f"{path.name} names this machine's wheel directory"
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
        unhashed = [b.split()[0] for b in blocks if "==" in b.split("\n", 1)[0] and "--hash=sha256:" not in b]
        assert not unhashed, f"{path.name}: pins without hashes: {unhashed}"
    for name, requirement in (declared() | declared("local") | declared("dev")).items():
        assert name in dev, f"{name} is declared in pyproject.toml but not in requirements-dev.txt: make lock"
        assert requirement.specifier.contains(dev[name]), f"{name}=={dev[name]} is outside pyproject's {requirement}"
    differ = {name: (layer[name], dev[name]) for name in layer.keys() & dev.keys() if layer[name] != dev[name]}
    assert not differ, f"layer and dev venv pin these differently (layer, dev): {differ}"
    assert layer.keys() <= dev.keys(), f"the dev venv lacks what the layer ships: {layer.keys() - dev.keys()}"

"""`sam build` (no container) builds the shared layer; scripts/finalize_layer.py slims and precompiles it.

One test on purpose: the build is the slow part (~30 s, mostly pip resolving the layer's pins), so
everything about its output is asserted on a single build in a temporary directory.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.template.conftest import REPO_ROOT, TEMPLATE, run_tool, tool

pytestmark = pytest.mark.template

FINALIZE = REPO_ROOT / "scripts" / "finalize_layer.py"
MAX_LAYER_MB = 20  # dependency payload (sources + native code), after pruning what the runtime provides
MAX_FINAL_LAYER_MB = 30  # the same plus one .pyc per module (~7 MB); regression guard
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "dateutil")
# Pure-python modules of the layer that import on any CPU (the layer's native wheels are arm64).
PORTABLE_MODULES = ("jira_bridge", "requests", "urllib3", "idna", "certifi", "jmespath", "jwt", "jinja2",
                    "typing_extensions", "annotated_types")  # fmt: skip


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def biggest(python_dir: Path, top: int = 8) -> str:
    sizes = sorted(
        ((size_mb(p) if p.is_dir() else p.stat().st_size / 1e6, p.name) for p in python_dir.iterdir()),
        reverse=True,
    )
    return ", ".join(f"{name} {mb:.1f} MB" for mb, name in sizes[:top])


def bundled(python_dir: Path, name: str) -> list[str]:
    return sorted(p.name for p in python_dir.iterdir() if p.name == name or p.name.startswith(f"{name}-"))


def finalize(layer: Path, *flags: str) -> str:
    result = subprocess.run(
        [sys.executable, str(FINALIZE), str(layer), *flags],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (
        f"finalize_layer.py {' '.join(flags)} failed:\n{result.stdout}{result.stderr}"
    )
    return result.stdout


def test_sam_build_layer_is_lean_and_precompiled(tmp_path: Path) -> None:
    assert sys.version_info[:2] == (3, 13), "the template tier runs on the project's Python 3.13 (.venv)"
    sam = tool("sam", "sam")
    build_dir = tmp_path / "build"
    result = run_tool(
        [sam, "build", "--template-file", TEMPLATE.name, "--build-dir", build_dir, "--parallel"], timeout=300
    )
    assert result.returncode == 0, f"sam build failed ({result.returncode}):\n{result.stdout}"

    layer = build_dir / "JiraBridgeLayer"
    python_dir = layer / "python"
    assert (python_dir / "jira_bridge" / "__init__.py").is_file(), f"jira_bridge missing from {python_dir}"
    assert not bundled(python_dir, "boto3"), "boto3 comes from the Lambda runtime and must not be bundled"
    for function in ("IncidentEventsFunction", "JiraWebhookFunction", "CiNotifyFunction"):
        assert (build_dir / function).is_dir(), f"sam build did not build {function}"

    # 1. prune what the runtime provides (aws-xray-sdk drags botocore in), no bytecode yet
    finalize(layer, "--no-compile")
    for name in RUNTIME_PROVIDED:
        assert not bundled(python_dir, name), f"{name} is still bundled after pruning"
    payload = size_mb(layer)
    assert payload <= MAX_LAYER_MB, (
        f"layer is {payload:.1f} MB unzipped (> {MAX_LAYER_MB}): {biggest(python_dir)}"
    )

    # 2. precompile with unchecked hash-based pycs
    output = finalize(layer)
    final = size_mb(layer)
    assert final <= MAX_FINAL_LAYER_MB, (
        f"precompiled layer is {final:.1f} MB: {biggest(python_dir)}\n{output}"
    )
    pycs = list(python_dir.rglob("*.pyc"))
    assert pycs, output
    magic = importlib.util.MAGIC_NUMBER
    for pyc in pycs:
        header = pyc.read_bytes()[:8]
        assert header[:4] == magic, f"{pyc} was not compiled by this Python ({sys.version.split()[0]})"
        # PEP 552 flags: bit 0 = hash-based, bit 1 = check_source. 0b01 = unchecked hash.
        assert int.from_bytes(header[4:8], "little") == 0b01, f"{pyc} is not an unchecked-hash pyc"

    # 3. the pycs are what gets imported: no compile() of any layer source during the imports
    probe = textwrap.dedent(
        f"""
        import importlib, sys
        layer = {str(python_dir)!r}
        sys.path.insert(0, layer)
        compiled = []
        sys.addaudithook(lambda event, args: event == "compile" and isinstance(args[1], str)
                         and args[1].startswith(layer) and compiled.append(args[1]))
        for name in {PORTABLE_MODULES!r}:
            module = importlib.import_module(name)
            assert module.__file__.startswith(layer), (name, module.__file__)
            assert module.__cached__ and module.__spec__.cached, name
        assert not compiled, f"compiled from source instead of loading pycs: {{compiled}}"
        files = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
        print("imported", sum(f.startswith(layer) for f in files), "layer modules from pycs")
        """
    )
    imported = subprocess.run(
        [sys.executable, "-s", "-B", "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 0, (
        f"importing the precompiled layer failed:\n{imported.stdout}{imported.stderr}"
    )
    print(f"layer: {payload:.1f} MB payload, {final:.1f} MB with {len(pycs)} pycs; {imported.stdout.strip()}")

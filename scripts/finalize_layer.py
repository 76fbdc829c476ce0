#!/usr/bin/env python3.13
"""Finalize the built shared layer: prune, drop dead weight, precompile what a cold start runs.

`sam build` runs this itself, as the last step of the layer's build (layers/shared/Makefile,
BuildMethod: makefile), so `sam build`, `sam sync` and `make build` ship the same layer. By hand:

    python3.13 scripts/finalize_layer.py .aws-sam/build/JiraBridgeLayer --template template.yaml

Target: the finalized layer stays <= 20 MB unzipped (tests/template/test_sam_build.py enforces it).

1. **Prune.** `aws-lambda-powertools[tracer]` pulls `aws-xray-sdk`, which hard-depends on botocore
   (and so on python-dateutil and six). layers/shared/Makefile installs the lock with `--no-deps`,
   which leaves them out; a layer installed any other way bundles ~25 MB of botocore, so this step
   stays as the safety net. The Lambda Python runtime already ships boto3,
   botocore, s3transfer, python-dateutil and six, and a layer copy would *shadow* the runtime's
   botocore (``/opt/python`` comes before ``/var/runtime`` on ``sys.path``) while boto3 still
   comes from the runtime: a version mismatch waiting to happen. Those distributions are removed,
   file by file from their ``RECORD``, unless the layer's requirements.txt pins them explicitly.

2. **Drop files no code path reads** (``UNUSED``, ``UNUSED_AFTER_CLOSURE`` and the long descriptions of
   ``METADATA``; 5.5 MB today), each guarded: the script refuses a
   removal if any shipped source (the layer's outside the owning package, the functions') names
   what would need the files.

   * PyYAML's libyaml binding ``yaml/_yaml.*.so`` (2.7 MB, with debug info). The bridge parses YAML
     with ``yaml.SafeLoader`` / ``yaml.safe_load``, which are pure Python whether or not libyaml is
     present; only the ``C*Loader``/``C*Dumper`` classes use the binding. ``import yaml`` tolerates
     its absence (``yaml/__init__.py`` wraps ``from .cyaml import *`` in ``try/except ImportError``
     and sets ``__with_libyaml__ = False``), and the ``_yaml`` compatibility package then raises
     ``ModuleNotFoundError`` as it would without libyaml. Guard: ``CSafeLoader`` & co,
     ``CParser``, ``__with_libyaml__``, ``_yaml``.
   * Powertools' bundled Swagger UI (``swagger-ui-bundle.min.js`` + css, 1.7 MB). Only the
     ``/swagger`` route that ``APIGatewayRestResolver.enable_swagger()`` registers reads them (and
     only without ``swagger_base_url``); the bridge does not serve Swagger UI. Guard:
     ``enable_swagger``. The Python modules of ``openapi/`` stay: the resolver imports some.
   * Type stubs (``*.pyi``, ``py.typed``, ``wrapt-stubs/``) and C sources shipped next to their
     compiled extensions (``wrapt/_wrappers.c``...), 0.3 MB: type checkers and compilers read
     them, the interpreter never does.
   * ``pydantic/v1`` (0.5 MB), pydantic's bundled 1.x API: only code written for pydantic 1 imports
     it. Guard: ``pydantic.v1``. certifi's own tests.
   * Last, once the closure is known (it reads ``RECORD`` to tell our packages from the
     dependencies): ``*.dist-info/RECORD`` and SBOMs (0.2 MB; pip uninstall and
     ``importlib.metadata.files()`` read RECORD, nothing shipped calls ``files()``), and the long
     description in the body of each ``METADATA`` (0.3 MB; PyPI's project page: ``version()``,
     ``requires()`` and entry points read the headers, which stay).

3. **Precompile the cold-start import closure, and only that.** Lambda mounts layers read-only, so
   CPython cannot cache bytecode there: every module imported without a shipped ``.pyc`` is compiled
   on every cold start (measured: shipping pycs makes a handler's cold import ~2.5x faster). But a
   pyc for *every* module costs ~7.8 MB (42% on top of the sources), and most modules are never
   imported by these functions: Powertools ships 336 modules (parser models, AppSync/Bedrock
   resolvers, OpenAPI, streaming, feature flags...), of which the bridge imports 148. So we compile
   exactly what a cold start and a first invocation import (452 of 789 modules, 5.4 MB today):

   * the import closure of every handler named in the template (by default the one `sam build`
     wrote next to the layer, whose ``CodeUri`` points at the built function code, so layer and
     handlers are the same snapshot; read with the repo's ``local_runtime``, so a new function is
     covered without touching this script; a function whose handler file does not exist yet is
     reported and skipped), and
   * what the first invocation imports lazily: the layer's own code defers imports (adapters build
     boto3 clients, Jira clients, idempotency stores on first use; ``jira_bridge.jira`` resolves
     names through ``importlib``). Every ``import`` statement in the layer's first-party code and
     the handlers, at any depth and including ``TYPE_CHECKING`` blocks (they name the modules that
     ``__getattr__`` loads), is imported too, repeated until nothing new loads. Plus
     ``DYNAMIC_IMPORTS``: modules a dependency loads by a computed name on the first invocation. Less
     the import statements of ``FALLBACK_ONLY`` (PyYAML: the layer ships the config compiled to JSON).

   Each function is probed in its own fresh interpreter, as Lambda runs it: what a module imports
   can depend on what was imported before (Powertools' batch types load all the parser models when
   pydantic is already loaded), so one interpreter importing every handler would over-include. A
   finder placed first on ``sys.meta_path`` records every module whose source is *found*, so a
   module whose import fails and is caught (``urllib3.contrib.socks`` without PySocks) still counts:
   its source is compiled on every cold start all the same. The same finder hides what only the dev
   venv has (test tools, ``cryptography``...): Lambda has them neither in the layer nor in the runtime,
   and their presence changes what some libraries import. Lambda's environment variables are set
   (the function's own from the template, ``AWS_LAMBDA_FUNCTION_NAME``, ``LAMBDA_TASK_ROOT``...),
   because libraries branch on them at import (in Lambda, X-Ray uses its local sampler and never
   imports the centralized sampling modules).

   The built layer's compiled extensions are aarch64 and cannot be imported on an x86_64 build
   host, so the probes run *this* interpreter (the dev venv, which installs the same pinned
   versions from layers/shared/requirements.txt; a version mismatch is reported) with the layer's
   own first-party packages first on ``sys.path`` (so their imports are scanned exactly as shipped)
   and the layer's directory last (so a pure-Python dependency missing from the venv is still
   analysed). Found modules are mapped by module name to the layer's files; those the layer ships
   are compiled. The pure-Python fallbacks of the layer's extensions (``markupsafe/_native.py``,
   ``charset_normalizer/md.py``) are not in the closure: in Lambda the extension loads instead.
   Everything not compiled stays importable: CPython compiles it in memory when (if ever) it is
   first imported. ``--compile-all`` restores the old behaviour (a pyc for every module).

   The pycs are hash-based (PEP 552) with ``UNCHECKED_HASH``. Timestamp pycs do not help, because
   a pyc is valid only if its recorded source mtime equals the file's, and zip packaging (2-second
   DOS times, time zones, re-zips) does not preserve mtimes reliably. Unchecked-hash pycs are
   loaded without reading or hashing the source. That is safe because a published layer version is
   immutable and the pycs are generated in the same build step from exactly the files that ship
   (every ``__pycache__`` is deleted first and everything is recompiled). ``CHECKED_HASH`` would
   stay correct even if a source changed later, but costs a read and a SipHash of every source on
   every cold import, which the immutable layer never needs. Hash-based pycs are also
   byte-for-byte reproducible, so an unchanged layer keeps the same content hash and is not
   re-uploaded.

Result (arm64, today): 40.7 MB as pip installs it -> 18.9 MB of files, 19.8 MB apparent (``du
--apparent-size``, directories included), of which 5.7 MB of pycs for the 472 modules of the closure;
a handler's cold import with closure pycs is as fast as with all pycs.

Not done, on purpose: stripping debug symbols from the other ``.so`` files (``llvm-strip
--strip-debug`` would save ~0.6 MB, mostly wrapt's) makes the layer's bytes depend on an optional
tool of the build host, and cannot be tested on x86_64; removing Powertools subpackages or
``*.dist-info`` (read through ``importlib.metadata``) piecemeal, which a rarely taken code path
could need.

The bytecode format is tied to the interpreter's minor version, so this must run under the target
runtime's Python (3.13); it refuses to run under another one. ``--report FILE`` writes what was
done (removed files, the compiled closure, sizes) as JSON; the template test reads it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_PYTHON = (3, 13)
REPO_ROOT = Path(__file__).resolve().parents[1]
LAYER_MOUNT = "/opt/python"  # where Lambda mounts python/ of a layer; recorded in the pycs

# Distributions the Lambda Python runtime provides (in /var/runtime), keyed by normalised name,
# and the top-level modules they install.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "python-dateutil", "six")
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "dateutil", "six")

# Do not byte-compile wheel .data scripts (e.g. jmespath's `jp.py`): never imported at runtime.
EXCLUDE_FROM_COMPILE = re.compile(r"[\\/][^\\/]+\.data[\\/]")


@dataclass(frozen=True)
class Unused:
    """Files (globs under python/) that no code path of the bridge reads, and the guard that proves it."""

    globs: tuple[str, ...]
    why: str
    # Refuse the removal if a shipped source (outside the `owner` packages) names one of these words.
    used_by: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()

    def user(self, text: str) -> str | None:
        """The first of `used_by` that `text` names (as a whole word), if any."""
        for word in self.used_by:
            if word in text and re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text):
                return word
        return None


UNUSED = (
    Unused(
        globs=("yaml/_yaml*.so",),
        why="libyaml binding: only yaml.C*Loader/C*Dumper use it; safe_load/SafeLoader are pure Python",
        used_by=(
            "CLoader",
            "CSafeLoader",
            "CFullLoader",
            "CUnsafeLoader",
            "CBaseLoader",
            "CDumper",
            "CSafeDumper",
            "CBaseDumper",
            "CParser",
            "CEmitter",
            "__with_libyaml__",
            "_yaml",
        ),
        owner=("yaml", "_yaml"),
    ),
    Unused(
        globs=("aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui*.min.*",),
        why="Swagger UI assets: read only by the route enable_swagger() adds, which the bridge never calls",
        used_by=("enable_swagger",),
        owner=("aws_lambda_powertools",),
    ),
    Unused(
        globs=("**/*.pyi", "**/py.typed", "*-stubs/**/*", "**/*.c"),
        why="type stubs and C sources: read by type checkers and compilers, never by the interpreter",
    ),
    Unused(
        globs=("pydantic/v1/**/*",),
        why="pydantic's bundled 1.x API (pydantic.v1): only code written for pydantic 1 imports it",
        used_by=("pydantic.v1", "pydantic import v1"),
        owner=("pydantic",),
    ),
    Unused(
        globs=("certifi/tests/**/*",),
        why="certifi's own tests",
    ),
)
# Removed last: the closure computation reads RECORD to tell our own packages from the dependencies.
UNUSED_AFTER_CLOSURE = (
    Unused(
        globs=("*.dist-info/RECORD", "*.dist-info/sboms/**/*"),
        why="installer records (RECORD: pip uninstall) and SBOMs: importlib.metadata reads METADATA and "
        "entry_points.txt for version() and entry_points(); only files() reads RECORD",
        used_by=("metadata.files", "metadata import files"),
    ),
)

# Imported on the first invocation by a computed name, which no import statement shows. The
# observability Tracer loads the X-Ray SDK on the first traced call and patches botocore (the Jira
# transport is wrapped by the bridge itself): aws_xray_sdk.core.patch() imports
# `aws_xray_sdk.ext.<library>.patch` by name.
DYNAMIC_IMPORTS = ("aws_xray_sdk.ext.botocore.patch",)

# Imported lazily only on a path a cold start does not take, so their import statements are not followed
# (what a handler's import or first invocation really loads is still precompiled). PyYAML: the layer ships
# config/*.yaml compiled to JSON (scripts/compile_config.py), which read_yaml uses for exactly the text it
# was made from; only a config file edited after the build, or one with a problem to report, is parsed as
# YAML, and that cold start compiles PyYAML's sources (~0.26 MB of pycs not shipped).
FALLBACK_ONLY = ("yaml",)

# Run by the closure probe, a fresh interpreter. argv[1]: JSON config. Prints JSON on its last line.
PROBE = r"""
import ast, importlib, importlib.util, json, os, sys

config = json.loads(sys.argv[1])
sys.path[:0] = [*config["code_dirs"], config["first_party_dir"]]
sys.path.append(config["layer"])  # pure-Python layer dependencies the venv lacks
first_party = set(config["first_party"])
fallback_only = set(config["fallback_only"])
shipped = set(config["shipped"]) | set(sys.stdlib_module_names)
stdlib = os.path.realpath(os.path.dirname(os.__file__)) + os.sep  # the base interpreter's, not the venv's
code_dirs = tuple(os.path.realpath(d) + os.sep for d in config["code_dirs"])
unresolved, absent = {}, set()
found = set()  # every module whose source was found, even if executing it then failed


class Recorder:
    # First on sys.meta_path. Hides what Lambda would not have (the venv's test and dev packages:
    # with `cryptography` present PyJWT imports differently), asks the other finders and records
    # what they found. A module whose import fails (`try: import x except ImportError`, e.g.
    # urllib3.contrib.socks without PySocks) leaves sys.modules again, but its source was still
    # compiled: it belongs to the closure.
    @staticmethod
    def find_spec(name, path=None, target=None):
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is Recorder or find is None:
                continue
            spec = find(name, path, target)
            if spec is None:
                continue
            top = name.partition(".")[0]
            where = spec.origin if isinstance(spec.origin, str) else "".join(spec.submodule_search_locations or [])
            in_stdlib = where.startswith(stdlib) and not where.startswith(stdlib + "site-packages")
            if top not in shipped and os.path.isabs(where) and not in_stdlib:
                absent.add(top)
                raise ModuleNotFoundError(f"No module named {name!r} (in Lambda: neither layer nor runtime)",
                                          name=name)
            if isinstance(spec.origin, str) and spec.origin.endswith(".py"):
                found.add((spec.name, spec.submodule_search_locations is not None))
            return spec
        return None


sys.meta_path.insert(0, Recorder)


def load(name, maybe_attribute):
    if name in sys.modules or name in unresolved:
        return
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        if maybe_attribute and error.name == name:
            return  # `from package import name` where name is an attribute, not a module
        if (error.name or "").partition(".")[0] not in absent:
            unresolved[name] = f"{type(error).__name__}: {error}"
    except Exception as error:  # a lazy import that fails here is reported, not fatal
        unresolved[name] = f"{type(error).__name__}: {error}"


def is_first_party(name, module):
    path = os.path.realpath(getattr(module, "__file__", None) or "")
    return name.partition(".")[0] in first_party or path.startswith(code_dirs)


def imports_of(module):
    path = getattr(module, "__file__", None) or ""
    if not path.endswith(".py"):
        return
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read(), path)
    package = module.__package__ or ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, False
        elif isinstance(node, ast.ImportFrom):
            try:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                    if node.level else node.module
            except ImportError:
                continue
            yield base, False
            for alias in node.names:
                if alias.name != "*":
                    yield f"{base}.{alias.name}", True


def loaded():
    modules = set(found)
    for module in list(sys.modules.values()):
        spec = getattr(module, "__spec__", None)
        if spec is not None and isinstance(spec.origin, str) and spec.origin.endswith(".py"):
            modules.add((spec.name, spec.submodule_search_locations is not None))
    return sorted(modules)


for handler in config["handlers"]:
    importlib.import_module(handler)  # a handler that does not import is fatal (and would fail in Lambda)
cold = loaded()
for name in config["extra"]:
    load(name, False)
scanned = set()
while True:
    pending = [(n, m) for n, m in list(sys.modules.items()) if n not in scanned and is_first_party(n, m)]
    if not pending:
        break
    for name, module in pending:
        scanned.add(name)
        for imported, maybe_attribute in imports_of(module):
            if imported.partition(".")[0] not in fallback_only:
                load(imported, maybe_attribute)
print(json.dumps({"cold": cold, "all": loaded(), "unresolved": unresolved, "absent": sorted(absent)}))
"""


@dataclass(frozen=True)
class Handler:
    function: str  # logical id in the template
    code_dir: Path
    module: str
    environment: dict[str, str]


def normalise(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def tree_size(path: Path) -> int:
    """Unzipped size in bytes (apparent sizes of regular files)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def pyc_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*.pyc") if p.is_file())


def pinned_names(python_dir: Path) -> set[str]:
    """Distribution names listed in the layer's requirements.txt (sam build copies it into python/)."""
    requirements = python_dir / "requirements.txt"
    if not requirements.is_file():
        return set()
    names = set()
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        if match:
            names.add(normalise(match.group(0)))
    return names


def dist_infos(python_dir: Path) -> dict[str, Path]:
    """Installed distributions in the layer: normalised name -> its .dist-info directory."""
    found = {}
    for info in python_dir.glob("*.dist-info"):
        metadata = info / "METADATA"
        name = None
        if metadata.is_file():
            for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("Name:"):
                    name = line.split(":", 1)[1].strip()
                    break
        if name is None:  # fall back to the directory name: <name>-<version>.dist-info
            name = info.name.rsplit("-", 1)[0]
        found[normalise(name)] = info
    return found


def dist_version(info: Path) -> str:
    """The version in a .dist-info's METADATA (or its directory name)."""
    metadata = info / "METADATA"
    if metadata.is_file():
        for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    return info.name.removesuffix(".dist-info").rsplit("-", 1)[-1]


def remove_distribution(python_dir: Path, info: Path) -> int:
    """Delete every file a distribution's RECORD lists (and then empty directories). Returns bytes."""
    record = info / "RECORD"
    if not record.is_file():
        raise SystemExit(f"finalize_layer: {info.name} has no RECORD; refusing to guess what to delete")
    freed = 0
    touched_dirs: set[Path] = set()
    root = python_dir.resolve()
    for line in record.read_text(encoding="utf-8").splitlines():
        relative = line.rsplit(",", 2)[0].strip()
        if not relative:
            continue
        target = (python_dir / relative).resolve()
        if target == root or not target.is_relative_to(root):  # e.g. ../../bin/script entries: outside the layer
            continue
        if target.is_file():
            freed += target.stat().st_size
            target.unlink()
            touched_dirs.add(target.parent)
    if info.exists():
        freed += tree_size(info)
        shutil.rmtree(info)
    # Remove directories left empty (deepest first), including stale __pycache__ folders.
    for directory in sorted(touched_dirs, key=lambda p: len(p.parts), reverse=True):
        current = directory
        while current != root and current.exists():
            leftovers = [p for p in current.iterdir() if p.name != "__pycache__"]
            if leftovers:
                break
            shutil.rmtree(current)
            current = current.parent
    return freed


def prune(python_dir: Path) -> list[tuple[str, int]]:
    """Remove runtime-provided distributions that the requirements do not pin explicitly."""
    pinned = pinned_names(python_dir)
    installed = dist_infos(python_dir)
    removed = []
    for name in RUNTIME_PROVIDED:
        if name in pinned or name not in installed:
            continue
        removed.append((name, remove_distribution(python_dir, installed[name])))
    return removed


def first_party_names(python_dir: Path) -> list[str]:
    """Top-level packages/modules of the layer that no distribution's RECORD owns (our own code)."""
    owned: set[str] = set()
    for info in python_dir.glob("*.dist-info"):
        record = info / "RECORD"
        if record.is_file():
            for line in record.read_text(encoding="utf-8").splitlines():
                owned.add(line.rsplit(",", 2)[0].strip().split("/", 1)[0].removesuffix(".py"))
    names = []
    for entry in sorted(python_dir.iterdir()):
        name = entry.name.removesuffix(".py")
        is_module = entry.is_file() and entry.suffix == ".py"
        is_package = entry.is_dir() and (entry / "__init__.py").is_file()
        if (is_module or is_package) and name not in owned:
            names.append(name)
    return names


def handlers(template: Path) -> list[Handler]:
    """Every function of the template, read by the repo's local runtime (the same reader the tests use)."""
    local = str(REPO_ROOT / "local")
    if local not in sys.path:
        sys.path.insert(0, local)
    from local_runtime.stack import Stack

    found = []
    for logical_id, spec in sorted(Stack(template).functions().items()):
        found.append(Handler(logical_id, spec.code_uri, spec.module_name, dict(spec.environment)))
    return found


def shipped_sources(python_dir: Path, code_dirs: Iterable[Path]) -> dict[Path, str]:
    """Python sources that run in Lambda, the layer's and the functions', with their text."""
    paths = [p for p in python_dir.rglob("*.py") if not EXCLUDE_FROM_COMPILE.search(str(p))]
    for code_dir in code_dirs:
        paths.extend(code_dir.rglob("*.py"))
    return {p: p.read_text(encoding="utf-8", errors="replace") for p in paths}


def remove_unused(
    python_dir: Path, code_dirs: list[Path], which: tuple[Unused, ...] = UNUSED
) -> list[tuple[str, int, str]]:
    """Delete `which` files, each only after its guard finds no shipped source that would use them."""
    removed = []
    sources: dict[Path, str] | None = None
    for unused in which:
        targets = sorted({t for pattern in unused.globs for t in python_dir.glob(pattern) if t.is_file()})
        if not targets:
            continue
        if unused.used_by:
            sources = sources if sources is not None else shipped_sources(python_dir, code_dirs)
            for source, text in sources.items():
                inside = python_dir in source.parents and source.relative_to(python_dir).parts[0] in unused.owner
                word = None if inside else unused.user(text)
                if word:
                    raise SystemExit(
                        f"finalize_layer: {source} uses {word!r}, so {', '.join(unused.globs)} is not unused "
                        f"any more; drop it from UNUSED in {Path(__file__).name}"
                    )
        freed = 0
        for target in targets:
            freed += target.stat().st_size
            target.unlink()
            directory = target.parent
            while directory != python_dir and not any(directory.iterdir()):  # e.g. wrapt-stubs/
                directory.rmdir()
                directory = directory.parent
        shown = targets[0].relative_to(python_dir).as_posix() if len(targets) == 1 else f"{len(targets)} files"
        removed.append((f"{', '.join(unused.globs)} ({shown})", freed, unused.why))
    return removed


def drop_long_descriptions(python_dir: Path, code_dirs: list[Path]) -> int:
    """Cut each ``*.dist-info/METADATA`` after its headers; returns the bytes freed.

    The body of METADATA is the project's long description (its README, 140 KB for pydantic): PyPI
    shows it, nothing at run time reads it. ``importlib.metadata``'s ``version()``, ``requires()`` and
    ``metadata()["Name"]`` read the headers, which stay byte for byte. Guard: a shipped source reading
    the body (a source using ``importlib.metadata`` that names ``get_payload`` or ``"description"``).
    """
    for source, text in shipped_sources(python_dir, code_dirs).items():
        reads_metadata = "importlib.metadata" in text or "importlib_metadata" in text
        if reads_metadata and re.search(r"get_payload|[\"']description[\"']", text, re.IGNORECASE):
            raise SystemExit(
                f"finalize_layer: {source} may read a distribution's long description; keep METADATA whole"
            )
    freed = 0
    for metadata in sorted(python_dir.glob("*.dist-info/METADATA")):
        text = metadata.read_bytes()
        head, separator, body = text.partition(b"\n\n")
        if separator and body.strip():
            metadata.write_bytes(head + b"\n")
            freed += len(text) - len(head) - 1
    return freed


def report_removed(removed: list[tuple[str, int, str]]) -> list[dict[str, Any]]:
    """Print what `remove_unused` removed; the same as JSON for the report."""
    for what, size, why in removed:
        print(f"removed {what}, {size / 1e6:.2f} MB: {why}")
    return [{"files": what, "bytes": size, "why": why} for what, size, why in removed]


def remove_after_closure(python_dir: Path, code_dirs: list[Path]) -> list[dict[str, Any]]:
    """What may go only once the closure is known (it reads RECORD): `UNUSED_AFTER_CLOSURE`, long descriptions."""
    removed = report_removed(remove_unused(python_dir, code_dirs, UNUSED_AFTER_CLOSURE))
    freed = drop_long_descriptions(python_dir, code_dirs)
    why = "PyPI's project description; importlib.metadata reads the headers"
    print(f"dropped the long descriptions of *.dist-info/METADATA, {freed / 1e6:.2f} MB: {why}")
    removed.append({"files": "*.dist-info/METADATA (long description only)", "bytes": freed, "why": why})
    return removed


def version_mismatches(python_dir: Path) -> list[str]:
    """Layer distributions whose version differs from (or is missing in) the interpreter computing the closure."""
    problems = []
    for name, info in sorted(dist_infos(python_dir).items()):
        shipped = dist_version(info)
        try:
            local = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{name} {shipped} is not installed in {sys.prefix}")
            continue
        if local != shipped:
            problems.append(f"{name}: layer {shipped}, {sys.prefix} {local}")
    return problems


def lambda_environment(handler: Handler) -> dict[str, str]:
    """What Lambda sets for the function (Powertools reads some of it at import), minus Python's own knobs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "AWS_PROFILE"}
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": handler.function,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python{}.{}".format(*TARGET_PYTHON),
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "LAMBDA_TASK_ROOT": str(handler.code_dir),
            "_HANDLER": f"{handler.module}.lambda_handler",
        }
    )
    env.update(handler.environment)
    return env


def top_level_modules(directory: Path) -> set[str]:
    """What `import <name>` can find directly in a sys.path entry (packages, modules, extensions)."""
    names = set()
    for entry in directory.iterdir():
        name = entry.name.split(".", 1)[0] if entry.is_file() else entry.name
        if entry.suffix in {".py", ".so"} or (entry.is_dir() and "." not in entry.name):
            names.add(name)
    return names - {"__pycache__", "bin"}


def probe(
    handler: Handler, python_dir: Path, first_party: list[str], shipped: set[str], scratch: Path
) -> dict[str, Any]:
    """Run `PROBE` for one function, in its own interpreter: what a fresh Lambda container would import."""
    config = {
        "code_dirs": [str(handler.code_dir.resolve())], "handlers": [handler.module], "extra": list(DYNAMIC_IMPORTS),
        "fallback_only": list(FALLBACK_ONLY),
        "layer": str(python_dir.resolve()), "first_party_dir": str(scratch / "first_party"),
        "first_party": first_party, "shipped": sorted(shipped | top_level_modules(handler.code_dir)),
    }  # fmt: skip
    result = subprocess.run(  # noqa: S603 - this interpreter, a constant program, our own JSON
        # -E: no PYTHONPATH & co; -s: no user site; -B: write no bytecode into the venv or the repo
        [sys.executable, "-E", "-s", "-B", "-c", PROBE, json.dumps(config)],
        cwd=scratch, env=lambda_environment(handler), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(  # Powertools' Logger reports uncaught exceptions on stdout
            f"finalize_layer: importing {handler.module} ({handler.function}) failed, so its import closure "
            f"is unknown:\n{result.stderr}{result.stdout}"
        )
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def layer_file(python_dir: Path, module: str, is_package: bool) -> str | None:
    """The layer-relative source of a module, if the layer ships it (else it is stdlib, runtime or venv-only)."""
    relative = "/".join(module.split(".")) + ("/__init__.py" if is_package else ".py")
    return relative if (python_dir / relative).is_file() else None


@dataclass
class Closure:
    files: set[str]  # layer-relative .py paths: cold import and first invocation, all functions
    cold: set[str]  # of which some handler imports them itself (the rest loads lazily, on first use)
    per_function: dict[str, int]  # logical id -> layer modules its cold start + first invocation load
    skipped: list[str]  # functions whose handler file does not exist
    unresolved: dict[str, str]  # lazy imports that could not be imported (module -> error)
    hidden: set[str]  # venv-only top-level modules something tried to import (absent in Lambda)


def import_closure(python_dir: Path, template: Path) -> Closure:
    """Layer files a cold start and a first invocation of any function of `template` import.

    One fresh interpreter per function, as in Lambda: what a module imports can depend on what was
    imported before it (Powertools' batch types load the parser models if pydantic already is).
    """
    first_party = first_party_names(python_dir)
    present, skipped = [], []
    for handler in handlers(template):
        if (handler.code_dir / f"{handler.module.replace('.', '/')}.py").is_file():
            present.append(handler)
        else:
            skipped.append(f"{handler.function}: {handler.code_dir.name}/{handler.module}.py not found")
    if not present:
        raise SystemExit(f"finalize_layer: no handler of {template} exists; nothing to compute a closure from")
    with tempfile.TemporaryDirectory(prefix="finalize-layer-") as scratch:
        # Only the layer's own packages are imported from the layer (its native wheels are aarch64).
        staging = Path(scratch) / "first_party"
        staging.mkdir()
        for name in first_party:
            source = python_dir / name if (python_dir / name).is_dir() else python_dir / f"{name}.py"
            (staging / source.name).symlink_to(source.resolve())
        shipped = top_level_modules(python_dir) | set(RUNTIME_MODULES)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            results = list(pool.map(lambda h: probe(h, python_dir, first_party, shipped, Path(scratch)), present))

    def files(modules: list[list[Any]]) -> set[str]:
        return {f for name, is_package in modules if (f := layer_file(python_dir, name, is_package))}

    closure = Closure(set(), set(), {}, skipped, {}, set())
    for handler, result in zip(present, results, strict=True):
        mine = files(result["all"])
        closure.files |= mine
        closure.cold |= files(result["cold"])
        closure.per_function[handler.function] = len(mine)
        closure.unresolved.update(result["unresolved"])
        closure.hidden.update(result["absent"])
    return closure


def all_sources(python_dir: Path) -> set[str]:
    return {
        p.relative_to(python_dir).as_posix()
        for p in python_dir.rglob("*.py")
        if not EXCLUDE_FROM_COMPILE.search(str(p))
    }


def precompile(python_dir: Path, files: Iterable[str]) -> int:
    """Write an unchecked hash-based pyc for each layer-relative source in `files`. Returns the count."""
    for cache in list(python_dir.rglob("__pycache__")):
        shutil.rmtree(cache)  # no stale, foreign-version or out-of-closure bytecode may survive
    count = 0
    for relative in sorted(files):
        source = str(python_dir / relative)
        try:
            py_compile.compile(
                source,
                cfile=importlib.util.cache_from_source(source),
                dfile=f"{LAYER_MOUNT}/{relative}",  # the path the file has in Lambda
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        except py_compile.PyCompileError as error:
            raise SystemExit(f"finalize_layer: {relative} does not compile: {error.msg}") from error
        count += 1
    return count


def packages_by_size(python_dir: Path, top: int = 8) -> list[tuple[str, int, int]]:
    """The biggest top-level entries of python/: (name, bytes, of which pyc bytes)."""
    sizes = []
    for entry in python_dir.iterdir():
        if entry.is_dir():
            sizes.append((entry.name, tree_size(entry), pyc_size(entry)))
        else:
            sizes.append((entry.name, entry.stat().st_size, 0))
    return sorted(sizes, key=lambda s: -s[1])[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("layer_dir", type=Path, help="built layer, e.g. .aws-sam/build/JiraBridgeLayer")
    parser.add_argument(
        "--template",
        type=Path,
        help="template whose functions' handlers define the closure (default: the template "
        "`sam build` wrote next to the layer, i.e. the code that was built, else the repo's)",
    )
    parser.add_argument("--no-prune", action="store_true", help="keep runtime-provided packages")
    parser.add_argument("--keep-unused", action="store_true", help="keep the UNUSED files (libyaml binding)")
    compile_mode = parser.add_mutually_exclusive_group()
    compile_mode.add_argument("--no-compile", action="store_true", help="do not write .pyc files")
    compile_mode.add_argument(
        "--compile-all",
        action="store_true",
        help="a pyc for every module, not only the cold-start closure (for comparison)",
    )
    parser.add_argument("--report", type=Path, help="write what was done as JSON to this file")
    args = parser.parse_args(argv)

    if sys.version_info[:2] != TARGET_PYTHON:
        target = ".".join(map(str, TARGET_PYTHON))
        raise SystemExit(
            f"finalize_layer: run this with python{target} (the Lambda runtime), not "
            f"{sys.version_info.major}.{sys.version_info.minor}: bytecode is version-specific"
        )
    python_dir = args.layer_dir / "python"
    if not python_dir.is_dir():
        raise SystemExit(f"finalize_layer: {python_dir} not found; run `sam build` first")
    if args.template is None:
        built = args.layer_dir.parent / "template.yaml"
        args.template = built if built.is_file() else REPO_ROOT / "template.yaml"

    report: dict[str, Any] = {"layer": str(args.layer_dir), "bytes_before": tree_size(args.layer_dir)}
    if not args.no_prune:
        pruned = prune(python_dir)
        for name, freed in pruned:
            print(f"pruned {name} ({freed / 1e6:.1f} MB, provided by the Lambda runtime)")
        report["pruned"] = [{"distribution": name, "bytes": freed} for name, freed in pruned]
    code_dirs = [h.code_dir for h in handlers(args.template)]
    if not args.keep_unused:
        report["removed"] = report_removed(remove_unused(python_dir, code_dirs))

    if args.no_compile:
        for cache in list(python_dir.rglob("__pycache__")):
            shutil.rmtree(cache)
        pycs = 0
    elif args.compile_all:
        pycs = precompile(python_dir, all_sources(python_dir))
        report["compiled"] = sorted(all_sources(python_dir))
    else:
        mismatches = version_mismatches(python_dir)
        for problem in mismatches:
            print(
                f"warning: closure computed with a different version: {problem} (run `make build`, which "
                "reinstalls .venv from the same pins)"
            )
        closure = import_closure(python_dir, args.template)
        for skipped in closure.skipped:
            print(f"warning: no handler to import for {skipped}")
        for module, error in sorted(closure.unresolved.items()):
            print(f"note: lazy import {module} not importable while computing the closure ({error})")
        pycs = precompile(python_dir, closure.files)
        report.update(
            compiled=sorted(closure.files),
            cold_import=sorted(closure.cold),
            closure_per_function=closure.per_function,
            skipped_functions=closure.skipped,
            unresolved_imports=closure.unresolved,
            hidden_venv_modules=sorted(closure.hidden),
            version_mismatches=mismatches,
        )
        print(
            f"closure of {len(closure.per_function)} handlers: {len(closure.cold)} layer modules at import + "
            f"{len(closure.files - closure.cold)} on first use = {pycs} of {len(all_sources(python_dir))} "
            f"modules compiled ({', '.join(f'{f} {n}' for f, n in sorted(closure.per_function.items()))})"
        )

    if not args.keep_unused:
        report["removed"] += remove_after_closure(python_dir, code_dirs)

    after = tree_size(args.layer_dir)
    pyc_bytes = pyc_size(python_dir)
    report.update(
        bytes_after=after,
        pyc_bytes=pyc_bytes,
        pycs=pycs,
        biggest=[{"name": n, "bytes": b, "pyc_bytes": p} for n, b, p in packages_by_size(python_dir)],
    )
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"{args.layer_dir}: {report['bytes_before'] / 1e6:.1f} MB -> {after / 1e6:.1f} MB unzipped"
        + (f", {pycs} unchecked-hash pycs ({pyc_bytes / 1e6:.1f} MB)" if pycs else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

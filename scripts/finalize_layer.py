#!/usr/bin/env python3.13
"""Finalize the built shared layer after `sam build`: prune what the runtime provides, then precompile.

    python3.13 scripts/finalize_layer.py .aws-sam/build/JiraBridgeLayer

1. **Prune.** `aws-lambda-powertools[tracer]` pulls `aws-xray-sdk`, which hard-depends on botocore
   (and so on python-dateutil and six). pip cannot be told to skip them through requirements.txt,
   so `sam build` bundles ~25 MB of botocore. The Lambda Python runtime already ships boto3,
   botocore, s3transfer, python-dateutil and six, and a layer copy would *shadow* the runtime's
   botocore (``/opt/python`` comes before ``/var/runtime`` on ``sys.path``) while boto3 still
   comes from the runtime: a version mismatch waiting to happen. Those distributions are removed,
   file by file from their ``RECORD``, unless the layer's requirements.txt pins them explicitly.

2. **Precompile.** Lambda mounts layers read-only, so CPython cannot cache bytecode there: without
   shipped ``.pyc`` files every cold start compiles every module it imports. Timestamp pycs do not
   help, because a pyc is valid only if its recorded source mtime equals the file's, and zip
   packaging (2-second DOS times, time zones, re-zips) does not preserve mtimes reliably. We write
   hash-based pycs (PEP 552) with ``UNCHECKED_HASH``: the interpreter loads them without reading or
   hashing the source. That is safe because a published layer version is immutable and the pycs are
   generated in the same build step from exactly the files that ship (this script always recompiles
   everything, ``force=True``). ``CHECKED_HASH`` would stay correct even if a source changed later,
   but costs a read and a SipHash of every source on every cold import, which the immutable layer
   never needs. Hash-based pycs are also byte-for-byte reproducible, so an unchanged layer keeps the
   same content hash and is not re-uploaded.

The bytecode format is tied to the interpreter's minor version, so this must run under the target
runtime's Python (3.13); it refuses to run under another one.
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
import re
import shutil
import sys
from pathlib import Path

TARGET_PYTHON = (3, 13)

# Distributions the Lambda Python runtime provides (in /var/runtime), keyed by normalised name.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "python-dateutil", "six")

# Do not byte-compile wheel .data scripts (e.g. jmespath's `jp.py`): never imported at runtime.
EXCLUDE_FROM_COMPILE = re.compile(r"[\\/][^\\/]+\.data[\\/]")


def normalise(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def tree_size(path: Path) -> int:
    """Unzipped size in bytes (apparent sizes of regular files)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


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
        if root not in target.parents:  # e.g. ../../bin/script entries: outside the layer
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


def precompile(python_dir: Path, workers: int = 0) -> int:
    """Byte-compile every module with unchecked hash-based pycs. Returns the number of pycs."""
    for cache in list(python_dir.rglob("__pycache__")):
        shutil.rmtree(cache)  # no stale or foreign-version bytecode may survive
    ok = compileall.compile_dir(
        python_dir,
        quiet=1,
        force=True,
        workers=workers,
        rx=EXCLUDE_FROM_COMPILE,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        # Record the path the file will have in Lambda (layers are mounted at /opt).
        stripdir=str(python_dir),
        prependdir="/opt/python",
    )
    if not ok:
        raise SystemExit("finalize_layer: some modules failed to compile (see above)")
    return sum(1 for _ in python_dir.rglob("*.pyc"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("layer_dir", type=Path, help="built layer, e.g. .aws-sam/build/JiraBridgeLayer")
    parser.add_argument("--no-prune", action="store_true", help="keep runtime-provided packages")
    parser.add_argument("--no-compile", action="store_true", help="do not write .pyc files")
    parser.add_argument("--workers", type=int, default=0, help="compile workers (0 = one per CPU)")
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

    before = tree_size(args.layer_dir)
    if not args.no_prune:
        for name, freed in prune(python_dir):
            print(f"pruned {name} ({freed / 1e6:.1f} MB, provided by the Lambda runtime)")
    pycs = 0 if args.no_compile else precompile(python_dir, workers=args.workers)
    after = tree_size(args.layer_dir)
    print(
        f"{args.layer_dir}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB unzipped"
        + (f", {pycs} unchecked-hash pycs" if pycs else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

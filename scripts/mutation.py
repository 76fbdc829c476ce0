"""Mutation score of the sync decision code (`make mutation`, on demand; not part of `make test`).

For each module, cosmic-ray mutates the source and runs the unit tests that exercise it; a mutant the
tests do not notice "survives". Prints the score per module, the survivors (line, operator, diff), and
exits 1 when a module is below the bar.

Cosmic-ray rewrites the module in place, so it works on a scratch copy of the repository: the worktree
is never touched and can be edited (and tested) while a run is going. Modules run one after the other
(the machine is shared; `MODULES` restricts each to its own tests).

Mutants judged equivalent (no behaviour anyone could notice changes) are listed in
`scripts/mutation_equivalent.txt`, never run, and excluded from the score. Cosmic-ray's job ids are random
per run, so a listed mutant is named by what stays put: `module || operator glob || source line (stripped) ||
reason`.

Sessions are kept in build/mutation/. `--retest-survivors` reruns only the last run's survivors (and
keeps its killed mutants): valid while the module is unchanged (checked) and tests were only added.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR = 90.0
EQUIVALENT = ROOT / "scripts" / "mutation_equivalent.txt"
SESSIONS = ROOT / "build" / "mutation"  # cosmic-ray's sessions and its scratch copy of the repository
# module -> the unit tests that exercise it
MODULES = {
    "layers/shared/jira_bridge/incidents/runbooks.py": ["tests/unit/incidents/test_runbooks.py",
                                                         "tests/unit/incidents/test_runbook_set.py",
                                                         "tests/unit/incidents/test_echo_identity.py"],
    "layers/shared/jira_bridge/incidents/workflow.py": ["tests/unit/incidents/test_workflow.py"],
    "layers/shared/jira_bridge/links/store.py": ["tests/unit/links/test_link_store.py"],
}
_COPIED = ("layers", "local", "functions", "tests", "pyproject.toml")
# Run inside cosmic-ray's own environment: the finished jobs as JSON lines.
# Mark the pending mutants on listed lines (operator glob, line numbers) as skipped: they are not run.
_SKIP = """
import fnmatch, json, sys
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import WorkerOutcome, WorkResult
listed = json.loads(sys.argv[2])
with use_db(sys.argv[1], WorkDB.Mode.open) as db:
    skip = [item.job_id for item in db.pending_work_items
            if any(fnmatch.fnmatchcase(item.mutations[0].operator_name, pattern)
                   and item.mutations[0].start_pos[0] in lines for pattern, lines in listed)]
    if skip:
        db.set_multiple_results(skip, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
"""
_DUMP = """
import json, sys
from cosmic_ray.work_db import WorkDB, use_db
with use_db(sys.argv[1], WorkDB.Mode.open) as db:
    for item, result in db.completed_work_items:
        m = item.mutations[0]
        print(json.dumps({"job": item.job_id, "operator": m.operator_name, "line": m.start_pos[0],
                          "outcome": (result.test_outcome or result.worker_outcome).value,
                          "diff": result.diff or ""}))
"""


@dataclass(frozen=True)
class Mutant:
    job: str
    operator: str
    line: int
    source: str  # the mutated line, stripped
    outcome: str  # killed, survived, incompetent (or a worker outcome)
    diff: str

    @property
    def mutated(self) -> str:
        """The line as the mutant has it, stripped."""
        return next((d[1:].strip() for d in self.diff.splitlines() if d[:1] == "+" and d[:3] != "+++"), "")


def equivalent() -> dict[str, list[tuple[str, str]]]:
    """module -> [(operator glob, source line)] judged equivalent."""
    listed: dict[str, list[tuple[str, str]]] = {}
    for number, line in enumerate(EQUIVALENT.read_text().splitlines() if EQUIVALENT.exists() else [], 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split(" || ")]
        if len(parts) != 4 or not parts[3]:
            raise SystemExit(f"{EQUIVALENT.name}:{number}: expected `module || operator || source line || reason`")
        listed.setdefault(parts[0], []).append((parts[1], parts[2]))
    return listed


def is_listed(known: list[tuple[str, str]], mutant: Mutant) -> bool:
    """Listed by the line it mutates, or (`=> text`) by the mutated line itself: one mutant of several
    the same operator makes on a line."""
    return any(fnmatch.fnmatchcase(mutant.operator, pattern)
               and (mutant.source == line or (line.startswith("=> ") and mutant.mutated == line[3:].strip()))
               for pattern, line in known)


def run_module(cosmic_ray_bin: Path, module: str, work: Path, known: list[tuple[str, str]],
               retest_survivors: bool) -> list[Mutant]:
    config = work / (Path(module).stem + ".toml")
    session = work / (Path(module).stem + ".sqlite")
    stamp = work / (Path(module).stem + ".source")  # the module the session's mutants were made from
    repo = work / "repo"
    source = (ROOT / module).read_text()
    # only what these tests need: no conftest (the simulator), coverage or hypothesis plugins (3x less CPU)
    pytest = (f"{ROOT / '.venv/bin/pytest'} -x -q -p no:cacheprovider -p no:cov -p no:hypothesispytest "
              "--noconftest --disable-socket")
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{repo / module}"\n'
        "timeout = 120.0\n"
        "excluded-modules = []\n"
        f'test-command = "{pytest} {" ".join(MODULES[module])}"\n'
        '[cosmic-ray.distributor]\nname = "local"\n')
    if retest_survivors and session.exists() and stamp.exists() and stamp.read_text() == source:
        # Tests were only added since: a killed mutant stays killed; survivors are tried again.
        with sqlite3.connect(session) as db:
            db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED' OR worker_outcome = 'SKIPPED'")
    else:
        session.unlink(missing_ok=True)
        subprocess.run([cosmic_ray_bin / "cosmic-ray", "init", config, session], check=True, cwd=repo)  # noqa: S603 - our own tool
        stamp.write_text(source)
    lines = source.splitlines()
    listed_lines = [(pattern, [n for n, text in enumerate(lines, 1) if text.strip() == line])
                    for pattern, line in known]
    subprocess.run([cosmic_ray_bin / "python", "-c", _SKIP, session, json.dumps(listed_lines)],  # noqa: S603
                   check=True)
    subprocess.run([cosmic_ray_bin / "cosmic-ray", "exec", config, session], check=True, cwd=repo)  # noqa: S603 - our own tool
    dump = subprocess.run([cosmic_ray_bin / "python", "-c", _DUMP, session], check=True,  # noqa: S603 - our own tool
                          capture_output=True, text=True).stdout
    mutants = []
    for row in map(json.loads, dump.splitlines()):
        text = lines[row["line"] - 1].strip() if 0 < row["line"] <= len(lines) else ""
        mutants.append(Mutant(row["job"], row["operator"], row["line"], text, row["outcome"], row["diff"]))
    return sorted(mutants, key=lambda m: (m.line, m.operator))


def copy_repo(target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in _COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cosmic-ray", type=Path, required=True, help="bin directory holding cosmic-ray")
    parser.add_argument("--quiet", action="store_true", help="scores only, no survivor listing")
    parser.add_argument("--retest-survivors", action="store_true",
                        help="keep the last run's killed mutants (valid while the module is unchanged and tests were "
                             "only added) and run the survivors again")
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    args = parser.parse_args()
    args.cosmic_ray = args.cosmic_ray.resolve()
    excluded = equivalent()
    below, scores = [], []
    work = SESSIONS
    copy_repo(work / "repo")  # the tests as they are now; cosmic-ray rewrites this copy, never the worktree
    for module in args.modules:
        known = excluded.get(module, [])
        mutants = run_module(args.cosmic_ray, module, work, known, args.retest_survivors)
        counted = [m for m in mutants if not is_listed(known, m)]
        survivors = [m for m in counted if m.outcome == "survived"]
        score = 100.0 * (len(counted) - len(survivors)) / len(counted) if counted else 100.0
        scores.append(f"{module:52} {score:5.1f}%  ({len(mutants)} mutants, {len(mutants) - len(counted)} "
                      f"equivalent excluded, {len(survivors)} survived)")
        print(scores[-1], flush=True)
        for mutant in [] if args.quiet else survivors:
            changed = [d for d in mutant.diff.splitlines() if d[:1] in "+-" and d[:3] not in ("+++", "---")]
            print(f"  survived {module}:{mutant.line} {mutant.operator}: {' / '.join(changed)}", flush=True)
        if score < BAR:
            below.append(module)
    print("\n".join(["", *scores]))
    if below:
        print(f"below {BAR}%: {', '.join(below)}", file=sys.stderr)
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())

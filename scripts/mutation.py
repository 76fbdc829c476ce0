"""Mutation score of the sync decision code (`make mutation`, on demand; not part of `make test`).

For each module, cosmic-ray mutates the source and runs the unit tests that import it; a mutant the
tests do not notice "survives". Prints the score per module and exits 1 when one is below the bar.

Cosmic-ray mutates the file in place and restores it after each job: do not edit the modules while it
runs. Mutants judged equivalent (no behaviour a user could notice changes) are listed in
`scripts/mutation_equivalent.txt` as `module:job-id  reason` lines and excluded from the score.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR = 90.0
PYTEST = f"{ROOT / '.venv/bin/pytest'} -x -q -p no:cacheprovider --disable-socket"
# module -> the unit tests that exercise it
MODULES = {
    "layers/shared/jira_bridge/incidents/runbooks.py": ["tests/unit/incidents/test_runbooks.py",
                                                         "tests/unit/incidents/test_echo_identity.py"],
    "layers/shared/jira_bridge/incidents/workflow.py": ["tests/unit/incidents/test_workflow.py"],
    "layers/shared/jira_bridge/links/store.py": ["tests/unit/links/test_link_store.py"],
}
_SURVIVING = re.compile(r"surviving mutants:\s*(\d+)")
_TOTAL = re.compile(r"total jobs:\s*(\d+)")


def equivalent() -> dict[str, set[str]]:
    listed: dict[str, set[str]] = {}
    path = ROOT / "scripts" / "mutation_equivalent.txt"
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.strip() and not line.startswith("#"):
            module, _, job = line.split()[0].partition(":")
            listed.setdefault(module, set()).add(job)
    return listed


def run_module(cosmic_ray_bin: Path, module: str, tests: list[str], work: Path) -> tuple[int, int, list[str]]:
    config = work / (Path(module).stem + ".toml")
    session = work / (Path(module).stem + ".sqlite")
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{ROOT / module}"\n'
        "timeout = 120.0\n"
        "excluded-modules = []\n"
        f'test-command = "{PYTEST} {" ".join(str(ROOT / t) for t in tests)}"\n'
        '[cosmic-ray.distributor]\nname = "local"\n')
    subprocess.run([cosmic_ray_bin / "cosmic-ray", "init", config, session], check=True, cwd=ROOT)  # noqa: S603 - our own tool
    subprocess.run([cosmic_ray_bin / "cosmic-ray", "exec", config, session], check=True, cwd=ROOT)  # noqa: S603 - our own tool
    report = subprocess.run([cosmic_ray_bin / "cr-report", session], check=True, cwd=ROOT,  # noqa: S603
                            capture_output=True, text=True).stdout
    total = int(_TOTAL.search(report).group(1)) if _TOTAL.search(report) else 0
    survived = int(_SURVIVING.search(report).group(1)) if _SURVIVING.search(report) else 0
    jobs = re.findall(r"\[job-id\]\s*(\S+)[^\[]*?test outcome: TestOutcome.SURVIVED", report, re.S)
    return total, survived, jobs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cosmic-ray", type=Path, required=True, help="bin directory holding cosmic-ray")
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    args = parser.parse_args()
    excluded = equivalent()
    below = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as folder:
        for module in args.modules:
            total, survived, jobs = run_module(args.cosmic_ray, module, MODULES[module], Path(folder))
            skip = len(excluded.get(module, set()) & set(jobs))
            counted = total - skip
            score = 100.0 * (counted - (survived - skip)) / counted if counted else 100.0
            print(f"{module:55} {score:5.1f}%  ({total} mutants, {survived - skip} survived, {skip} equivalent)")
            if score < BAR:
                below.append(module)
    if below:
        print(f"below {BAR}%: {', '.join(below)}", file=sys.stderr)
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())

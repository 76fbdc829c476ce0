"""Run the simulator on its own: ``python -m jira_sim [--port 8765] [--contracts ../shared/contracts]``.

Open the printed URL in a browser for the index of issues; stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from pathlib import Path

from jira_sim.server import JiraSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jira_sim", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--contracts", type=Path, default=None, help="shared/contracts dir for strict validation")
    args = parser.parse_args(argv)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with JiraSimulator(contracts_dir=args.contracts, port=args.port) as sim:
        print(f"Jira simulator on {sim.base_url}  (index: {sim.base_url}/, state: {sim.base_url}/_sim/state)")
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()


if __name__ == "__main__":
    main()

"""`python -m agent --config FILE`: run the agent in the foreground until SIGTERM/SIGINT. This is what
agent.app.launcher starts in a release slot (a slot holds only the `agent` package, not the `loa` command line).

A configuration error is one clear line on stderr and exit code 2. Holds no decisions.
"""

from __future__ import annotations

import argparse
import sys

from agent import app
from agent.adapters.system import journal
from agent.config import unit as config
from agent.errors import LoaError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agent", description="run the Loa agent in the foreground")
    p.add_argument("--config", required=True)
    args = p.parse_args(argv)
    try:
        cfg = config.load(args.config)
        journal.setup(cfg.device.id)
        return app.run(cfg)  # REBOOT_EXIT after a signed `reboot`: the systemd unit reboots the unit
    except LoaError as exc:
        for line in str(exc).splitlines():
            print(f"{journal.error_prefix()}loa agent: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

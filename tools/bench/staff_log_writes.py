"""What staff log lines cost the card: bytes from /proc/PID/io (write_bytes, as tools/bench/disk_writes.py counts
them) per line, for batches of several sizes written the way the agent writes them (agent.runtime.staff_log), each
batch landing on its own (a sync between batches, as batches minutes apart do).

Run: .venv/bin/python -m tools.bench.staff_log_writes [--dir /var/tmp] [--lines 400]
--dir must be a real disk (tmpfs counts no writes).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from agent.adapters.storage.staff_log_ring import StaffLogRing
from tools.bench.disk_writes import io_counters

BATCHES = (1, 10, 50)  # 1: a write per line, as an unbatched log would do; 50: agent.runtime.staff_log.BATCH_LINES


def line(n: int) -> dict[str, Any]:
    """A typical line: a refused command with its reason in Vietnamese."""
    return {"ts": 1_800_000_000_000 + n, "level": "warning", "key": "command_rejected",
            "params": {"cmd": "play", "code": "quiet_hours", "reason": f"ngoài giờ được phép phát ({n})"}}


def measure(folder: Path, lines: int, batch: int) -> dict[str, Any]:
    ring = StaffLogRing(folder)
    ring.add(line(0))
    ring.flush()  # the files' creation is not a batch's cost
    os.sync()
    before = io_counters(os.getpid())["write_bytes"]
    for start in range(0, lines, batch):
        for n in range(start, min(lines, start + batch)):
            ring.add(line(n))
        ring.flush()
        os.sync()
    cost = io_counters(os.getpid())["write_bytes"] - before
    text = sum((folder / name).stat().st_size for name in ("staff-log.0.jsonl", "staff-log.1.jsonl")
               if (folder / name).exists())
    return {"batch_lines": batch, "lines": lines, "write_bytes": cost, "bytes_per_line": round(cost / lines, 1),
            "text_bytes_per_line": round(text / (lines + 1), 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", default="/var/tmp")
    p.add_argument("--lines", type=int, default=400)
    args = p.parse_args()
    results = []
    for batch in BATCHES:
        with tempfile.TemporaryDirectory(dir=args.dir, prefix="loa-stafflog-") as tmp:
            results.append(measure(Path(tmp), args.lines, batch))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

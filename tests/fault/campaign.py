"""The long fault campaign: many seeded runs of every fault kind against real agent processes, a real Mosquitto and
a real HTTP server; prints the counts and every violation. Needs root for the tmpfs disks and the network
namespaces (without it: disk full falls back to RLIMIT_FSIZE, and netns runs are skipped, both said in the output).

    python -m tests.fault.campaign --runs 200 --seed 1 [--seconds 5] [--kinds kill9,storm]

Exit code 0 when no invariant was violated, 1 otherwise. Imports only the campaign's modules.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.fault.netcut import Netns
from tests.fault.rig import Rig
from tests.fault.run import KINDS, RSS_LIMIT_KB, Run, execute

ORDER = ("runs", "kills", "outages", "net_cuts", "disk_full", "clock_jumps", "relay_faults", "valid", "downloads", "hostile",
         "replay", "fuzz", "takeover_attempts", "takeover_password", "takeover_tls", "intruder_connected",
         "redirects", "trickles", "emergencies", "page_requests", "slow_clients", "reports_committed",
         "reports_received", "damaged_refused", "plays_completed", "unanswered_commands", "unexpected_exits",
         "violations")


def plan(runs: int, kinds: tuple[str, ...], seed: int) -> list[tuple[str, int]]:
    """Round robin over the kinds, each run with its own seed drawn from the campaign's."""
    rng = random.Random(seed)
    return [(kinds[i % len(kinds)], rng.randrange(1 << 30)) for i in range(runs)]


def campaign(root: Path, runs: int, seed: int, seconds: float, kinds: tuple[str, ...],
             say: Callable[[str], object] = print) -> tuple[Counter[str], list[str], int]:
    rig = Rig(root, seed)
    totals: Counter[str] = Counter()
    violations: list[str] = []
    rss_max = 0
    try:
        for index, (kind, run_seed) in enumerate(plan(runs, kinds, seed)):
            run = execute(rig, index, kind, run_seed, seconds)
            totals.update(run.counts)
            totals["runs"] += 1
            totals[f"runs_{kind}"] += 1
            rss_max = max(rss_max, run.unit.rss_max_kb)
            violations += [f"run {index} ({kind}, seed {run_seed}): {v}" for v in run.violations]
            totals["violations"] += len(run.violations)
            say(_line(index, run))
    finally:
        rig.close()
    return totals, violations, rss_max


def _line(index: int, run: Run) -> str:
    c = run.counts
    return (f"run {index:4d} {run.kind:8s} kills {c['kills']:2d} outages {c['outages']} valid {c['valid']:3d} "
            f"hostile {c['hostile'] + c['replay'] + c['fuzz']:4d} reports {c['reports_received']:4d} "
            f"rss {run.unit.rss_max_kb // 1024} MB violations {len(run.violations)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fault.campaign", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=len(KINDS))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seconds", type=float, default=5.0, help="length of each run's fault timeline")
    p.add_argument("--kinds", default=",".join(KINDS))
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: units stopped, disks unmounted, namespaces gone
    kinds = tuple(k for k in args.kinds.split(",") if k)
    if "netns" in kinds and not Netns.available():
        print("netns: `ip netns add` fails here; network-namespace runs are skipped", flush=True)
        kinds = tuple(k for k in kinds if k != "netns")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="loa-fault-") as tmp:
        totals, violations, rss_max = campaign(Path(tmp), args.runs, args.seed, args.seconds, kinds,
                                               lambda line: print(line, flush=True))
    print(f"\n{args.runs} runs, seed {args.seed}, {time.monotonic() - started:.0f} s")
    for key in ORDER:
        print(f"  {key:22s} {totals[key]}")
    print("  runs by kind: " + ", ".join(f"{k} {totals[f'runs_{k}']}" for k in kinds))
    answers = sorted(k for k in totals if k.startswith("page_answer_"))
    if answers:
        print("  page answers: " + ", ".join(f"{k.removeprefix('page_answer_')} {totals[k]}" for k in answers))
    print(f"  agent RSS max: {rss_max // 1024} MB (limit {RSS_LIMIT_KB // 1024} MB)")
    for line in violations:
        print(f"VIOLATION {line}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())

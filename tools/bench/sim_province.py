"""The fleet simulator's benchmark on this machine: the full province and the extras, each measured for real.

Run: .venv/bin/python -m tools.bench.sim_province [--out DIR] [--steady-s 60] [--skip-15k] [--skip-baseline]
Steps: steady 4,911 (connect within 10 s, simulator CPU over a steady window from /proc); emergency 4,911 (every
`started` ack, latency from the scheduled send); emergency at smaller sizes (where p99 <= 1 s holds); storm 4,911
(jitter then naive); one shard of 15,000 in steady state; the naive thread-per-client baseline. Each step writes its
report under DIR; DIR/benchmark.json gathers the numbers. Must not be imported by the simulator.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sim.options import SimOptions
from sim.run import simulate


def run(out: Path, name: str, **kw: Any) -> dict[str, Any]:
    t = time.time()
    opts = SimOptions(report=out / name, progress=False, **kw)
    r = simulate(opts)
    print(f"== {name}: {time.time() - t:.0f} s", flush=True)
    return r


def steady(r: dict[str, Any]) -> dict[str, Any]:
    c, s = r["connect"], r["steady"]
    return {"clusters": r["clusters"], "shards": len(r["shards"]), "connected": c["connected"],
            "all_connected_s": c["all_connected_s"], "connected_within_10s": c["connected_within_10s"],
            "connect_latency_from_ramp_slot_ms": c["latency_from_ramp_slot_ms"], **s,
            "sim_cpu_pct_per_1000_units": round(1000 * s["sim_cpu_pct_of_one_core"] / r["clusters"], 3),
            "shard_threads": [sh["threads"] for sh in r["shards"]], "rss_mib_after_build": [sh["rss_mib_after_build"] for sh in r["shards"]]}


def emergency(r: dict[str, Any]) -> dict[str, Any]:
    e = r["emergency"]
    return {"clusters": r["clusters"], "started_acks": r["started_acks"], "accepted_acks": r["accepted_acks"],
            "started_latency_ms": r["started_latency_ms"], "accepted_latency_ms": r["accepted_latency_ms"],
            "send_lag_ms": e["send_lag_ms"], "cpu_until_all_started": e["cpu_until_all_started"],
            "sim_cpu_ms_per_unit": e["sim_cpu_ms_per_unit"]}


def storm(r: dict[str, Any]) -> dict[str, Any]:
    return {mode: {k: v for k, v in p.items() if not k.endswith("curve")} for mode, p in r["storm"].items()}


def baseline(clients: int, seconds: float) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "tools.bench.sim_baseline", "--clients", str(clients),
                          "--seconds", str(seconds)], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="sim-benchmark")
    p.add_argument("--steady-s", type=float, default=60.0)
    p.add_argument("--sizes", default="1000,1500,2000,2500", help="smaller emergencies, to see where p99 <= 1 s holds")
    p.add_argument("--skip-15k", action="store_true")
    p.add_argument("--skip-baseline", action="store_true")
    a = p.parse_args()
    out = Path(a.out)
    results: dict[str, Any] = {"machine": {"cores": __import__("os").cpu_count()}}

    def save() -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "benchmark.json").write_text(json.dumps(results, indent=1), encoding="utf-8")

    results["steady_4911"] = steady(run(out, "steady-4911", scenario="steady", duration_s=a.steady_s))
    save()
    results["emergency_4911"] = emergency(run(out, "emergency-4911", scenario="emergency"))
    save()
    results["emergency_smaller"] = [emergency(run(out, f"emergency-{n}", scenario="emergency", clusters=int(n)))
                                    for n in a.sizes.split(",") if n]
    save()
    results["storm_4911"] = storm(run(out, "storm-4911", scenario="storm"))
    save()
    if not a.skip_15k:
        results["one_shard_15000"] = steady(run(out, "steady-15000-one-shard", scenario="steady", clusters=15_000,
                                                shards=1, duration_s=a.steady_s))
        save()
    if not a.skip_baseline:
        results["thread_per_client_baseline"] = baseline(1000, 30)
        save()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""A/B benchmark of the fleet simulator between two checkouts of Loa: the same `loa sim` scenario run alternately
from each, in the same hour, and the medians compared (DESIGN: a performance figure is the median of at least five
runs, alternating with its baseline).

Run: .venv/bin/python -m tools.bench.sim_ab --base /path/to/old/checkout [--new .] [--runs 5] [--clusters 4911]
Must not import the agent or the simulator: each run is a separate process on its own checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def run_once(checkout: Path, clusters: int, out: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, "-m", "tools.cli", "sim", "--clusters", str(clusters), "--scenario", "emergency",
           "--report", str(out)]
    subprocess.run(cmd, cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL, timeout=600)
    report = json.loads((out / "report.json").read_text())
    section = report.get("results", report)
    emergency = _find(section, "emergency")
    latency = _find(section, "started_latency_ms")
    return {"p99_ms": float(latency["p99"]), "max_ms": float(latency["max"]),
            "started": float(_find(section, "started_acks")),
            "sim_cpu_ms_per_unit": float(emergency["sim_cpu_ms_per_unit"])}


def _find(tree: Any, key: str) -> Any:
    """The first value under `key` anywhere in the report (plain JSON, so its shape is not typed)."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        for value in tree.values():
            try:
                return _find(value, key)
            except KeyError:
                continue
    raise KeyError(key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the baseline checkout")
    parser.add_argument("--new", type=Path, default=Path.cwd(), help="the checkout under test (default: here)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clusters", type=int, default=4911)
    args = parser.parse_args(argv)
    rows: dict[str, list[dict[str, float]]] = {"base": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for name in ("base", "new"):
                checkout = (args.base if name == "base" else args.new).resolve()
                result = run_once(checkout, args.clusters, Path(tmp) / f"{name}-{i}")
                rows[name].append(result)
                print(f"run {i + 1} {name}: " + ", ".join(f"{k} {v:g}" for k, v in result.items()), flush=True)
    medians = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in rows.items()}
    for name, m in medians.items():
        print(f"median {name}: " + ", ".join(f"{k} {v:g}" for k, v in m.items()))
    for key in ("p99_ms", "sim_cpu_ms_per_unit"):
        print(f"ratio new/base {key}: {medians['new'][key] / medians['base'][key]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

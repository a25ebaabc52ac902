"""Per-second time series of the whole fleet, merged from the shards' ticks: online units, connects, drops,
messages out (by kind) and in, backlog, and the simulator's CPU. Pure. Must not import paho or the agent.
"""

from __future__ import annotations

from typing import Any


def _by_second(ticks: list[dict[str, Any]], t0: float) -> dict[int, dict[str, Any]]:
    """The last tick of each second, keyed by whole seconds since t0."""
    out: dict[int, dict[str, Any]] = {}
    for tick in ticks:
        out[int(tick["t"] - t0)] = tick
    return out


def _carry(per_second: dict[int, dict[str, Any]], seconds: range) -> list[dict[str, Any]]:
    """A value for every second: a shard whose tick is late keeps its previous one."""
    rows: list[dict[str, Any]] = []
    last: dict[str, Any] = {}
    for s in seconds:
        last = per_second.get(s, last)
        rows.append(last)
    return rows


def merge(shard_ticks: list[list[dict[str, Any]]], t0: float) -> dict[str, list[float]]:
    per_shard = [_by_second(ticks, t0) for ticks in shard_ticks]
    end = max((max(p) for p in per_shard if p), default=-1)
    seconds = range(end + 1)
    rows = [_carry(p, seconds) for p in per_shard]
    series: dict[str, list[float]] = {"t": [float(s) for s in seconds]}
    series["online"] = [sum(r[i].get("online", 0) for r in rows) for i in range(len(seconds))]
    series["backlog"] = [sum(r[i].get("backlog", 0) for r in rows) for i in range(len(seconds))]
    for name, key in (("connects_per_s", "connects"), ("attempts_per_s", "attempts"), ("drops_per_s", "downs"),
                      ("in_per_s", "in")):
        series[name] = _rate([[r[i].get(key, 0) for i in range(len(seconds))] for r in rows])
    kinds = sorted({k for r in rows for row in r for k in row.get("out", {})})
    for kind in kinds:
        series[f"out_{kind}_per_s"] = _rate([[row.get("out", {}).get(kind, 0) for row in r] for r in rows])
    series["out_per_s"] = [sum(series[f"out_{k}_per_s"][i] for k in kinds) for i in range(len(seconds))]
    series["sim_cpu_pct"] = [100 * v for v in _rate([[row.get("cpu_s", 0.0) for row in r] for r in rows])]
    return series


def _rate(cumulative_per_shard: list[list[float]]) -> list[float]:
    """Sum over shards of the per-second increase of a cumulative counter."""
    n = len(cumulative_per_shard[0]) if cumulative_per_shard else 0
    out = [0.0] * n
    for values in cumulative_per_shard:
        for i in range(1, n):
            out[i] += max(0.0, values[i] - values[i - 1])
    return [round(v, 3) for v in out]

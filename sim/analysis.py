"""Numbers from raw observations: ack latencies from the scheduled send time, the connect curve, recovery after a
broker restart, peak rates, CDF and histogram points for plots. Pure. Must not import paho or the agent.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

from sim import hist
from sim.observer import Report

CURVE_POINTS = 400


def first_acks(reports: Iterable[Report], jti: str, state: str) -> dict[str, float]:
    """Device -> arrival time at the server of its first ack in `state` for command `jti`."""
    out: dict[str, float] = {}
    for r in reports:
        if r.kind == "ack" and r.body.get("jti") == jti and r.body.get("state") == state and r.device not in out:
            out[r.device] = r.t
    return out


def latency_block(arrivals: dict[str, float], t_sched: float) -> dict[str, Any]:
    """Percentiles (HdrHistogram), a CDF and a histogram of arrival - scheduled send time, in ms."""
    values = sorted((t - t_sched) * 1000 for t in arrivals.values())
    return {"summary": hist.summary_ms(hist.of_ms(values)), "cdf": cdf(values), "histogram": histogram(values)}


def cdf(sorted_values: list[float], points: int = 200) -> list[list[float]]:
    n = len(sorted_values)
    if n == 0:
        return []
    idx = sorted({min(n - 1, round(k * (n - 1) / points)) for k in range(points + 1)})
    return [[round(sorted_values[i], 2), round((i + 1) / n, 5)] for i in idx]


def histogram(values: list[float], bins: int = 50) -> dict[str, list[float]]:
    if not values:
        return {"edges": [], "counts": []}
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    return {"edges": [round(lo + k * width, 2) for k in range(bins + 1)], "counts": [float(c) for c in counts]}


def first_per_unit(times: list[float], units: list[int], after: float) -> dict[int, float]:
    """Each unit's first link-up at or after `after`."""
    out: dict[int, float] = {}
    for t, u in sorted(zip(times, units)):
        if t >= after and u not in out:
            out[u] = t
    return out


def cumulative_curve(times: list[float], t_ref: float, points: int = CURVE_POINTS) -> list[list[float]]:
    """[seconds since t_ref, how many so far], thinned to about `points` points."""
    ts = sorted(t - t_ref for t in times)
    step = max(1, len(ts) // points)
    curve = [[round(ts[i], 3), float(i + 1)] for i in range(0, len(ts), step)]
    if ts and curve[-1][1] != len(ts):
        curve.append([round(ts[-1], 3), float(len(ts))])
    return curve


def rate_curve(times: list[float], t_ref: float, span_s: float, bucket_s: float = 1.0) -> list[list[float]]:
    """[bucket start since t_ref, events per second in that bucket] over [0, span_s)."""
    n = max(1, int(span_s / bucket_s))
    counts = [0] * n
    for t in times:
        k = int((t - t_ref) / bucket_s)
        if 0 <= k < n:
            counts[k] += 1
    return [[round(k * bucket_s, 3), round(c / bucket_s, 1)] for k, c in enumerate(counts)]


def peak_rate(times: list[float], t_from: float, t_to: float, window_s: float) -> float:
    """The most events in any window of `window_s` (sliding, anchored at events), per second."""
    ts = sorted(t for t in times if t_from <= t <= t_to)
    best = 0
    for i, t in enumerate(ts):
        best = max(best, bisect.bisect_right(ts, t + window_s) - i)
    return round(best / window_s, 1)


def time_to_fraction(firsts: dict[int, float], t_ref: float, n: int, fraction: float) -> float | None:
    need = max(1, int(-(-n * fraction // 1)))
    ts = sorted(firsts.values())
    return round(ts[need - 1] - t_ref, 3) if len(ts) >= need else None


def recovery(times: list[float], units: list[int], attempts: list[float], t_down: float, t_back: float, n: int,
             within_s: float = 30.0) -> dict[str, Any]:
    """How the fleet came back after the broker did: share back within `within_s`, time to 99 % and to all, and
    the peak connect and attempt rates."""
    firsts = first_per_unit(times, units, t_back)
    back = sum(1 for t in firsts.values() if t - t_back <= within_s)
    span = max([t - t_down for t in firsts.values()] + [within_s]) + 2
    return {
        "broker_down_s": round(t_back - t_down, 2), "units": n, "back": len(firsts),
        f"back_within_{within_s:g}s": back, f"back_within_{within_s:g}s_pct": round(100 * back / n, 2),
        "time_to_99pct_s": time_to_fraction(firsts, t_back, n, 0.99),
        "time_to_all_s": time_to_fraction(firsts, t_back, n, 1.0),
        "peak_connects_per_s": peak_rate(times, t_back, t_back + span, 1.0),
        "peak_connects_per_s_100ms": peak_rate(times, t_back, t_back + span, 0.1),
        "peak_attempts_per_s": peak_rate(attempts, t_down, t_back + span, 1.0),
        "attempts_while_down": sum(1 for t in attempts if t_down <= t < t_back),
        "connects_curve": rate_curve(times, t_down, span, 0.5),
        "attempts_curve": rate_curve(attempts, t_down, span, 0.5),
        "back_curve": cumulative_curve(list(firsts.values()), t_down),
    }


def spread(values: list[float]) -> dict[str, float | int]:
    """Exact percentiles of a small sample that may be negative (e.g. start offsets of skewed clocks), in ms."""
    v = sorted(values)
    if not v:
        return {"count": 0}

    def at(p: float) -> float:
        return round(v[min(len(v) - 1, int(p / 100 * len(v)))], 2)

    return {"count": len(v), "min": round(v[0], 2), "p1": at(1), "p50": at(50), "p95": at(95), "p99": at(99),
            "max": round(v[-1], 2)}

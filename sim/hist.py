"""Latency histograms: HdrHistogram (the `hdrhistogram` package) in microseconds, 3 significant digits, 1 us to
1 hour. Shards send theirs encoded; the controller adds them up. Must not import paho or the agent.
"""

from __future__ import annotations

from collections.abc import Iterable

from sim import extra

try:
    from hdrh.histogram import HdrHistogram
except ImportError as exc:
    raise extra.error(exc) from exc

LOWEST_US, HIGHEST_US, DIGITS = 1, 3_600_000_000, 3
PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


def new() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def record_ms(h: HdrHistogram, ms: float) -> None:
    h.record_value(min(HIGHEST_US, max(LOWEST_US, int(ms * 1000))))


def of_ms(values: Iterable[float]) -> HdrHistogram:
    h = new()
    for v in values:
        record_ms(h, v)
    return h


def encode(h: HdrHistogram) -> str:
    return str(h.encode().decode("ascii"))


def merged(encoded: Iterable[str]) -> HdrHistogram:
    total = new()
    for text in encoded:
        if text:
            total.decode_and_add(text.encode("ascii"))
    return total


def summary_ms(h: HdrHistogram) -> dict[str, float | int]:
    """count, min, p50, p90, p95, p99, p99.9, max and mean in milliseconds (within 0.1 %, HdrHistogram's precision)."""
    if h.get_total_count() == 0:
        return {"count": 0}
    out: dict[str, float | int] = {"count": h.get_total_count(), "min": round(h.get_min_value() / 1000, 2)}
    for p in PERCENTILES:
        out[f"p{p:g}".replace(".", "_")] = round(h.get_value_at_percentile(p) / 1000, 2)
    out["max"] = round(h.get_max_value() / 1000, 2)
    out["mean"] = round(h.get_mean_value() / 1000, 2)
    return out

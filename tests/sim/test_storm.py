"""`loa sim --scenario storm` for real: the broker restarts twice; with full jitter the fleet comes back spread out,
with the naive backoff it stampedes."""

from __future__ import annotations

from pathlib import Path

from tests.sim.helpers import loa_sim


def test_jitter_brings_everyone_back_spread_out_and_naive_stampedes(tmp_path: Path) -> None:
    r = loa_sim(tmp_path, "--clusters", "150", "--scenario", "storm", "--storm-down-s", "2",
                "--reconnect-max-s", "4")
    jitter, naive = r["storm"]["jitter"], r["storm"]["naive"]
    assert jitter["back"] == naive["back"] == 150
    assert jitter["back_within_30s_pct"] == 100.0 and naive["back_within_30s_pct"] == 100.0
    assert naive["peak_connects_per_s_100ms"] >= 3 * jitter["peak_connects_per_s_100ms"]
    assert r["totals"]["reconnects"] >= 300

"""The gateway benchmark at CI size (200 units, pings every 5 s): the simulated fleet, `loa broker`, the real gateway
and the real HTTTN emulator. Every unit pings and counts as connected; a central bulletin sent once to the province
group starts on every unit, and every unit's bulletin log reaches the HTTTN with the bulletin's origin in it; an
emergency from the console starts everywhere. The full size is `python -m tools.bench.gateway_province`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.bench.gateway_province import ORIGIN, Bench, run, summary

UNITS = 200


@pytest.mark.slow
def test_a_scaled_down_province_pings_and_logs_a_central_bulletin_with_its_origin(tmp_path: Path):
    r = run(Bench(tmp_path, clusters=UNITS, ping_s=5, play_s=5.0, without_gateway=False))
    print(summary(r))
    assert r["indicator"]["all_connected"] and (r["indicator"]["connected"], r["indicator"]["total"]) == (UNITS, UNITS)
    s = r["steady"]
    assert s["connected_min"] == UNITS  # nobody dropped out of the indicator during the window
    assert s["pings_in_window"] >= 0.7 * UNITS * s["window_s"] / 5, s
    c = r["central_bulletin"]
    assert c["started_acks"] == UNITS
    assert c["logs_at_htttn"] == UNITS and c["logs_with_origin"] == UNITS, c
    assert c["origin"] == ORIGIN and c["origin_field"] == "NguonTiepAm"
    assert r["emergency_console"]["started_acks"] == UNITS
    assert r["exit_codes"] == {"gateway": 0, "emulator": 0}

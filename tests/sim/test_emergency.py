"""`loa sim --scenario emergency` for real: 300 clusters on the embedded Mosquitto, a signed province-wide
emergency, every `started` ack timed at the observer from the scheduled send time."""

from __future__ import annotations

from pathlib import Path

from tests.sim.helpers import loa_sim


def test_every_unit_acks_started_and_the_report_holds_ordered_percentiles(tmp_path: Path) -> None:
    r = loa_sim(tmp_path, "--clusters", "300", "--scenario", "emergency")
    assert (r["scenario"], r["clusters"]) == ("emergency", 300)
    assert r["started_acks"] == 300 and r["accepted_acks"] == 300
    lat = r["started_latency_ms"]
    assert 200 <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"] < 10_000  # warm-up is 0.2 s
    assert r["accepted_latency_ms"]["p50"] < lat["p50"]
    assert r["connect"]["connected"] == 300 and r["totals"]["reconnects"] == 0
    assert r["totals"]["plays"]["started"] == 300
    assert r["emergency"]["missing_started"] == []


def test_the_html_report_is_self_contained_with_its_plots(tmp_path: Path) -> None:
    loa_sim(tmp_path, "--clusters", "60", "--scenario", "emergency")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') >= 6
    assert "http://" not in page.replace("https://sim.invalid", "") and "<script" not in page
    assert "p99" in page

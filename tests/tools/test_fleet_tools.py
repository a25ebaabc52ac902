"""`loa status` and `loa playlog` against running agents: the fleet overview per commune, and play logs of a
commune exported to CSV for the province's statistics."""

from __future__ import annotations

import csv
import signal
from pathlib import Path

from province import broker as broker_tool
from province.console import Console
from province.keys import load_signing
from tests.conftest import Broker
from tests.e2e.link_helpers import UnitWatch
from tests.tools.test_staff_logs import console_flags, loa

AUDIO = {"output": "null", "quiet_hours": "off", "warmup_s": 0.1, "tail_s": 0.2}


def status_flags(broker: Broker) -> list[str]:
    password = broker_tool.BrokerDir(broker.dir).password_file(broker_tool.CONSOLE)
    return ["--broker", broker.console_url, "--username", "console", "--password-file", str(password)]


def test_loa_status_shows_online_and_offline_units_per_commune(make_unit, console: Console, broker: Broker):
    up = make_unit(groups=("xa-status", "province"))
    down = make_unit(groups=("xa-status", "province"))
    for unit in (up, down):
        UnitWatch(console, unit).wait_online()
    down.stop(signal.SIGKILL)
    watch = UnitWatch(console, down)
    assert watch.pump(5, lambda: watch.last_status() == {"online": False})
    result = loa("--lang", "vi", "status", *status_flags(broker))
    assert result.returncode == 0, result.stderr
    assert f"mất kết nối: {down.device_id}" in result.stdout
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("xa-status"))
    assert "1 đang hoạt động" in line


def test_loa_playlog_exports_a_communes_plays_to_csv(make_unit, console: Console, broker: Broker, keys: Path,
                                                     tmp_path: Path):
    units = [make_unit(groups=("xa-csv", "province"), audio=AUDIO) for _ in range(2)]
    key = load_signing(keys / "signing.jwk")
    for unit in units:
        watch = UnitWatch(console, unit)
        watch.wait_online()
        jti = watch.send(key, "play", {"source": {"tts": "Bản tin thử"}, "title": "Bản tin thử"})
        assert watch.wait_acks(jti, {"finished", "failed"}, timeout=20)[-1] == "finished"
    out = tmp_path / "plays.csv"
    result = loa("playlog", "--group", "xa-csv", "--expect", "2", "--out", str(out), *console_flags(broker, keys),
                 "--lang", "vi")
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads the Vietnamese as UTF-8 only with a BOM
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig", newline=""), delimiter=";"))
    assert sorted(r["Cụm loa"] for r in rows) == sorted(u.device_id for u in units)
    assert all(r["Kết quả"] == "hoàn thành" and r["Tiêu đề"] == "Bản tin thử" and r["Bắt đầu"] for r in rows)

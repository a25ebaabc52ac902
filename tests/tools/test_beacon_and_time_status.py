"""`loa beacon` (the signed time beacon, long-running) and the time column of `loa status`: each unit's time
source and offset, and the units without a trusted time, in Vietnamese and English."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from province.console import Console
from tests.conftest import REPO, Broker
from tests.tools.test_fleet_tools import status_flags
from tests.tools.test_staff_logs import console_flags, loa

STATUSES = {
    "tg-ntp": {"online": True, "groups": ["xa-tg"], "clock_synced": True,
               "time": {"trusted": True, "source": "ntp", "offset_ms": 12}},
    "tg-beacon": {"online": True, "groups": ["xa-tg"], "clock_synced": True,
                  "time": {"trusted": True, "source": "beacon", "offset_ms": -1_735_000_000_000}},
    "tg-none": {"online": True, "groups": ["xa-tg"], "clock_synced": False,
                "time": {"trusted": False, "source": None, "offset_ms": 0}},
    "tg-old": {"online": True, "groups": ["xa-tg"], "clock_synced": False},
}


def publish_statuses(console: Console, statuses: dict[str, dict[str, object]]) -> None:
    for dev, status in statuses.items():
        console.publish(console.topics.report(dev, "status"), json.dumps(status), retain=True)


def test_loa_status_shows_time_sources_and_lists_units_without_a_trusted_time(console: Console, broker: Broker):
    publish_statuses(console, STATUSES)
    try:
        vi = loa("--lang", "vi", "status", *status_flags(broker))
        en = loa("--lang", "en", "status", *status_flags(broker))
    finally:
        for dev in STATUSES:
            console.publish(console.topics.report(dev, "status"), b"", retain=True)
    assert vi.returncode == 0 and en.returncode == 0, vi.stderr + en.stderr
    assert "2 cụm loa chưa có giờ tin cậy: tg-none, tg-old" in vi.stdout
    assert "2 units without a trusted time: tg-none, tg-old" in en.stdout
    assert "time of tg-ntp: ntp, offset +0.0 s" in en.stdout
    assert "giờ của tg-beacon: nguồn tín hiệu giờ của tỉnh, lệch -481944.4 h" in vi.stdout
    assert "time of tg-old: NOT TRUSTED" in en.stdout


def test_loa_beacon_refuses_a_bad_group_name_before_connecting(broker: Broker, keys: Path):
    result = loa("--lang", "en", "beacon", "--group", "province", "--group", "xa/ha", *console_flags(broker, keys))
    assert result.returncode == 2
    assert "loa: --group: 'xa/ha' is not a group name" in result.stdout
    never = loa("--lang", "en", "beacon", "--group", "province", "--every", "0", "--broker", "mqtt://127.0.0.1:9",
                "--key", str(keys / "signing.jwk"))
    assert never.returncode == 2 and "loa: --every: must be more than 0 s (got 0)" in never.stdout


def test_loa_beacon_without_a_key_says_so(broker: Broker, keys: Path, tmp_path: Path):
    flags = console_flags(broker, keys)
    flags[flags.index("--key") + 1] = str(tmp_path / "missing.jwk")
    result = loa("--lang", "en", "beacon", "--group", "province", *flags)
    assert result.returncode == 2
    assert f"loa: signing key not found: {tmp_path / 'missing.jwk'}" in result.stdout
    omitted = loa("beacon", "--group", "province", "--broker", broker.console_url)
    assert omitted.returncode == 2 and "--key" in omitted.stderr


def test_loa_beacon_sends_until_sigterm_one_line_per_beacon(console: Console, broker: Broker, keys: Path):
    console.subscribe(console.topics.group_command("xa-beacon-cli"))
    proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "--lang", "vi", "beacon", "--group", "xa-beacon-cli",
                             "--every", "0.5", *console_flags(broker, keys)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    got = [m for m in console.messages(time.monotonic() + 3.0) if m[0].endswith("xa-beacon-cli/cmd")]
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    sent = [ln for ln in out.splitlines() if ln.startswith("Đã gửi tín hiệu thời gian tới xa-beacon-cli")]
    assert len(got) >= 4 and len(sent) >= len(got)
    assert f"Đã dừng tín hiệu thời gian sau {len(sent)} lần gửi" in out

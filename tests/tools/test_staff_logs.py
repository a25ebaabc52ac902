"""`loa logs` against a running agent: plain Vietnamese (diacritics exact) or English, with filters."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
import unicodedata
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey

from province import broker as broker_tool
from province import staff
from province.console import Console
from province.keys import load_signing
from tests.conftest import REPO, Broker, Unit
from tests.e2e.link_helpers import UnitWatch


def loa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cli", *args], capture_output=True, text=True, timeout=60,
                          cwd=REPO, check=False)


def console_flags(broker: Broker, keys: Path) -> list[str]:
    password = broker_tool.BrokerDir(broker.dir).password_file(broker_tool.CONSOLE)
    return ["--key", str(keys / "signing.jwk"), "--broker", broker.console_url, "--username", "console",
            "--password-file", str(password)]


def test_loa_logs_shows_plain_vietnamese_and_english(make_unit, console: Console, broker: Broker, keys: Path):
    unit = make_unit()
    watch = UnitWatch(console, unit)
    watch.wait_online()
    key = load_signing(keys / "signing.jwk")
    jti = watch.send(key, "relay", {"zone": 1, "on": True, "for_s": 0.5})
    watch.wait_acks(jti, {"finished"})
    forged = OKPKey.generate_key("Ed25519", auto_kid=True)
    watch.wait_acks(watch.send(forged, "ping", {}), {"rejected"})

    vi = loa("--lang", "vi", "logs", unit.device_id, *console_flags(broker, keys))
    assert vi.returncode == 0, vi.stderr
    text = unicodedata.normalize("NFC", vi.stdout)
    assert unicodedata.normalize("NFC", "Thử rơ-le: bật vùng 1 trong 0.5 giây") in text
    assert unicodedata.normalize("NFC", "Đã kết nối với hệ thống thông tin nguồn của tỉnh") in text
    assert "CẢNH BÁO" in text and "Đã từ chối lệnh ping: unknown_key" in text

    en = loa("--lang", "en", "logs", unit.device_id, "--level", "warning", *console_flags(broker, keys))
    assert en.returncode == 0 and "Refused command ping: unknown_key" in en.stdout
    assert "Relay test" not in en.stdout  # below the asked level

    grep = loa("--lang", "en", "logs", unit.device_id, "--grep", "zone 1 off", *console_flags(broker, keys))
    assert [ln for ln in grep.stdout.splitlines() if ln.strip()] and all("zone 1 off" in ln for ln in grep.stdout.splitlines() if ln.strip())


def test_loa_logs_says_clearly_when_the_unit_is_silent(broker: Broker, keys: Path):
    result = loa("--lang", "en", "logs", "nobody-here", "--wait", "1", *console_flags(broker, keys))
    assert result.returncode == 1 and "nobody-here did not answer within 1.0 s" in result.stdout


AUDIO = {"output": "null", "quiet_hours": "off", "warmup_s": 0.1, "tail_s": 0.2}  # as tests/tools/test_fleet_tools.py


def staff_flags(broker: Broker, unit: Unit) -> list[str]:
    """A commune officer's credentials (`loa staff add`) for the unit's commune, and no signing key at all."""
    name = f"staff-{unit.device_id}"
    password = staff.add(broker.dir, name, unit_commune(unit))
    return ["--broker", broker.url, "--username", name, "--password-file", str(password)]


def unit_commune(unit: Unit) -> str:
    return next(g for g in unit.config.read_text().split('"') if g.startswith("xa-"))


def staff_unit(make_unit: Callable[..., Unit], console: Console, **extra: Any) -> tuple[Unit, UnitWatch]:
    tag = uuid.uuid4().hex[:6]
    unit = make_unit(f"st-{tag}", groups=(f"xa-{tag}", "province"), **extra)
    watch = UnitWatch(console, unit)
    watch.wait_online()
    return unit, watch


def clear_status(console: Console, unit: Unit) -> None:
    unit.stop()
    console.publish(console.topics.report(unit.device_id, "status"), b"", retain=True)


def test_loa_logs_and_playlog_work_with_staff_credentials_and_no_key(make_unit, console: Console, broker: Broker,
                                                                     keys: Path, tmp_path: Path):
    unit, watch = staff_unit(make_unit, console, audio=AUDIO)
    jti = watch.send(load_signing(keys / "signing.jwk"), "play", {"source": {"tts": "Bản tin thử"}, "title": "Bản tin thử"})
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=20)[-1] == "finished"
    flags = staff_flags(broker, unit)
    try:
        vi = loa("--lang", "vi", "logs", unit.device_id, *flags)
        assert vi.returncode == 0, vi.stdout + vi.stderr
        assert unicodedata.normalize("NFC", "Đã kết nối với hệ thống thông tin nguồn của tỉnh") in \
            unicodedata.normalize("NFC", vi.stdout)
        time.sleep(10)  # the unit answers once per 10 s
        out = tmp_path / "plays.csv"
        played = loa("--lang", "en", "playlog", "--group", unit_commune(unit), "--out", str(out), *flags)
        assert played.returncode == 0, played.stdout + played.stderr
        rows = list(csv.DictReader(out.open(encoding="utf-8-sig"), delimiter=";"))
        assert [(r["Unit"], r["Command id"]) for r in rows] == [(unit.device_id, jti)], rows  # English headers
    finally:
        staff.revoke(broker.dir, f"staff-{unit.device_id}")
        clear_status(console, unit)


def test_the_log_request_is_rate_limited_on_a_real_unit(make_unit, console: Console, broker: Broker):
    unit, _ = staff_unit(make_unit, console)
    flags = staff_flags(broker, unit)
    try:
        first = loa("--lang", "en", "logs", unit.device_id, "--wait", "5", *flags)
        second = loa("--lang", "en", "logs", unit.device_id, "--wait", "3", *flags)
        assert first.returncode == 0 and "Connected to the provincial server" in first.stdout, first.stdout
        assert second.returncode == 1 and "less than 10 s ago" in second.stdout, second.stdout
    finally:
        staff.revoke(broker.dir, f"staff-{unit.device_id}")
        clear_status(console, unit)


def test_a_units_staff_log_survives_a_restart(make_unit, console: Console, broker: Broker, keys: Path):
    unit, watch = staff_unit(make_unit, console)
    key = load_signing(keys / "signing.jwk")
    watch.wait_acks(watch.send(key, "relay", {"zone": 1, "on": True, "for_s": 0.5}), {"finished"})
    time.sleep(0.5)
    unit.stop()  # SIGTERM: the agent stops as systemd stops it, then starts again
    unit.start()
    watch.seen.clear()
    watch.wait_online()
    flags = staff_flags(broker, unit)
    try:
        after = loa("--lang", "en", "logs", unit.device_id, *flags)
        lines = after.stdout.splitlines()
        assert after.returncode == 0, after.stdout + after.stderr
        assert any("Relay test: zone 1 on for 0.5 s" in ln for ln in lines), after.stdout  # from before the restart
        assert sum("started on unit" in ln for ln in lines) == 2, after.stdout  # both runs
        assert any("Agent stopping; all relays off" in ln for ln in lines), after.stdout
    finally:
        staff.revoke(broker.dir, f"staff-{unit.device_id}")
        clear_status(console, unit)

"""`loa logs` against a running agent: plain Vietnamese (diacritics exact) or English, with filters."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

from joserfc.jwk import OKPKey

from province import broker as broker_tool
from province.console import Console
from province.keys import load_signing
from tests.conftest import REPO, Broker
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

"""What the province's HTTTN asks of a unit, end to end with a real agent process, a real broker, espeak-ng and
libVLC: its status and heartbeat carry location, health (temperature, mains, amplifier power, storage) and link,
read by the real sensor adapter over a fake kernel tree (agent.fakes.sysfs; gpiozero's mock pins for the mains
input); a play's log echoes its bulletin metadata; a signed reboot makes the agent exit with the code systemd
turns into a reboot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.core.schemas import validator
from agent.fakes.sysfs import FakeSysfs
from agent.runtime.agent_runtime import REBOOT_EXIT
from province.keys import load_signing
from tests.conftest import wait_until
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.sound_helpers import FAST_POWER

BULLETIN = {"id": "BT-2026-0042", "title": "Phòng chống bão số 9", "field": "2", "summary": "Bão số 9 đổ bộ…",
            "author": {"name": "Nguyễn Văn A"}, "source": "Đài PT-TH tỉnh", "produced_at": "2026-12-07T08:00:00+07:00",
            "origin": "central"}


def valid(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    assert not list(validator(kind).iter_errors(body)), body
    return body


def test_status_heartbeat_playlog_and_reboot_of_a_real_agent(make_unit, console, keys: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fs = FakeSysfs(tmp_path / "sysroot")
    fs.temp_c(47.5)
    fs.amp_w(33.3)
    fs.default_route("wwan0")
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")  # no GPIO chip here: the mains input reads low
    unit = make_unit(audio={"output": "wav:wavs", "quiet_hours": "off", **FAST_POWER},
                     device={"location": [13.9876, 107.9543]}, reports={"heartbeat_s": 5},
                     hardware={"monitor": "pi-mains-ina219", "sysfs_root": str(fs.root), "sensors_poll_s": 5})
    watch = UnitWatch(console, unit)
    console.subscribe(console.topics.report(unit.device_id, "playlog"))
    watch.wait_online(timeout=20)

    assert watch.pump(15, lambda: watch.last_status().get("link", {}).get("type") == "cellular"), unit.output()
    status = valid("status", watch.last_status())
    assert status["location"] == {"lat": 13.9876, "lon": 107.9543}
    health = status["health"]
    assert (health["temp_c"], health["mains"], health["amp_w"]) == (47.5, False, 33.3)
    assert 0 < health["storage"]["used_bytes"] <= health["storage"]["total_bytes"]

    fs.temp_c(61.0)  # the heartbeat carries the newest reading; the status is not republished for it
    assert watch.pump(20, lambda: any(h.get("health", {}).get("temp_c") == 61.0 for h in watch.of("hb")))
    hb = valid("heartbeat", next(h for h in watch.of("hb") if h["health"]["temp_c"] == 61.0))
    assert hb["link"] == {"type": "cellular", "signal_dbm": None} and hb["location"]["lat"] == 13.9876

    key = load_signing(keys / "signing.jwk")
    jti = watch.send(key, "play", {"source": {"tts": "Thông báo phòng chống bão", "lang": "vi"}, "bulletin": BULLETIN})
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=30)[-1] == "finished", watch.acks(jti)
    assert watch.pump(5, lambda: bool(watch.of("playlog")))
    log = valid("playlog", watch.of("playlog")[0])
    assert log["jti"] == jti and log["bulletin"] == BULLETIN

    reboot = watch.send(key, "reboot", {"delay_s": 2, "reason": "e2e"})
    assert watch.wait_acks(reboot, {"finished"}, timeout=15) == ["accepted", "finished"]
    assert unit.proc is not None
    assert wait_until(lambda: unit.proc.poll() is not None, timeout=20), unit.output()
    assert unit.proc.returncode == REBOOT_EXIT, unit.output()

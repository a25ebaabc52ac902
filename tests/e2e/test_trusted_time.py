"""Trusted time with real agent processes: a unit whose clock boots at 1970, at a saved time a year old or ten years
ahead (the test hook LOA_TEST_CLOCK_OFFSET_FILE; a moved clock is not synchronised) takes the true time from the
cellular network (a scripted modem) or from NTP (a real chronyd), says so in its status, and plays a programme slot
set in true local time at the right true time. Without any source its time stays untrusted."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent import i18n
from agent.adapters.system.system_clock import OFFSET_ENV
from agent.fakes.scripted_modem import ScriptedModem
from province.console import Console
from province.keys import load_signing
from tests.chrony import Chronyd
from tests.conftest import Unit, wait_until
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.sound_helpers import file_source
from tests.e2e.time_helpers import BOOTS, TZ

SLOT_LEAD_S = 25  # the slot is set this far ahead in true local time (room for the store and schedule acks)


def modem_sections(modem: ScriptedModem) -> dict[str, Any]:
    return {"hardware": {"modem": "quectel-ec25", "modem_url": modem.path, "modem_poll_s": 5}}


def trusted_status(watch: UnitWatch, timeout: float = 20) -> dict[str, Any]:
    watch.wait_online(15)
    assert watch.pump(timeout, lambda: watch.last_status().get("clock_synced") is True), watch.unit.output()
    return watch.last_status()


def assert_true_time(ms: int, within_s: float = 5) -> None:
    assert abs(ms / 1000 - time.time()) < within_s, f"{ms / 1000 - time.time():+.1f} s from the true time"


@pytest.mark.parametrize("boot", sorted(BOOTS))
def test_network_time_makes_the_programme_play_at_the_true_local_time(
    booted: Callable[..., Unit], modem: ScriptedModem, console: Console, keys: Path, http_server, media, boot: str
) -> None:
    offset_s = BOOTS[boot]()
    unit = booted(offset_s, **modem_sections(modem))
    watch = UnitWatch(console, unit)
    console.subscribe(console.topics.report(unit.device_id, "playlog"))
    status = trusted_status(watch)
    assert_true_time(status["ts"])  # the unit's own clock is years off: this is the corrected time
    assert status["time"]["trusted"] is True and status["time"]["source"] == "network"
    assert abs(status["time"]["offset_ms"] + offset_s * 1000) < 3000
    key = load_signing(keys / "signing.jwk")
    stored = watch.send(key, "store", {"id": "morning", **file_source(http_server, "m.mp3", media["mp3"].read_bytes())})
    assert watch.wait_acks(stored, {"finished", "failed", "rejected"}, timeout=15)[-1] == "finished", unit.output()
    slot_at = (datetime.now(TZ) + timedelta(seconds=SLOT_LEAD_S)).replace(microsecond=0)
    sched = watch.send(key, "schedule", {"version": 1, "slots": [
        {"at": f"{slot_at:%H:%M:%S}", "source": {"ref": "morning"}, "title": "Chương trình buổi sáng"}]})
    assert watch.wait_acks(sched, {"finished", "rejected"}) == ["accepted", "finished"], unit.output()
    wavs = wait_until(lambda: list((unit.dir / "wavs").glob("slot-1-0-*.wav")), SLOT_LEAD_S + 15, step=0.05)
    played_at = time.time()
    assert wavs, f"the slot set for {slot_at:%H:%M:%S} true local time did not play\n{unit.output()}"
    assert -1.0 < played_at - slot_at.timestamp() < 4.0  # warm-up 0.2 s, the file appears as decoding starts
    unit_s = int(wavs[0].name.removesuffix(".wav").rsplit("-", 1)[1])  # the unit's own time when the slot started
    assert abs(unit_s - slot_at.timestamp()) <= 2
    assert watch.pump(20, lambda: any(p.get("jti") is None for p in watch.of("playlog")))
    log = next(p for p in watch.of("playlog") if p.get("jti") is None)
    assert log["result"] == "completed" and abs(log["started_ts"] / 1000 - slot_at.timestamp()) < 3, log


@pytest.mark.parametrize("boot", sorted(BOOTS))
def test_ntp_from_a_real_chronyd_gives_the_true_time(booted: Callable[..., Unit], console: Console, tmp_path: Path, boot: str) -> None:
    with Chronyd(tmp_path / "chrony") as ntp:
        offset_s = BOOTS[boot]()
        unit = booted(offset_s, time={"ntp_servers": [ntp.server], "ntp_untrusted_poll_s": 2})
        watch = UnitWatch(console, unit)
        status = trusted_status(watch)
        assert_true_time(status["ts"])
        assert status["time"]["trusted"] is True and status["time"]["source"] == "ntp"
        assert abs(status["time"]["offset_ms"] + offset_s * 1000) < 1000


def test_without_any_source_the_time_stays_untrusted(booted: Callable[..., Unit], console: Console) -> None:
    """NTP absent (nothing answers on its port), no modem: the unit's time is its own wrong clock, not trusted."""
    unit = booted(BOOTS["1970"]())
    watch = UnitWatch(console, unit)
    watch.wait_online(15)
    watch.pump(8)
    statuses = watch.of("status")
    assert statuses and all(s.get("clock_synced") is False for s in statuses if s.get("online"))
    assert watch.last_status()["ts"] / 1000 < 2 * 86400 + 60  # still 1970: nothing vouched for another time
    assert watch.last_status()["time"] == {"trusted": False, "source": None, "offset_ms": 0}


def test_no_nitz_no_time_then_the_network_time_arrives(booted: Callable[..., Unit], modem: ScriptedModem, console: Console) -> None:
    """A modem that has not heard NITZ yet gives nothing; once it has, the unit's time is trusted."""
    modem.script.network_offset_s = None
    unit = booted(BOOTS["a year old"](), **modem_sections(modem))
    watch = UnitWatch(console, unit)
    watch.wait_online(15)
    assert wait_until(lambda: "AT+QLTS=1" in modem.received, 10), unit.output()
    watch.pump(4)
    assert watch.last_status().get("clock_synced") is False
    modem.script.network_offset_s = 0.0
    status = trusted_status(watch, timeout=20)
    assert_true_time(status["ts"])


def test_without_a_trusted_time_the_programme_waits_and_an_emergency_plays(
    booted: Callable[..., Unit], modem: ScriptedModem, console: Console, keys: Path, http_server, media
) -> None:
    """No source (the modem has heard no NITZ, NTP absent): a slot due in true local time does not play and an
    emergency does; when the network's time arrives, the slot that just passed plays (within the grace)."""
    modem.script.network_offset_s = None
    unit = booted(BOOTS["a year old"](), **modem_sections(modem))
    watch = UnitWatch(console, unit)
    watch.wait_online(15)
    key = load_signing(keys / "signing.jwk")
    stored = watch.send(key, "store", {"id": "morning", **file_source(http_server, "m.mp3", media["mp3"].read_bytes())})
    assert watch.wait_acks(stored, {"finished", "failed", "rejected"}, timeout=15)[-1] == "finished", unit.output()
    slot_at = (datetime.now(TZ) + timedelta(seconds=12)).replace(microsecond=0)
    sched = watch.send(key, "schedule", {"version": 1, "slots": [
        {"at": f"{slot_at:%H:%M:%S}", "source": {"ref": "morning"}, "title": "Chương trình buổi sáng"}]})
    assert watch.wait_acks(sched, {"finished", "rejected"}) == ["accepted", "finished"], unit.output()
    watch.pump(max(0.0, slot_at.timestamp() - time.time()) + 6)
    assert not list((unit.dir / "wavs").glob("slot-*.wav")), "the programme played on an untrusted time"
    assert watch.last_status()["time"]["trusted"] is False
    assert i18n.render("vi", "time_untrusted", {}) in unit.output()  # the staff log line says why
    emergency = watch.send(key, "play", {"source": {"tts": "Khẩn cấp"}, "priority": "emergency"})
    assert "started" in watch.wait_acks(emergency, {"started", "failed", "rejected"}, timeout=20), unit.output()
    modem.script.network_offset_s = 0.0
    status = trusted_status(watch, timeout=20)
    assert status["time"]["source"] == "network"
    assert wait_until(lambda: list((unit.dir / "wavs").glob("slot-1-0-*.wav")), 20), unit.output()


def schedule_slot_ahead(watch: UnitWatch, key: Any, http_server: Any, media: dict[str, Path], lead_s: int) -> datetime:
    """Store a bulletin and set a one-slot programme `lead_s` ahead in true local time; the slot's time."""
    stored = watch.send(key, "store", {"id": "morning", **file_source(http_server, "m.mp3", media["mp3"].read_bytes())})
    assert watch.wait_acks(stored, {"finished", "failed", "rejected"}, timeout=15)[-1] == "finished", watch.unit.output()
    slot_at = (datetime.now(TZ) + timedelta(seconds=lead_s)).replace(microsecond=0)
    sched = watch.send(key, "schedule", {"version": 1, "slots": [
        {"at": f"{slot_at:%H:%M:%S}", "source": {"ref": "morning"}, "title": "Chương trình buổi sáng"}]})
    assert watch.wait_acks(sched, {"finished", "rejected"}) == ["accepted", "finished"], watch.unit.output()
    return slot_at


def test_a_step_of_the_system_clock_while_a_slot_is_pending_moves_nothing(
    booted: Callable[..., Unit], modem: ScriptedModem, console: Console, keys: Path, http_server, media
) -> None:
    """The unit's clock boots two hours behind and the network's time corrects it; while a slot is pending, the
    system clock is stepped to the true time (as timesyncd would): the slot plays once, at the true local time."""
    unit = booted(-2 * 3600.0, **modem_sections(modem))
    watch = UnitWatch(console, unit)
    trusted_status(watch)
    slot_at = schedule_slot_ahead(watch, load_signing(keys / "signing.jwk"), http_server, media, SLOT_LEAD_S)
    Path(os.environ[OFFSET_ENV]).write_text("0")  # the step: the system clock now reads the true time
    wavs = wait_until(lambda: list((unit.dir / "wavs").glob("slot-1-0-*.wav")), SLOT_LEAD_S + 15, step=0.05)
    played_at = time.time()
    assert wavs, f"the slot set for {slot_at:%H:%M:%S} true local time did not play\n{unit.output()}"
    assert -1.0 < played_at - slot_at.timestamp() < 4.0
    watch.pump(6)
    assert len(list((unit.dir / "wavs").glob("slot-*.wav"))) == 1  # once: the step armed nothing twice


def test_quiet_hours_are_judged_by_the_corrected_time(
    booted: Callable[..., Unit], modem: ScriptedModem, console: Console, keys: Path, http_server, media
) -> None:
    """Quiet hours around the true local time now; the unit's own clock reads six hours later (outside them). With
    the network's time the unit knows it is quiet: a normal bulletin is refused, an emergency plays."""
    now = datetime.now(TZ)
    window = f"{now - timedelta(minutes=30):%H:%M}-{now + timedelta(minutes=30):%H:%M}"
    unit = booted(6 * 3600.0, audio={"quiet_hours": window}, **modem_sections(modem))
    watch = UnitWatch(console, unit)
    trusted_status(watch)
    key = load_signing(keys / "signing.jwk")
    normal = watch.send(key, "play", {"source": file_source(http_server, "n.mp3", media["mp3"].read_bytes()),
                                      "title": "Bản tin thường"})
    assert watch.wait_acks(normal, {"rejected", "finished", "failed"}, timeout=15) == ["rejected"], unit.output()
    assert watch.acks(normal)[0]["code"] == "quiet_hours"
    emergency = watch.send(key, "play", {"source": {"tts": "Khẩn cấp"}, "priority": "emergency"})
    assert "started" in watch.wait_acks(emergency, {"started", "failed", "rejected"}, timeout=20), unit.output()

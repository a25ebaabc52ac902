"""The co-processor stops answering mid-emergency (the firmware running on the host is paused, its serial link
open and silent): the real agent stays alive, the emergency's audio keeps playing through libVLC into its WAV,
the status shows the fault, and when the co-processor answers again the fault clears and both relays are back on
(its fail-safe cut them while it heard nothing)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import i18n
from firmware.host import HostBoard, HostServer
from province.console import Console
from province.keys import load_signing
from tests.agent.adapters.audio.sound_helpers import make_tone_wav, measure_wav
from tests.conftest import wait_until
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.sound_helpers import file_source, wav_of

AUDIO_S = 20.0
STAGGER_S = 1.5  # zone 2 switches on this long after zone 1: the co-processor is silent by then
PAUSE_S = 4.0  # longer than the firmware's 2 s heartbeat timeout: it cuts the relays when it runs again


class PausableCoproc:
    """The host firmware whose main loop can be stopped: frames then wait unread in its serial link, as on a
    co-processor that hangs."""

    def __init__(self, port: int = 0) -> None:
        self.server = HostServer(port, board=HostBoard(relay_count=4, sensor_count=2))
        self.paused = threading.Event()
        node = self.server.board.node
        step = node.step
        node.step = lambda: None if self.paused.is_set() else step()  # type: ignore[method-assign]
        self.pins = self.server.board.pins

    def on(self, index: int) -> bool:
        return bool(self.pins[index].value())


@pytest.fixture
def coproc() -> Iterator[PausableCoproc]:
    c = PausableCoproc()
    c.server.start()
    yield c
    c.server.stop()


def test_a_silent_coprocessor_mid_emergency_is_a_fault_the_audio_plays_on_and_the_fault_clears(
    make_unit, console: Console, keys: Path, coproc: PausableCoproc, http_server, tmp_path: Path
):
    unit = make_unit(hardware={"relays": "board", "board": "pico-coproc", "serial_url": coproc.server.url,
                               "zones": [1, 2]},
                     audio={"output": "wav:wavs", "quiet_hours": "off", "warmup_s": 0.2, "tail_s": 0.3,
                            "stagger_s": STAGGER_S})
    watch = UnitWatch(console, unit)
    console.subscribe(console.topics.report(unit.device_id, "playlog"))
    watch.wait_online()
    source = file_source(http_server, "alert.wav", make_tone_wav(tmp_path / "alert.wav", AUDIO_S).read_bytes())
    jti = watch.send(load_signing(keys / "signing.jwk"), "play",
                     {"source": source, "priority": "emergency", "title": "Báo động lũ quét", "zones": [1, 2]})
    assert wait_until(lambda: coproc.on(0), 10), unit.output()
    coproc.paused.set()  # zone 1 is on; zone 2's switch and every heartbeat now go unanswered
    assert "started" in watch.wait_acks(jti, {"started", "failed"}, timeout=5), unit.output()
    assert watch.pump(PAUSE_S, lambda: {"coproc", "relay_io"} <= set(watch.last_status().get("errors", []))), \
        (watch.last_status(), unit.output())
    assert unit.proc is not None and unit.proc.poll() is None, "the agent must outlive its co-processor"
    assert not coproc.on(1), "zone 2 was never switched: the co-processor heard nothing"
    coproc.paused.clear()
    assert watch.pump(15, lambda: watch.last_status().get("errors") == []), (watch.last_status(), unit.output())
    assert wait_until(lambda: coproc.on(0) and coproc.on(1), 5), "the commanded relays are on again"
    assert "finished" in watch.wait_acks(jti, {"finished", "failed"}, timeout=AUDIO_S + 10), unit.output()
    played = measure_wav(wav_of(unit, jti))
    assert played.seconds == pytest.approx(AUDIO_S, abs=0.3) and played.rms > 0.2, played
    assert watch.pump(5, lambda: bool(watch.of("playlog")))
    assert watch.of("playlog")[0]["relay_confirmed"] is False  # zone 2 was not on when the audio started
    for key in ("coproc_error", "relay_io_error", "coproc_recovered", "relay_io_recovered"):  # the staff's lines
        line = i18n.render("vi", key, {"reason": "\0"}).split("\0")[0]
        assert line in unit.output(), (key, unit.output())


def test_a_unit_whose_coprocessor_is_silent_at_start_runs_plays_an_emergency_and_takes_it_when_it_answers(
    make_unit, console: Console, keys: Path, coproc: PausableCoproc, http_server, tmp_path: Path
):
    coproc.paused.set()  # before the agent starts: the co-processor is hung (or being flashed)
    unit = make_unit(hardware={"relays": "board", "board": "pico-coproc", "serial_url": coproc.server.url,
                               "zones": [1, 2]},
                     audio={"output": "wav:wavs", "quiet_hours": "off", "warmup_s": 0.2, "tail_s": 0.3})
    watch = UnitWatch(console, unit)
    watch.wait_online(15)  # the agent exited at start before
    assert watch.pump(5, lambda: {"coproc", "relay_io"} <= set(watch.last_status().get("errors", []))), \
        (watch.last_status(), unit.output())
    source = file_source(http_server, "alert.wav", make_tone_wav(tmp_path / "alert.wav", 12.0).read_bytes())
    jti = watch.send(load_signing(keys / "signing.jwk"), "play", {"source": source, "priority": "emergency"})
    assert "started" in watch.wait_acks(jti, {"started", "failed"}, timeout=10), unit.output()
    coproc.paused.clear()
    assert watch.pump(30, lambda: watch.last_status().get("errors") == []), (watch.last_status().get("errors"), watch.last_status(), unit.output())
    assert wait_until(lambda: coproc.on(0) and coproc.on(1), 3), "the emergency's relays are on once it answers"
    assert "finished" in watch.wait_acks(jti, {"finished", "failed"}, timeout=20), unit.output()
    played = measure_wav(wav_of(unit, jti))
    assert played.seconds == pytest.approx(12.0, abs=0.3) and played.rms > 0.2, played


def test_a_coprocessor_whose_link_went_away_is_opened_again_when_it_is_back(
    make_unit, console: Console, keys: Path, coproc: PausableCoproc
):
    unit = make_unit(hardware={"relays": "board", "board": "pico-coproc", "serial_url": coproc.server.url,
                               "zones": [1, 2]},
                     audio={"output": "null", "quiet_hours": "off", "warmup_s": 0.2, "tail_s": 0.3})
    watch = UnitWatch(console, unit)
    watch.wait_online()
    jti = watch.send(load_signing(keys / "signing.jwk"), "relay", {"zone": 2, "on": True, "for_s": 60})
    assert "started" in watch.wait_acks(jti, {"started"})
    assert wait_until(lambda: coproc.on(1), 3), unit.output()
    coproc.server.stop()  # the firmware dies and its link closes (a USB co-processor that reset)
    assert watch.pump(10, lambda: "coproc" in watch.last_status().get("errors", [])), unit.output()
    again = PausableCoproc(port=coproc.server.port)  # back on the same port, all relays off after its reset
    again.server.start()
    try:
        assert watch.pump(20, lambda: watch.last_status().get("errors") == []), (watch.last_status(), unit.output())
        assert wait_until(lambda: again.on(1), 3), "zone 2's relay test is still on: its relay is switched again"
        assert unit.proc is not None and unit.proc.poll() is None
    finally:
        again.server.stop()

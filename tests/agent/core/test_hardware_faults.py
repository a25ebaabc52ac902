"""The core's side of hardware faults (agent.core.hardware_faults), as tables of events -> effects: an adapter's
error is a fault in status and a staff log line, retried with capped backoff until it succeeds; audio for an
emergency plays whatever the relays say, and its play log says the relay was not confirmed."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent.core.effects import Effect, Log, PlayAudio, SetRelay, StartTimer, StopAudio
from agent.core.events import Fault, HardwareFailed, RelayObserved, TimerFired
from agent.core.hardware_faults import RETRY_MAX_S
from tests.agent.core.device_helpers import T0, make_device, relays, sound_device, statuses
from tests.agent.core.test_sound import FILE, send
from tests.agent.core.world import World

STRINGS = Path(__file__).parents[3] / "agent" / "strings"


def log_keys(effects: list[Effect]) -> list[str]:
    return [e.key for e in effects if isinstance(e, Log)]


def timers(effects: list[Effect], name: str) -> list[int]:
    return [e.at_ms for e in effects if isinstance(e, StartTimer) and e.name == name]


# ---- each fault: in status `errors`, a staff line in both languages, cleared by its part ---------------------


@pytest.mark.parametrize("name", ["relay_io", "player", "coproc", "modem", "internal"])
def test_each_hardware_fault_shows_in_status_and_in_a_staff_line(name: str) -> None:
    device = make_device()
    raised = device.handle(Fault(T0 + 1000, name, True, "no reply"))
    assert statuses(raised)[0]["errors"] == [name]
    assert log_keys(raised) == [f"{name}_error"]
    for lang in ("en", "vi"):
        text = tomllib.loads((STRINGS / f"{lang}.toml").read_text(encoding="utf-8"))[f"{name}_error"]
        assert "{reason}" in text, f"{lang}: {name}_error must say why"


# ---- relays --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["set", "read"])
def test_a_failed_relay_operation_is_a_fault_and_is_tried_again_with_the_commanded_state(op: str) -> None:
    device = make_device()
    device.handle(RelayObserved(T0 + 100, 1, False))
    failed = device.handle(HardwareFailed(T0 + 1000, "relays", op, "coproc: no reply", zone=1))
    assert statuses(failed)[0]["errors"] == ["relay_io"]
    assert log_keys(failed) == ["relay_io_error"]
    (due,) = timers(failed, "hw:relays")
    assert T0 + 1000 <= due <= T0 + 2000  # the first retry within RETRY_MIN_S
    assert 1 not in device.state.observed, "a relay whose operation failed is not confirmed"
    assert relays(device.handle(TimerFired(due, "hw:relays"))) == [(1, False)]


def test_the_retry_sends_the_state_commanded_now_not_the_one_that_failed() -> None:
    device = make_device()
    device.handle(HardwareFailed(T0 + 1000, "relays", "set", "x", zone=2))
    device.switch(2, True)  # a later command for the zone, while the retry waits
    assert relays(device.handle(TimerFired(T0 + 3000, "hw:relays"))) == [(2, True)]


def test_retries_back_off_up_to_the_cap_and_the_fault_clears_only_when_nothing_waits() -> None:
    device = make_device()
    now, delays = T0 + 1000, []
    for _ in range(8):
        (due,) = timers(device.handle(HardwareFailed(now, "relays", "set", "x", zone=1)), "hw:relays")
        delays.append(due - now)
        kept = device.handle(Fault(now + 1, "relay_io", False))  # another zone answered meanwhile
        assert "relay_io" in device.state.faults and not log_keys(kept), "a retry still waits: the fault stays"
        now = due
        device.handle(TimerFired(now, "hw:relays"))
    assert max(delays) <= RETRY_MAX_S * 1000
    cleared = device.handle(Fault(now + 10, "relay_io", False))  # the retried switch answered
    assert log_keys(cleared) == ["relay_io_recovered"] and device.state.faults == {}
    (first,) = timers(device.handle(HardwareFailed(now + 20, "relays", "set", "x", zone=1)), "hw:relays")
    assert first - (now + 20) <= 1000, "a new outage starts again from the shortest delay"


def test_the_coprocessor_answering_again_resends_every_relays_commanded_state() -> None:
    device = make_device()
    device.switch(1, True)
    device.handle(Fault(T0 + 1000, "coproc", True, "no reply to HEARTBEAT"))
    back = device.handle(Fault(T0 + 5000, "coproc", False))
    assert relays(back) == [(1, True), (2, False)]  # its fail-safe cut them while it could not hear the agent
    assert log_keys(back) == ["coproc_recovered"] and statuses(back)[0]["errors"] == []


@dataclass
class DeadRelays(World):
    """The core's fake world with relays that do not answer: every switch fails until `heal`, as the runtime
    reports it (HardwareFailed instead of a read-back; a fault clearing after the first switch that works)."""

    dead: bool = True
    failures: list[int] = field(default_factory=list)

    def _do(self, e: Effect) -> None:
        if isinstance(e, SetRelay) and self.dead:
            self.failures.append(e.zone)
            self._later(self.now, HardwareFailed(self.now, "relays", "set", "no reply", zone=e.zone))
            return
        if isinstance(e, SetRelay) and "relay_io" in self.device.state.faults:
            self._later(self.now, Fault(self.now, "relay_io", False))
        super()._do(e)


def test_an_emergency_plays_when_its_relays_do_not_answer_and_its_play_log_says_so() -> None:
    w = DeadRelays(sound_device(), now=T0)
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(T0 + 2500)
    assert w.audio == "e1", "silence is worse: the amplifier may be on through a manual bypass"
    assert "relay_io" in w.device.state.faults and w.failures
    w.run_until(T0 + 10_000)
    assert w.acks("e1") == ["accepted", "started", "finished"]
    assert w.playlogs()[0]["relay_confirmed"] is False


def test_relays_that_answer_again_are_switched_and_the_fault_clears() -> None:
    w = DeadRelays(sound_device(), now=T0)
    w.durations_ms["e1"] = 60_000
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(T0 + 5000)
    w.dead = False
    w.run_until(T0 + 5000 + int(RETRY_MAX_S * 1000) + 1000)
    assert w.relays == {1: True, 2: True} and w.device.state.faults == {}
    assert [line["key"] for line in w.device.state.log_lines][-1] == "relay_io_recovered"


# ---- the player ----------------------------------------------------------------------------------------------


def test_a_play_the_player_refused_is_tried_again_while_its_bulletin_is_current() -> None:
    w = World(sound_device(), now=T0)
    w.durations_ms["e1"] = 60_000
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(T0 + 1600)  # warm-up over: PlayAudio went out
    failed = w.device.handle(HardwareFailed(w.now, "player", "play", "output gone", play_id="e1"))
    assert w.device.status(w.now)["errors"] == ["player"] and log_keys(failed) == ["player_error"]
    (due,) = timers(failed, "hw:player")
    again = w.device.handle(TimerFired(due, "hw:player"))
    assert [(e.play_id, e.volume_pct) for e in again if isinstance(e, PlayAudio)] == [("e1", 100)]


def test_a_play_retry_whose_bulletin_ended_meanwhile_clears_the_fault_instead() -> None:
    w = World(sound_device(), now=T0)
    send(w, "play", {"source": FILE}, "n1")
    w.run_until(T0 + 1600)
    w.device.handle(HardwareFailed(w.now, "player", "play", "output gone", play_id="n1"))
    send(w, "stop", {"jti": "n1"}, "s1")
    gone = w.device.handle(TimerFired(w.now + 2000, "hw:player"))
    assert not [e for e in gone if isinstance(e, PlayAudio)]
    assert log_keys(gone) == ["player_recovered"] and w.device.state.faults == {}


def test_a_failed_stop_is_sent_again() -> None:
    device = sound_device()
    device.handle(HardwareFailed(T0 + 1000, "player", "stop", "x", play_id="n1"))
    assert [e.play_id for e in device.handle(TimerFired(T0 + 3000, "hw:player")) if isinstance(e, StopAudio)] == ["n1"]


def test_a_failed_switch_and_a_failed_read_back_of_one_zone_are_one_retry() -> None:
    device = make_device()
    device.handle(HardwareFailed(T0 + 1000, "relays", "set", "x", zone=1))
    device.handle(HardwareFailed(T0 + 1001, "relays", "read", "x", zone=1))
    assert relays(device.handle(TimerFired(T0 + 3000, "hw:relays"))) == [(1, False)]

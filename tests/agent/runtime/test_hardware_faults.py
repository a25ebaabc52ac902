"""The runtime with fakes that raise: a relay or player error is the core's fault (status `errors`, a staff line), is
retried until it works, and never ends the loop; an emergency still plays when its relays do not answer."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest

from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.sound import SoundSettings
from agent.core.topics import Topics
from agent.core.verify import Policy, load_trust
from agent.fakes.memstore import Backlog, MemStore
from agent.fakes.player import NullPlayer
from agent.fakes.relays import FakeRelays
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop
from agent.runtime.parts import Parts
from agent.runtime.trusted_clock import TrustedClock
from tests.agent.core.device_helpers import KEY, command

STREAM = {"stream": "https://radio.example/live"}


class WallClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def synced(self) -> bool:
        return True


class Unit:
    def __init__(self, relays: FakeRelays, player: NullPlayer) -> None:
        policy = Policy(device_id="d1", groups=frozenset(), issuers=frozenset({"province"}))
        sound = SoundSettings(zones=(1, 2), tz=ZoneInfo("Asia/Ho_Chi_Minh"), quiet_window=None, warmup_s=0.1,
                              tail_s=0.1, stagger_s=0.05)
        self.device = Device(DeviceSettings(device_id="d1", groups=(), zones=(1, 2), version="t", policy=policy,
                                            sound=sound),
                             load_trust({"keys": [KEY.as_dict(private=False)]}), DeviceState(), random.Random(3))
        self.loop, self.relays, self.player = Loop(), relays, player
        self.rt = AgentRuntime(self.device, self.loop, Parts(relays=relays, store=MemStore(Backlog()),
                                                            clock=TrustedClock(WallClock()), player=player))
        self.loop.on_error = self.rt.internal_fault
        self.rt.start()

    def send(self, cmd: str, args: dict[str, object], jti: str) -> None:
        self.rt.message(Topics().device_command("d1"), command(cmd, args, jti, int(time.time() * 1000)), False)

    def run_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.loop.run_once(0.02)
            if done():
                return True
        return False

    def errors(self) -> list[str]:
        return list(self.device.status(0)["errors"])

    def logged(self) -> list[str]:
        return [line["key"] for line in self.device.state.log_lines]

    def played(self) -> list[str]:
        return [c.play_id for c in self.player.history if c.what == "play"]


@pytest.fixture
def unit_with() -> Iterator[Callable[..., Unit]]:
    made: list[Unit] = []

    def make(relays: FakeRelays | None = None, player: NullPlayer | None = None) -> Unit:
        made.append(Unit(relays or FakeRelays((1, 2)), player or NullPlayer()))
        return made[-1]

    yield make
    for unit in made:
        unit.loop.close()


def test_an_emergency_plays_while_every_relay_switch_raises_and_the_relays_follow_when_they_answer(unit_with) -> None:
    relays = FakeRelays((1, 2))
    relays.fail_sets()  # a co-processor that misses every reply
    unit = unit_with(relays)
    unit.send("play", {"source": STREAM, "priority": "emergency"}, "e1")  # raised out of the runtime before
    assert unit.run_until(lambda: "e1" in unit.played(), 3), "the emergency must sound without its relays"
    assert unit.errors() == ["relay_io"] and "relay_io_error" in unit.logged()
    assert relays.failed and relays.states == {1: False, 2: False}
    relays.heal()
    assert unit.run_until(lambda: relays.states == {1: True, 2: True} and not unit.errors(), 15), unit.logged()
    assert "relay_io_recovered" in unit.logged()
    unit.send("stop", {"jti": "e1"}, "s1")
    assert unit.run_until(lambda: bool(unit.device.state.playlogs), 3)
    assert unit.device.state.playlogs[0]["relay_confirmed"] is False


def test_a_read_back_that_raises_is_a_fault_until_a_retry_reads_it(unit_with) -> None:
    relays = FakeRelays((1, 2))
    relays.fail_reads(1)
    unit = unit_with(relays)
    unit.send("relay", {"zone": 1, "on": True, "for_s": 30}, "r1")
    assert unit.run_until(lambda: "relay_io" in unit.errors(), 2)
    assert unit.run_until(lambda: not unit.errors() and unit.device.state.observed.get(1) is True, 5), unit.logged()
    assert relays.failed == [("read", 1)]


def test_a_play_the_player_refuses_is_a_fault_and_plays_on_a_later_try(unit_with) -> None:
    player = NullPlayer()
    player.refuse_next(2)
    unit = unit_with(player=player)
    unit.send("play", {"source": STREAM, "priority": "emergency"}, "e1")
    assert unit.run_until(lambda: "player" in unit.errors(), 2), unit.logged()
    assert unit.run_until(lambda: "e1" in unit.played() and not unit.errors(), 10), unit.logged()
    assert unit.logged().count("player_error") == 1 and "player_recovered" in unit.logged()


def test_a_callback_that_raises_is_logged_once_becomes_a_fault_and_the_loop_goes_on(unit_with, caplog) -> None:
    unit = unit_with()

    def broken() -> None:
        raise ZeroDivisionError("a bug")

    ticks: list[int] = []
    for _ in range(5):
        unit.loop.call_later(0, broken)
        unit.loop.post(broken)
    unit.loop.call_later(0.05, lambda: ticks.append(1))
    with caplog.at_level(logging.ERROR, logger="loa.loop"):
        assert unit.run_until(lambda: bool(ticks) and "internal" in unit.errors(), 2)
    tracebacks = [r for r in caplog.records if r.name == "loa.loop" and r.exc_info]
    assert len(tracebacks) == 1 and "ZeroDivisionError" in tracebacks[0].getMessage()
    counted = [r.getMessage() for r in caplog.records if r.name == "loa.loop" and not r.exc_info]
    assert [m.rsplit("(", 1)[1] for m in counted] == ["2 times)", "4 times)", "8 times)"], "counted, not a flood"
    assert unit.logged().count("internal_error") == 1

"""Minimal reproducers of what the fault campaign and the fuzzers found (agent/runtime, agent/config, agent/core),
kept as regression tests now that each is fixed.

1. A full disk (SQLITE_FULL) while a command arrives takes the agent down: AgentRuntime._carry_out lets the
   StoreError of RememberCommand / SaveSetting escape the loop (the outbox path already survives it). On a unit,
   systemd restarts it, and the next command crashes it again while the disk stays full.
2. A wall-clock step between the time an event is stamped and the moment the runtime arms the timers it asked for
   stretches those timers by the step: AgentRuntime._start_timer computes the delay from a second clock read. A relay
   test of 5 s stays on for 305 s after a 300 s backward step (an NTP or RTC correction) at the wrong moment.
3. (hypothesis, config) A configuration key holding a line break (TOML allows "\n" in a quoted key) is put into the
   error message raw, so the one-line-per-problem message gets a line that names nothing.
4. (atheris, config) `mqtt.url = "mqtts://bro[ker:8883"` makes agent.config.unit.parse raise a bare ValueError ("Invalid
   IPv6 URL", from urllib's urlsplit in _cross_checks) instead of a ConfigError: `loa agent` shows a traceback instead
   of one line naming mqtt.url.
5. (atheris, schedules; then by hand) JSON Schema's "integer" accepts 180.0, which most JSON encoders write for a
   float: `schedule` with `"duration_s": 180.0` on a unit with quiet hours, and `logs` with `"limit": 5.0`, raise a
   TypeError inside Device.handle (range() and a slice get a float). The runtime logs it and drops the command: no
   ack at all, not even `rejected`. One fix for every command: an integer type checker that takes only ints
   (agent/core/schemas.py), or int() where the core reads them.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.verify import Policy, load_trust
from agent.errors import StoreError
from agent.fakes.relays import FakeRelays
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop
from agent.runtime.parts import Parts
from agent.runtime.trusted_clock import TrustedClock
from tests.agent.core.device_helpers import KEY, T0, command

TOPIC = "loa/v1/dev/d1/cmd"


class Store:
    """The store port; `full` makes every write fail as SQLite does on a full disk."""

    def __init__(self, full: bool = False) -> None:
        self.full = full

    def _write(self) -> None:
        if self.full:
            raise StoreError("store agent.sqlite3: database or disk is full (SQLITE_FULL)")

    def outbox_add(self, *_: Any) -> int:
        self._write()
        return 1

    def outbox_pending(self, *_: Any) -> list[Any]:
        return []

    def outbox_delete(self, *_: Any) -> None: ...

    def outbox_count(self) -> int:
        return 0

    def remember_command(self, *_: Any) -> None:
        self._write()

    def save_setting(self, *_: Any) -> None:
        self._write()

    def close(self) -> None: ...


class SteppingClock:
    """Reads T0+1 s; after `step_after` more reads, 300 s earlier (an NTP step back)."""

    def __init__(self) -> None:
        self.step_after: int | None = None

    def now_ms(self) -> int:
        if self.step_after is not None:
            self.step_after -= 1
            if self.step_after < 0:
                return T0 + 1000 - 300_000
        return T0 + 1000

    def synced(self) -> bool:
        return True


def runtime(store: Store, clock: Any) -> tuple[AgentRuntime, Loop]:
    policy = Policy(device_id="d1", groups=frozenset(), issuers=frozenset({"province"}))
    device = Device(DeviceSettings(device_id="d1", groups=(), zones=(1,), version="t", policy=policy),
                    load_trust({"keys": [KEY.as_dict(private=False)]}), DeviceState(), random.Random(1))
    loop = Loop()
    rt = AgentRuntime(device, loop, Parts(relays=FakeRelays((1,)), store=store, clock=TrustedClock(clock)))
    rt.start()
    return rt, loop


def test_a_command_on_a_full_disk_does_not_take_the_agent_down() -> None:
    rt, loop = runtime(Store(full=True), SteppingClock())
    rt.message(TOPIC, command("ping", {}, "p1", T0 + 1000), False)  # raises today: the loop, and the agent, stop
    assert rt.device.state.seen == {"p1": T0 // 1000 + 1 + 60 + 60}
    loop.close()


def test_a_clock_step_does_not_stretch_a_relay_test() -> None:
    clock = SteppingClock()
    rt, loop = runtime(Store(), clock)
    clock.step_after = 1  # the command's arrival reads the old time; everything after it, 300 s earlier
    rt.message(TOPIC, command("relay", {"zone": 1, "on": True, "for_s": 5}, "r1", T0 + 1000), False)
    delay_s = rt._timers["relay:1"].when - loop.time()
    loop.close()
    assert delay_s <= 5.5, f"a 5 s relay test stays on for {delay_s:.0f} s"


def test_every_config_error_line_names_its_key_even_for_a_key_with_a_line_break() -> None:
    from agent.config import unit as config
    from agent.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        config.parse({"audio": {}, "\n": {}})
    assert all(line.split(":")[0].strip() for line in str(refused.value).splitlines()), str(refused.value)


def test_a_url_with_a_lone_bracket_is_a_config_error_naming_the_key() -> None:
    from agent.config import unit as config
    from agent.errors import ConfigError

    with pytest.raises(ConfigError, match="mqtt.url"):
        config.parse({"device": {"id": "u1"}, "mqtt": {"url": "mqtts://bro[ker:8883"}, "trust": {"jwks": "t.jwks"}})


@pytest.mark.parametrize("cmd, args", [
    ("schedule", {"version": 2, "slots": [{"at": "17:00", "source": {"stream": "http://r/live"}, "duration_s": 180.0}]}),
    ("logs", {"kind": "lines", "limit": 5.0}),
])
def test_an_integral_float_in_args_is_answered_not_dropped(cmd: str, args: dict[str, Any]) -> None:
    from tests.agent.core.device_helpers import acks, arrive, sound_device

    effects = arrive(sound_device(quiet_window=(22 * 60, 5 * 60)), cmd, args, "f1", T0 + 1000)
    assert acks(effects) and acks(effects)[-1][1] in ("finished", "rejected")

"""The runtime carries out the core's volume and on-time renewal effects on the parts that have them: the player's
volume of the play in progress, and the renewal of relays that keep their own maximum on-time (the co-processor)."""

from __future__ import annotations

import random
from collections.abc import Iterable

from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.effects import RenewOnTime, SetVolume
from agent.core.verify import Policy, load_trust
from agent.errors import HardwareError
from agent.fakes.memstore import Backlog, MemStore
from agent.fakes.player import NullPlayer, PlayerCall
from agent.fakes.relays import FakeRelays
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop
from agent.runtime.parts import Parts
from agent.runtime.trusted_clock import TrustedClock
from tests.agent.core.device_helpers import KEY, T0


class LimitedRelays(FakeRelays):
    """Relays with their own maximum on-time, like the co-processor: renewals are recorded, or fail on demand."""

    renewed: list[tuple[int, ...]]
    renew_fails: bool = False

    def emergency_renew(self, zones: Iterable[int] | None = None) -> list[int]:
        if self.renew_fails:
            raise HardwareError("coproc socket://x: no reply to EMERGENCY_RENEW (seq 9) within 0.25 s")
        self.renewed.append(tuple(zones or ()))
        return list(zones or ())


class Clock:
    def now_ms(self) -> int:
        return T0

    def synced(self) -> bool:
        return True


def runtime(relays: FakeRelays, player: NullPlayer) -> tuple[AgentRuntime, Loop]:
    policy = Policy(device_id="d1", groups=frozenset(), issuers=frozenset({"province"}))
    device = Device(DeviceSettings(device_id="d1", groups=(), zones=(1, 2), version="t", policy=policy),
                    load_trust({"keys": [KEY.as_dict(private=False)]}), DeviceState(), random.Random(1))
    loop = Loop()
    return AgentRuntime(device, loop, Parts(relays=relays, store=MemStore(Backlog()), clock=TrustedClock(Clock()), player=player)), loop


def test_set_volume_reaches_the_player() -> None:
    player = NullPlayer()
    rt, loop = runtime(FakeRelays((1, 2)), player)
    rt._carry_out(SetVolume(20))
    loop.close()
    assert player.history == [PlayerCall("set_volume", volume_pct=20)]


def test_a_renewal_reaches_relays_with_a_limit_and_is_nothing_for_others() -> None:
    limited = LimitedRelays((1, 2))
    limited.renewed = []
    rt, loop = runtime(limited, NullPlayer())
    rt._carry_out(RenewOnTime((1, 2)))
    plain, _ = runtime(FakeRelays((1, 2)), NullPlayer())
    plain._carry_out(RenewOnTime((1, 2)))  # no such limit: nothing to do, and no error
    limited.renew_fails = True
    rt._carry_out(RenewOnTime((1,)))  # a missed reply is logged; the next period tries again
    loop.close()
    assert limited.renewed == [(1, 2)]


def test_a_reboot_stops_the_loop_and_sets_the_exit_code_systemd_reboots_on() -> None:
    from agent.core.effects import Reboot
    from agent.runtime.agent_runtime import REBOOT_EXIT

    rt, loop = runtime(FakeRelays((1, 2)), NullPlayer())
    assert rt.exit_code == 0
    rt._carry_out(Reboot())
    loop.call_later(5.0, loop.stop)  # a guard: the Reboot must stop the loop long before this
    started = loop.time()
    loop.run()
    loop.close()
    assert rt.exit_code == REBOOT_EXIT and loop.time() - started < 4.0

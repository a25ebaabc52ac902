"""Events delivered on the loop thread (the simulator's fakes) are handled right after the event in hand, before
work queued on the loop, and never inside it."""

from __future__ import annotations

import random

from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.effects import Effect
from agent.core.events import Event, Fault
from agent.core.verify import Policy, load_trust
from agent.fakes.relays import FakeRelays
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop
from agent.runtime.parts import Parts
from agent.runtime.trusted_clock import TrustedClock
from tests.agent.core.device_helpers import KEY, T0
from tests.agent.runtime.test_store_faults import Clock, FullDiskStore


class Recording(Device):
    seen: list[str]

    def handle(self, event: Event) -> list[Effect]:
        self.seen.append(f"{type(event).__name__}:{getattr(event, 'name', '')}")
        return super().handle(event)


def test_a_delivered_event_waits_for_the_one_in_hand_and_goes_before_queued_work() -> None:
    policy = Policy(device_id="d1", groups=frozenset(), issuers=frozenset({"province"}))
    device = Recording(DeviceSettings(device_id="d1", groups=(), zones=(1,), version="t", policy=policy),
                       load_trust({"keys": [KEY.as_dict(private=False)]}), DeviceState(), random.Random(1))
    device.seen = []
    loop = Loop()
    rt = AgentRuntime(device, loop, Parts(relays=FakeRelays((1,)), store=FullDiskStore(), clock=TrustedClock(Clock())))
    loop.post(lambda: rt.feed(Fault(T0, "queued", True, "")))  # work already waiting on the loop
    inner = Fault(T0, "inner", True, "")
    original = device.handle

    def handle_and_deliver(event: Event) -> list[Effect]:
        if getattr(event, "name", "") == "first":
            rt.deliver(lambda _now: inner)  # from inside the event in hand
        return original(event)

    device.handle = handle_and_deliver  # type: ignore[method-assign]  # a spy on the event in hand
    rt.deliver(lambda _now: Fault(T0, "first", True, ""))  # not feeding: handled at once
    loop.run_once(0)
    assert device.seen == ["Fault:first", "Fault:inner", "Fault:queued"]
    loop.close()

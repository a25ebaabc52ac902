"""A full disk when the broker confirms a report must not take the agent down (found by the fault campaign)."""

from __future__ import annotations

import random
from typing import Any

from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.verify import Policy, load_trust
from agent.errors import StoreError
from agent.fakes.relays import FakeRelays
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop
from agent.runtime.parts import Parts
from agent.runtime.trusted_clock import TrustedClock
from tests.agent.core.device_helpers import KEY, T0


class FullDiskStore:
    """The store port on a full disk: only deleting fails (SQLite must write its WAL even to delete)."""


    def outbox_add(self, *_: Any) -> int:
        return 1

    def outbox_pending(self, *_: Any) -> list[Any]:
        return []

    def outbox_delete(self, *_: Any) -> None:
        raise StoreError("store agent.sqlite3: database or disk is full (SQLITE_FULL)")

    def outbox_count(self) -> int:
        return 1

    def remember_command(self, *_: Any) -> None: ...
    def save_setting(self, *_: Any) -> None: ...
    def close(self) -> None: ...


class Clock:
    def now_ms(self) -> int:
        return T0

    def synced(self) -> bool:
        return True


def test_a_puback_on_a_full_disk_is_a_store_fault_not_a_crash() -> None:
    policy = Policy(device_id="d1", groups=frozenset(), issuers=frozenset({"province"}))
    device = Device(DeviceSettings(device_id="d1", groups=(), zones=(1,), version="t", policy=policy),
                    load_trust({"keys": [KEY.as_dict(private=False)]}), DeviceState(), random.Random(1))
    loop = Loop()
    rt = AgentRuntime(device, loop, Parts(relays=FakeRelays((1,)), store=FullDiskStore(), clock=TrustedClock(Clock())))
    rt.start()
    rt._inflight[7] = 1
    rt.puback(7)  # must not raise
    loop.run_once(0.05)
    loop.close()
    assert device.state.faults.get("store", "").endswith("(SQLITE_FULL)")

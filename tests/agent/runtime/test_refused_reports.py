"""A report the broker refuses (its ACL: MQTT 5 PUBACK 0x87) is not sent again forever: it is dropped, and the unit's
status and staff logs say so until a later report is taken."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest

from agent.adapters.storage.sqlite_store import SqliteStore
from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.verify import Policy, load_trust
from agent.fakes.relays import FakeRelays
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop
from agent.runtime.parts import Parts
from agent.runtime.trusted_clock import TrustedClock
from tests.agent.core.device_helpers import KEY, T0, command
from tests.agent.runtime.test_store_faults import Clock


class Link:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def connect(self) -> None: ...

    def subscribe(self, topics: tuple[str, ...], qos: int = 1) -> None: ...

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int:
        self.sent.append((len(self.sent) + 1, topic))
        return len(self.sent)

    def close(self) -> None: ...


def test_a_refused_report_is_dropped_and_shown_until_one_is_taken(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="loa.agent")
    policy = Policy(device_id="d1", groups=frozenset(), issuers=frozenset({"province"}))
    device = Device(DeviceSettings(device_id="d1", groups=(), zones=(1,), version="t", policy=policy),
                    load_trust({"keys": [KEY.as_dict(private=False)]}), DeviceState(), random.Random(1))
    loop, store, link = Loop(), SqliteStore(tmp_path / "s.sqlite3"), Link()
    rt = AgentRuntime(device, loop, Parts(relays=FakeRelays((1,)), store=store, clock=TrustedClock(Clock()), link=link),
                      language="en")
    rt.start()
    rt.link_up()
    rt.message("loa/v1/dev/d1/cmd", command("ping", {}, "p1", T0 + 1000), False)
    for _ in range(5):
        loop.run_once(0.06)
    acks = [mid for mid, topic in link.sent if topic.endswith("/ack")]
    waiting = store.outbox_count()
    assert acks and waiting >= 1
    rt.puback(acks[0], "Not authorized (0x87)")
    loop.run_once(0)
    assert store.outbox_count() == waiting - 1  # dropped: not sent again and again
    assert device.state.faults == {"reports": "Not authorized (0x87)"}
    assert "The broker refused a report, which is lost: Not authorized (0x87)" in caplog.text
    rt.message("loa/v1/dev/d1/cmd", command("ping", {}, "p2", T0 + 2000), False)
    for _ in range(5):
        loop.run_once(0.06)
    rt.puback([mid for mid, topic in link.sent if topic.endswith("/ack")][-1])
    loop.run_once(0)
    assert device.state.faults == {}
    assert "The broker takes the unit's reports again" in caplog.text
    loop.close()
    store.close()

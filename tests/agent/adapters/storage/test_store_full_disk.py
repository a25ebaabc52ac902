"""A full card (a real, filled tmpfs): the store still opens and reads, and command ids are still recorded, so a
command never runs twice across a restart (found by the long fault campaign, docs/fault-campaign.md)."""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.adapters.storage.sqlite_store import SqliteStore
from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.verify import Policy, load_trust
from agent.errors import StoreError
from agent.fakes.relays import FakeRelays
from agent.runtime.agent_runtime import AgentRuntime
from agent.runtime.loop import Loop
from agent.runtime.parts import Parts
from agent.runtime.trusted_clock import TrustedClock
from tests.agent.core.device_helpers import KEY, T0, command

REPO = Path(__file__).resolve().parents[4]


class Card:
    """A small tmpfs that can be filled to the last byte and freed again."""

    def __init__(self, path: Path) -> None:
        self.path, self.filler = path, path / "filler.bin"

    def fill(self) -> None:
        with contextlib.suppress(OSError), self.filler.open("wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()

    def free(self) -> None:
        self.filler.unlink()


@pytest.fixture
def card(tmp_path: Path) -> Iterator[Card]:
    path = tmp_path / "card"
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root only; CI runs as root): {done.stderr.decode().strip()}")
    yield Card(path)
    subprocess.run(["umount", "-l", str(path)], check=False)


def test_the_store_opens_reads_and_keeps_command_ids_on_a_full_card(card: Card) -> None:
    store = SqliteStore(card.path / "agent.sqlite3")
    store.remember_command("before", 500, now_s=100)
    row = store.outbox_add("t", b"queued report", 1, "ack", 1)
    store.close()
    card.fill()

    full = SqliteStore(card.path / "agent.sqlite3")  # a restart on the full card
    assert full.open_fault and "writes wait for room" in full.open_fault
    assert [r.payload for r in full.outbox_pending(10, set())] == [b"queued report"]  # nothing lost
    with pytest.raises(StoreError, match="full"):
        full.outbox_add("t", b"new", 1, "ack", 2)
    full.remember_command("during", 600, now_s=100)  # SQLite cannot: the reserve takes it
    full.close()

    again = SqliteStore(card.path / "agent.sqlite3")  # and another restart, still full
    assert again.seen_commands(200) == {"before": 500, "during": 600}
    card.free()
    again.outbox_delete(row)  # with room, writes go through again
    again.outbox_add("t", b"after", 1, "ack", 3)
    assert [r.payload for r in again.outbox_pending(10, set())] == [b"after"]
    assert again.integrity_ok()
    again.close()


def test_a_store_made_on_a_full_card_runs_in_memory_and_says_so(card: Card) -> None:
    card.fill()
    store = SqliteStore(card.path / "agent.sqlite3")
    assert store.open_fault and "nothing kept across a restart" in store.open_fault
    assert store.outbox_add("t", b"x", 1, "ack", 1) > 0


def device() -> Device:
    policy = Policy(device_id="d1", groups=frozenset(), issuers=frozenset({"province"}))
    return Device(DeviceSettings(device_id="d1", groups=(), zones=(1,), version="t", policy=policy),
                  load_trust({"keys": [KEY.as_dict(private=False)]}), DeviceState(), random.Random(1))


class Clock:
    def now_ms(self) -> int:
        return T0 + 1000

    def synced(self) -> bool:
        return True


def test_a_command_received_on_a_full_card_does_not_run_again_after_a_restart(card: Card) -> None:
    token = command("relay", {"zone": 1, "on": True, "for_s": 5}, "r1", T0 + 1000)
    SqliteStore(card.path / "agent.sqlite3").close()  # a unit that has run before
    card.fill()
    acks: list[str] = []
    for _ in range(2):  # the agent, then the agent restarted; the broker delivers the command again (no PUBACK yet)
        store = SqliteStore(card.path / "agent.sqlite3")
        dev = device()
        dev.state.seen.update(store.seen_commands(T0 // 1000))  # as app.build loads them
        loop = Loop()
        published: list[dict[str, Any]] = []

        class Link:
            def __init__(self, out: list[dict[str, Any]]) -> None:
                self.out = out

            def connect(self) -> None: ...

            def subscribe(self, topics: tuple[str, ...], qos: int = 1) -> None: ...

            def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int:
                self.out.append(json.loads(payload))
                return 1

            def close(self) -> None: ...

        rt = AgentRuntime(dev, loop, Parts(relays=FakeRelays((1,)), store=store, clock=TrustedClock(Clock()), link=Link(published)))
        rt.online = True
        rt.start()
        rt.message("loa/v1/dev/d1/cmd", token, False)
        acks += [f"{m['state']}:{m.get('code', '')}" for m in published if m.get("jti") == "r1"]
        loop.close()
        store.close()
    assert acks == ["accepted:ok", "started:ok", "rejected:replay"], acks


BUILD_ON_A_FULL_CARD = """
import contextlib, sys
from pathlib import Path
from agent import app
from agent.config import unit as config
cfg = config.load(sys.argv[1])
app.build(cfg).store.close()  # once, with room: the store exists, as on a unit that has run before
with contextlib.suppress(OSError), (cfg.state_dir / "filler.bin").open("wb") as f:
    while True:
        f.write(bytes(4096))
        f.flush()
agent = app.build(cfg)
print("started:", agent.store.open_fault)
"""


def test_the_agent_starts_on_a_full_card(card: Card, tmp_path: Path) -> None:
    """A unit whose card is full must still come up (under systemd a failed start is a restart loop, a silent unit:
    no emergency either)."""
    from province import keys
    from tools.provision import UnitSpec, provision

    keys.init(tmp_path / "keys")
    cfg = provision(UnitSpec(device_id="u1", trust=tmp_path / "keys" / "trust.jwks", out=tmp_path / "u1",
                             broker_url="mqtt://127.0.0.1:9"))
    text = cfg.read_text()
    cfg.write_text(text.replace('state_dir = "state"', f'state_dir = "{card.path}"'))
    assert cfg.read_text() != text, text
    done = subprocess.run([sys.executable, "-c", BUILD_ON_A_FULL_CARD, str(cfg)], capture_output=True, text=True,
                          timeout=60, cwd=REPO, check=False)
    assert "started: store " in done.stdout and "writes wait for room" in done.stdout, (done.stdout, done.stderr[-800:])

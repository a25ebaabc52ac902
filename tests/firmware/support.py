"""Helpers for the firmware tests, which run unchanged on CPython (pytest) and on MicroPython (mpy_runner.py).

Imports only firmware/ and what MicroPython has (json); never pytest, hypothesis or the agent.
"""

import json

from firmware import wire
from firmware.coproc import CoProcessor
from firmware.counters import Counters
from firmware.fakes import FakeADC, FakeClock, FakePin, FakeUART, FakeWatchdog
from firmware.frames import Deframer, encode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Frame = tuple[int, int, bytes]

GOLDEN_PATH = __file__.replace("\\", "/").rsplit("/", 1)[0] + "/../golden/coproc_frames.json"
_golden: "list[dict[str, Any]]" = []


def golden() -> "dict[str, Any]":
    """The shared golden frames, parsed once."""
    if not _golden:
        with open(GOLDEN_PATH) as f:
            _golden.append(json.load(f))
    return _golden[0]


def unhex(text: str) -> bytes:
    return bytes.fromhex(text)


def raises(exc_type: "type[Exception]", fn: "Callable[..., object]", *args: object) -> "Any":
    """The exception fn(*args) raised, which must be an exc_type (MicroPython has no pytest.raises)."""
    try:
        fn(*args)
    except exc_type as exc:
        return exc
    raise AssertionError(f"{exc_type.__name__} not raised")


def split_frames(data: bytes) -> "list[Frame]":
    """Frames (seq, cmd, payload) in data, which must hold nothing else."""
    counters = Counters(len(wire.COUNTER_NAMES))
    frames = Deframer(counters).feed(data, 0)
    assert counters.values() == (0,) * len(wire.COUNTER_NAMES), counters.values()
    return frames


class Bench:
    """A co-processor on fake hardware and a fake clock, driven through its UART as the host drives the board."""

    def __init__(self, relays: int = 4, sensors: int = 2, start_ms: int = 0, **settings: "Any") -> None:
        self.start_ms = start_ms
        self.clock = FakeClock(start_ms)
        self.pins = [FakePin(self.clock) for _ in range(relays)]
        self.adcs = [FakeADC() for _ in range(sensors)]
        self.uart = FakeUART()
        self.wdt = FakeWatchdog()
        self.node = CoProcessor(self.uart, self.pins, self.adcs, self.wdt, self.clock, **settings)
        self.seq = 0

    def at(self, t_ms: int) -> None:
        """Move the clock to t_ms after the bench's start."""
        self.clock.now_ms = self.start_ms + t_ms

    def send(self, cmd: int, payload: bytes = b"", seq: int = -1) -> "list[Frame]":
        """Send one request (next sequence number unless given), run one loop pass, return the reply frames."""
        if seq < 0:
            self.seq = (self.seq + 1) & 0xFF
            seq = self.seq
        return self.raw(encode(seq, cmd, payload))

    def raw(self, data: bytes) -> "list[Frame]":
        self.uart.inject(data)
        self.node.step()
        return split_frames(self.uart.take_tx())

    def relays(self) -> int:
        return self.node.relays.readback()

    def counter(self, name: str) -> int:
        return self.node.counters.get(wire.COUNTER_NAMES.index(name))

    def snapshot(self) -> "tuple[int, int, list[int], tuple[int, ...]]":
        """Everything a rejected frame must leave alone: relay state, pin writes, counters."""
        writes = [len(pin.history) for pin in self.pins]
        return self.node.relays.commanded(), self.relays(), writes, self.node.counters.values()


def run_table(bench: Bench, table: "list[tuple[int, str, int, int]]") -> None:
    """Rows (t_ms, action, mask, expected): at t_ms do action ("beat", "set", "renew" or "tick"), run one loop
    pass, then the relays must read back `expected`."""
    for t_ms, action, mask, expected in table:
        bench.at(t_ms)
        if action == "beat":
            bench.send(wire.HEARTBEAT)
        elif action == "set":
            bench.send(wire.SET_RELAYS, bytes((mask,)))
        elif action == "renew":
            bench.send(wire.EMERGENCY_RENEW, bytes((mask,)))
        else:
            bench.node.step()
        assert bench.relays() == expected, (t_ms, action, bench.relays(), expected)


def counters_with(**changes: int) -> "tuple[int, ...]":
    """A full counter tuple: zero except the named ones."""
    return tuple(changes.get(name, 0) for name in wire.COUNTER_NAMES)

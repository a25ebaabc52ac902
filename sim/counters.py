"""What one shard counts: attempts, connects, drops, messages in and out by report kind, plays, and the times of
every link-up (for connect curves and storm recovery). One object per shard, updated by its units.

Must not import paho or the core.
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sim import hist

if TYPE_CHECKING:  # sim.hist imports hdrh, with a clear error when the [sim] extra is missing
    from hdrh.histogram import HdrHistogram


@dataclass
class Counters:
    attempts: int = 0
    connects: int = 0
    downs: int = 0
    online: int = 0
    msgs_in: int = 0
    out: dict[str, int] = field(default_factory=dict)
    plays: dict[str, int] = field(default_factory=dict)
    up_times: array[float] = field(default_factory=lambda: array("d"))
    up_units: array[int] = field(default_factory=lambda: array("l"))
    attempt_times: array[float] = field(default_factory=lambda: array("d"))
    play_starts: array[float] = field(default_factory=lambda: array("d"))
    slot_starts: array[float] = field(default_factory=lambda: array("d"))  # programme slots only (play id slot-...)
    slot_units: array[int] = field(default_factory=lambda: array("l"))
    trusted_units: array[int] = field(default_factory=lambda: array("l"))  # units whose time became trusted,
    trusted_after_s: array[float] = field(default_factory=lambda: array("d"))  # and how long after their boot (kept)
    first_connect: HdrHistogram = field(default_factory=hist.new)  # ramp slot -> first CONNACK

    def attempt(self) -> None:
        self.attempts += 1
        self.attempt_times.append(time.time())

    def up(self, unit: int) -> None:
        self.connects += 1
        self.online += 1
        self.up_times.append(time.time())
        self.up_units.append(unit)

    def down(self, was_online: bool) -> None:
        if was_online:
            self.online -= 1
            self.downs += 1

    def sent(self, topic: str) -> None:
        kind = topic[topic.rfind("/") + 1:]
        self.out[kind] = self.out.get(kind, 0) + 1

    def play(self, kind: str, play_id: str = "", unit: int = -1) -> None:
        self.plays[kind] = self.plays.get(kind, 0) + 1
        if kind == "started":
            t = time.time()
            self.play_starts.append(t)
            if play_id.startswith("slot-"):
                self.slot_starts.append(t)
                self.slot_units.append(unit)

    def trusted(self, unit: int, after_s: float) -> None:
        self.trusted_units.append(unit)
        self.trusted_after_s.append(after_s)

    def tick(self) -> dict[str, Any]:
        """Cumulative counts; the controller turns them into rates."""
        return {"attempts": self.attempts, "connects": self.connects, "downs": self.downs, "online": self.online,
                "in": self.msgs_in, "out": dict(self.out), "plays": dict(self.plays)}

    def dump(self) -> dict[str, Any]:
        """Everything with a time since the last dump (then forgotten, except the trusted times), and the connect
        histogram."""
        out = {"up_times": self.up_times.tolist(), "up_units": self.up_units.tolist(),
               "attempt_times": self.attempt_times.tolist(), "play_starts": self.play_starts.tolist(),
               "slot_starts": self.slot_starts.tolist(), "slot_units": self.slot_units.tolist(),
               "trusted_units": self.trusted_units.tolist(), "trusted_after_s": self.trusted_after_s.tolist(),
               "first_connect": hist.encode(self.first_connect)}
        self.up_times, self.up_units, self.attempt_times = array("d"), array("l"), array("d")
        self.play_starts, self.slot_starts, self.slot_units = array("d"), array("d"), array("l")
        return out  # the trusted times stay: one per unit at most, and a later dump reports them all

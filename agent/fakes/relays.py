"""Fake relays that ship with the agent (used by tests, the demo and the simulator): they record every switch
and accept fault injection: a stuck relay keeps its state and says so on read-back; `fail_sets`/`fail_reads` make
the next N switches or read-backs raise HardwareError (or all of them, until `heal`), like a co-processor that
misses its replies. With a journal path, every switch is also appended to a file, so a test outside the process
sees the hardware, not only the reports; and while a file named like the journal plus `.fail` exists, every switch
and read-back raises (fault injection from outside the process: the fault campaign's relay faults).

Must not import the core.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import HardwareError

FOREVER = -1


@dataclass
class FakeRelays:
    zones: tuple[int, ...]
    journal: Path | None = None
    states: dict[int, bool] = field(default_factory=dict)
    history: list[tuple[float, int, bool]] = field(default_factory=list)
    stuck: dict[int, bool] = field(default_factory=dict)
    failing: dict[str, int] = field(default_factory=lambda: {"set": 0, "read": 0})  # calls left to fail; -1: all
    failed: list[tuple[str, int]] = field(default_factory=list)  # (op, zone) of each injected failure

    def __post_init__(self) -> None:
        self.states = {z: False for z in self.zones}
        self.fault_switch = fault_switch(self.journal.resolve()) if self.journal else None

    def set(self, zone: int, on: bool) -> None:
        self._maybe_fail("set", zone)
        self.history.append((time.time(), zone, on))
        if zone not in self.stuck:
            self.states[zone] = on
        if self.journal:
            with self.journal.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"ts": time.time(), "zone": zone, "on": on, "state": self.states[zone]}) + "\n")

    def read(self, zone: int) -> bool:
        self._maybe_fail("read", zone)
        return self.states[zone]

    def stick(self, zone: int, on: bool) -> None:
        """Fault injection: from now on the relay stays `on` whatever it is told."""
        self.stuck[zone] = on
        self.states[zone] = on

    def fail_sets(self, count: int = FOREVER) -> None:
        """Fault injection: the next `count` switches raise HardwareError and change nothing (all: FOREVER)."""
        self.failing["set"] = count

    def fail_reads(self, count: int = FOREVER) -> None:
        """Fault injection: the next `count` read-backs raise HardwareError (all: FOREVER)."""
        self.failing["read"] = count

    def heal(self) -> None:
        self.failing = {"set": 0, "read": 0}

    def close(self) -> None:
        self.heal()  # the way out switches everything off whatever was injected
        self.fault_switch = None
        for zone in self.zones:
            self.set(zone, False)

    def _maybe_fail(self, op: str, zone: int) -> None:
        left = self.failing[op]
        if left == 0 and not (self.fault_switch and self.fault_switch.exists()):
            return
        if left > 0:
            self.failing[op] = left - 1
        self.failed.append((op, zone))
        raise HardwareError(f"fake relays: no reply to {op} of zone {zone} (injected)")


def fault_switch(journal: Path) -> Path:
    """The file whose presence makes the relays of this journal fail (created and removed by a test)."""
    return journal.with_name(journal.name + ".fail")


def read_journal(path: Path) -> list[dict[str, object]]:
    """The switches recorded so far (for tests and the demo)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

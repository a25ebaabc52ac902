"""Fake relays that ship with the agent (used by tests, the demo and the simulator): they record every switch
and accept fault injection (a stuck relay keeps its state and says so on read-back). With a journal path, every
switch is also appended to a file, so a test outside the process sees the hardware, not only the reports.

Must not import the core.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FakeRelays:
    zones: tuple[int, ...]
    journal: Path | None = None
    states: dict[int, bool] = field(default_factory=dict)
    history: list[tuple[float, int, bool]] = field(default_factory=list)
    stuck: dict[int, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.states = {z: False for z in self.zones}

    def set(self, zone: int, on: bool) -> None:
        self.history.append((time.time(), zone, on))
        if zone not in self.stuck:
            self.states[zone] = on
        if self.journal:
            with self.journal.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"ts": time.time(), "zone": zone, "on": on, "state": self.states[zone]}) + "\n")

    def read(self, zone: int) -> bool:
        return self.states[zone]

    def stick(self, zone: int, on: bool) -> None:
        """Fault injection: from now on the relay stays `on` whatever it is told."""
        self.stuck[zone] = on
        self.states[zone] = on

    def close(self) -> None:
        for zone in self.zones:
            self.set(zone, False)


def read_journal(path: Path) -> list[dict[str, object]]:
    """The switches recorded so far (for tests and the demo)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

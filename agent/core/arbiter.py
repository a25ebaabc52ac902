"""The one arbiter: which queued item plays next, and whether it may cut into what plays now.

Levels, low to high: scheduled programme (0), normal (1), priority (2), emergency (3). Pure functions over items.
Must not import adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEDULED, NORMAL, PRIORITY, EMERGENCY = 0, 1, 2, 3
LEVELS = {"normal": NORMAL, "priority": PRIORITY, "emergency": EMERGENCY}
LEVEL_NAMES = {SCHEDULED: "scheduled", NORMAL: "normal", PRIORITY: "priority", EMERGENCY: "emergency"}


@dataclass
class Item:
    """One accepted play request (a command, or a slot of the programme) from acceptance to its end."""

    play_id: str
    jti: str | None
    level: int
    source: dict[str, Any]
    title: str
    zones: tuple[int, ...]
    volume_pct: int
    seq: int
    repeat: int = 1
    not_before_ms: int = 0
    until_ms: int | None = None
    replace: bool = False
    media: str | None = None
    front: bool = False  # a preempted bulletin goes back to the front of its level
    started_ms: int | None = None
    plays_done: int = 0
    relay_confirmed: bool = False
    alert_of: str | None = None  # a part of the alert before this bulletin (agent.core.alert)
    alerted: bool = False  # its alert has sounded: the amplifiers stay on until its audio is ready
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source_kind(self) -> str:
        kinds = ("ref", "url", "stream", "tts", "alert")  # a ref keeps its url: it is tried first
        return next((k for k in kinds if k in self.source), "unknown")

    @property
    def acked(self) -> bool:
        """Whether its transitions are acked: a command's bulletin, not a programme slot nor a part of an alert."""
        return self.jti is not None and self.alert_of is None

    @property
    def is_stream(self) -> bool:
        return "stream" in self.source

    def ready(self, now_ms: int) -> bool:
        return self.media is not None and self.not_before_ms <= now_ms


def rank(item: Item) -> tuple[int, int, int]:
    return (-item.level, 0 if item.front else 1, item.seq)


def choose(queue: list[Item], now_ms: int) -> Item | None:
    """The best item that is ready now: highest level, then a preempted one, then first come."""
    ready = [i for i in queue if i.ready(now_ms)]
    return min(ready, key=rank) if ready else None


def preemptor(queue: list[Item], current: Item, now_ms: int) -> Item | None:
    """The best ready item allowed to cut into `current` (a `replace` emergency is not hidden by an older one)."""
    able = [i for i in queue if i.ready(now_ms) and may_preempt(current, i)]
    return min(able, key=rank) if able else None


def supersedes(current: Item, candidate: Item) -> bool:
    """A replacing emergency ends the one it cuts for good: its instructions are out of date."""
    return candidate.replace and candidate.level == EMERGENCY and current.level == EMERGENCY


def may_preempt(current: Item, candidate: Item) -> bool:
    """Emergency cuts into anything lower; a newer emergency only with `replace`; any command cuts the programme.
    Priority does not cut a normal bulletin: it goes next ("at the next opportunity", Circular 39/2020).
    The parts of one command (an alert and its bulletin) never cut each other."""
    if candidate.jti is not None and candidate.jti == current.jti:
        return False
    if candidate.level == EMERGENCY:
        return current.level < EMERGENCY or candidate.replace
    return current.level == SCHEDULED and candidate.level > SCHEDULED

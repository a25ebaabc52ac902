"""Events the core reacts to. Each carries the wall time (ms since the epoch) at which the runtime saw it.

Must not import anything outside the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Started:
    now_ms: int
    clock_synced: bool = True


@dataclass(frozen=True, slots=True)
class LinkUp:
    now_ms: int


@dataclass(frozen=True, slots=True)
class LinkDown:
    now_ms: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MessageArrived:
    now_ms: int
    topic: str
    payload: bytes
    retained: bool = False


@dataclass(frozen=True, slots=True)
class TimerFired:
    now_ms: int
    name: str


@dataclass(frozen=True, slots=True)
class ClockSyncChanged:
    now_ms: int
    synced: bool


@dataclass(frozen=True, slots=True)
class OutboxChanged:
    now_ms: int
    pending: int


Event = Started | LinkUp | LinkDown | MessageArrived | TimerFired | ClockSyncChanged | OutboxChanged

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




@dataclass(frozen=True, slots=True)
class Prepared:
    """Audio for a play (or a `store`) is on local disk and verified, or a stream URL is ready."""

    now_ms: int
    play_id: str
    media: str


@dataclass(frozen=True, slots=True)
class PrepareFailed:
    now_ms: int
    play_id: str
    code: str
    msg: str


@dataclass(frozen=True, slots=True)
class PlayerEvent:
    """From the audio engine: kind is started, finished or failed (detail: a short machine reason)."""

    now_ms: int
    play_id: str
    kind: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RelayObserved:
    """Read-back of a relay after it was switched (fake or real hardware)."""

    now_ms: int
    zone: int
    on: bool


@dataclass(frozen=True, slots=True)
class Fault:
    """An adapter reports a fault appearing (active) or clearing: e.g. name 'store' when the disk is full."""

    now_ms: int
    name: str
    active: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Modem readings: signal_dbm, operator, registration, iccid (values may be None)."""

    now_ms: int
    modem: dict[str, object]


@dataclass(frozen=True, slots=True)
class LevelObserved:
    """Measured amplifier output level in dBFS (None: no signal sensor), from the co-processor or a line-in."""

    now_ms: int
    dbfs: float | None


SoundEvent = Prepared | PrepareFailed | PlayerEvent | RelayObserved | LevelObserved

Event = Started | LinkUp | LinkDown | MessageArrived | TimerFired | ClockSyncChanged | OutboxChanged | Fault | Telemetry | SoundEvent

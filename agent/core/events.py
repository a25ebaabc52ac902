"""Events the core reacts to. Each carries the wall time (ms since the epoch) at which the runtime saw it.

Must not import anything outside the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Started:
    now_ms: int
    clock_synced: bool = True
    time_source: str | None = None  # as in ClockSyncChanged: the trusted time's source and its offset
    time_offset_ms: int = 0


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
    """The trusted time changed: trusted or not, its source, its offset to the system clock, and how far the
    agent's time moved since the last such event (`step_ms`; wall-time timers are armed again after a step)."""

    now_ms: int
    synced: bool
    source: str | None = None
    offset_ms: int = 0
    step_ms: int = 0


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
    """From the audio engine, or from the e-board's page about the video it shows (play_id `board:<jti>`): kind is
    started, finished or failed (detail: a short machine reason)."""

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
class HardwareFailed:
    """An adapter raised while the runtime carried out an effect: `part` is relays or player, `op` what failed (set,
    read, play, stop), for `zone` or `play_id`. The core shows the fault and does the operation again later."""

    now_ms: int
    part: str
    op: str
    detail: str
    zone: int = 0
    play_id: str = ""


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Modem readings: signal_dbm, operator, registration, iccid (values may be None)."""

    now_ms: int
    modem: dict[str, object]


@dataclass(frozen=True, slots=True)
class UnitReadings:
    """The unit's own sensors (agent.adapters.system.unit_sensors): temp_c, mains, amp_w, storage_used_bytes,
    storage_total_bytes, link_type; a value is None where the unit has no such sensor or could not read it."""

    now_ms: int
    readings: dict[str, object]


@dataclass(frozen=True, slots=True)
class LevelObserved:
    """Measured amplifier output level in dBFS (None: no signal sensor), from the co-processor or a line-in."""

    now_ms: int
    dbfs: float | None


@dataclass(frozen=True, slots=True)
class LocalAction:
    """A technician's action from the unit's own status page (an authenticated local session, never the network
    link): `test_tone` or `relay_test` (of `zone`). The core turns it into a command of its own making."""

    now_ms: int
    action: str
    zone: int = 0


@dataclass(frozen=True, slots=True)
class SnapshotTaken:
    """An image of what the board shows, for the `snapshot` command `request_id`; `error` set when none was made."""

    now_ms: int
    request_id: str
    mime: str = ""
    data: bytes = b""
    width: int = 0
    height: int = 0
    error: str = ""


# ---- updates ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReleaseFetched:
    """A release bundle is on disk and matches the command's SHA-256: its signed metadata and its payload's hash."""

    now_ms: int
    update_id: str
    token: bytes
    payload_sha256: str
    payload_bytes: int


@dataclass(frozen=True, slots=True)
class ReleaseInstalled:
    now_ms: int
    update_id: str
    slot: str


@dataclass(frozen=True, slots=True)
class ReleaseStepFailed:
    """Download, unpack or a marker write failed: code is machine-readable (hash_mismatch, install_failed...)."""

    now_ms: int
    update_id: str
    code: str
    msg: str


UpdateEvent = ReleaseFetched | ReleaseInstalled | ReleaseStepFailed

SoundEvent = Prepared | PrepareFailed | PlayerEvent | RelayObserved | LevelObserved

Event = (Started | LinkUp | LinkDown | MessageArrived | TimerFired | ClockSyncChanged | OutboxChanged | Fault | Telemetry
         | UnitReadings          | HardwareFailed | SoundEvent | LocalAction | SnapshotTaken | UpdateEvent)

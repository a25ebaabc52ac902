"""Effects the core asks the runtime to carry out, in order. Values only; the runtime owns all I/O.

Must not import anything outside the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Publish:
    """Send a report. `durable` ones go through the on-device outbox and survive outages and reboots."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    durable: bool = False
    kind: str = "report"


@dataclass(frozen=True, slots=True)
class Subscribe:
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Connect:
    """Open (or re-open) the link to the broker now."""


@dataclass(frozen=True, slots=True)
class SetRelay:
    zone: int
    on: bool


@dataclass(frozen=True, slots=True)
class RenewOnTime:
    """Restart the maximum on-time of these zones' relays where the relays keep their own (the co-processor)."""

    zones: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SetVolume:
    """Change the level of the audio playing now (the core decides whose level it is: never an emergency's)."""

    volume_pct: int


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Fire TimerFired(name) at `at_ms`; a timer of the same name is replaced."""

    name: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, slots=True)
class RememberCommand:
    """Persist a command id until it expires, so a replay is refused even after a restart."""

    jti: str
    exp_s: int


@dataclass(frozen=True, slots=True)
class SaveSetting:
    """Persist a setting changed by a signed `config` command (it outlives restarts)."""

    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class ObserveTime:
    """A time reading the core vouches for (a verified signed beacon): handed to the agent's clock."""

    source: str
    true_ms: int
    error_ms: int


@dataclass(frozen=True, slots=True)
class RaiseTimeFloor:
    """A verified command's `iat`: the true time is at least this (ms)."""

    floor_ms: int


@dataclass(frozen=True, slots=True)
class Reboot:
    """Restart the whole unit: the agent stops (relays off, goodbye status) and asks its service manager to reboot."""


@dataclass(frozen=True, slots=True)
class Log:
    """A line for staff: `key` names a message in the strings files, `params` fill it in."""

    level: str
    key: str
    params: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Prepare:
    """Make a source playable offline: download and verify (url+sha256), synthesize (tts); `pin` keeps it cached."""

    play_id: str
    source: dict[str, Any]
    pin: bool = False


@dataclass(frozen=True, slots=True)
class PlayAudio:
    play_id: str
    media: str
    volume_pct: int


@dataclass(frozen=True, slots=True)
class StopAudio:
    play_id: str


@dataclass(frozen=True, slots=True)
class TakeSnapshot:
    """Make an image of what the board shows, at most `max_bytes` long; the answer is a SnapshotTaken event."""

    request_id: str
    max_bytes: int


# ---- updates (agent.core.update asks; agent.runtime.updater and agent.adapters.system.release_slots carry out) --------


@dataclass(frozen=True, slots=True)
class FetchRelease:
    """Download a release bundle into the update cache, verified against the command's SHA-256, and read it."""

    update_id: str
    url: str
    sha256: str


@dataclass(frozen=True, slots=True)
class InstallRelease:
    """Unpack the fetched bundle's payload into the inactive slot (a or b) with its checked metadata."""

    update_id: str
    slot: str
    meta: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StartTrial:
    """Write the trial marker (state pending) and restart: the launcher switches `current` and runs the new slot."""

    marker: dict[str, Any]


@dataclass(frozen=True, slots=True)
class KeepRelease:
    """The new release passed its health check: remove the trial marker, so it stays."""


@dataclass(frozen=True, slots=True)
class RollBack:
    """The new release failed its health check: write the outcome and restart; the launcher switches back."""

    outcome: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClearOutcome:
    """The outcome of a rolled-back update is reported (its rows are in the outbox): forget it."""


UpdateEffect = FetchRelease | InstallRelease | StartTrial | KeepRelease | RollBack | ClearOutcome


Effect = TakeSnapshot | Prepare | PlayAudio | StopAudio | Publish | Subscribe | Connect | SetRelay | RenewOnTime | SetVolume | StartTimer | CancelTimer | RememberCommand | SaveSetting | Log | ObserveTime | RaiseTimeFloor | Reboot | UpdateEffect

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
class SetVolume:
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


Effect = Prepare | PlayAudio | StopAudio | Publish | Subscribe | Connect | SetRelay | SetVolume | StartTimer | CancelTimer | RememberCommand | SaveSetting | Log

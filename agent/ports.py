"""Every port the core and the runtime need, in one place: small Protocols shaped by what Loa needs (a link, relays,
a player, an audio cache, a speech synthesizer, a store, a clock, the pages, a camera, the desks' host), never by
what a library offers. Adapters in `agent/adapters/` and the fakes in `agent/fakes/` implement them.

Pure typing: imports only the standard library and the core's value types (effects), never an adapter or I/O module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

from agent.core.effects import Effect, UpdateEffect
from agent.core.timekeeping import Verdict

# --- the link, relays, store, clock and the runtime's helpers ---

class Link(Protocol):
    def connect(self) -> None: ...
    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None: ...
    def subscribe(self, topics: tuple[str, ...], qos: int = 1) -> None: ...
    def close(self) -> None: ...


class Relays(Protocol):
    def set(self, zone: int, on: bool) -> None: ...
    def read(self, zone: int) -> bool: ...
    def close(self) -> None: ...


@runtime_checkable
class OnTimeLimited(Protocol):
    """Relays that cut any relay on longer than their own maximum on-time unless it is renewed (the co-processor's
    fail-safe). The runtime renews when the core says (agent.core.on_time); other relays have no such limit."""

    def emergency_renew(self, zones: Iterable[int] | None = None) -> list[int]: ...


class Preparing(Protocol):
    def submit(self, play_id: str, source: dict[str, Any], pin: bool) -> None: ...
    def close(self) -> None: ...


class Store(Protocol):
    def outbox_add(self, topic: str, payload: bytes, qos: int, kind: str, now_ms: int) -> int: ...
    def outbox_pending(self, limit: int, exclude: set[int]) -> list[Any]: ...
    def outbox_delete(self, row_id: int) -> None: ...
    def outbox_count(self) -> int: ...
    def remember_command(self, jti: str, keep_until_s: int, now_s: int) -> None: ...
    def save_setting(self, key: str, value: Any) -> None: ...
    def close(self) -> None: ...


class StaffLog(Protocol):
    """Staff log lines kept on the card across restarts (agent.adapters.storage.staff_log_ring): lines wait in
    memory until `flush`, which the runtime calls sparingly (agent.runtime.staff_log)."""

    def add(self, entry: dict[str, Any]) -> None: ...
    def pending(self) -> int: ...
    def flush(self) -> None: ...


class Updating(Protocol):
    """Release updates (agent.runtime.updater): carries out the update effects off the loop."""

    def handle(self, effect: UpdateEffect) -> None: ...


class Clock(Protocol):
    """The time the agent counts on (agent.runtime.trusted_clock): corrected by the trusted time source, never
    earlier than the time floor. `observe` takes a source's reading (the signed beacon's, from the core)."""

    def now_ms(self) -> int: ...
    def synced(self) -> bool: ...
    def verdict(self) -> Verdict: ...
    def observe(self, source: str, true_ms: int, error_ms: int = 1000) -> None: ...
    def raise_floor(self, floor_ms: int) -> None: ...


class ServiceManager(Protocol):
    """The service manager the unit runs under (systemd's notify protocol): told when the agent is up, how it is,
    and that it is stopping. Calls never raise and do nothing when no service manager listens."""

    def ready(self, status: str = "") -> bool: ...
    def status(self, text: str) -> bool: ...
    def stopping(self) -> bool: ...


# --- sound ---

# on_event(play_id, kind, detail). Called from a library thread: it must only hand off (e.g. queue.put).
PlayEventCallback = Callable[[str, str, str], None]

STARTED: Final = "started"  # first audio actually reached the output
FINISHED: Final = "finished"  # terminal: the source reached its end
FAILED: Final = "failed"  # terminal: detail is a machine reason (see FAIL_REASONS)
STOPPED: Final = "stopped"  # terminal: stop() or a newer play() or close() ended it
TERMINAL_KINDS: Final = frozenset({FINISHED, FAILED, STOPPED})

SOURCE_UNREACHABLE: Final = "source_unreachable"  # never produced audio (missing file, dead URL)
STREAM_STALLED: Final = "stream_stalled"  # audio stopped flowing and did not come back in time
STREAM_DROPPED: Final = "stream_dropped"  # the stream errored or ended early and did not come back
DECODE_ERROR: Final = "decode_error"  # a local file that cannot be decoded
OUTPUT_ERROR: Final = "output_error"  # the output device refused the audio
FAIL_REASONS: Final = frozenset(
    {SOURCE_UNREACHABLE, STREAM_STALLED, STREAM_DROPPED, DECODE_ERROR, OUTPUT_ERROR}
)


class Player(Protocol):
    """Plays one source at a time. Every play gets exactly one terminal event: finished, failed or stopped."""

    def play(self, play_id: str, source: str, *, volume_pct: int, on_event: PlayEventCallback) -> None:
        """Start `source` (a local path or an http/https/Icecast/HLS URL); a current play is stopped first."""
        ...

    def stop(self, play_id: str) -> None:
        """Stop `play_id` if it is current (its on_event then gets "stopped"); otherwise do nothing."""
        ...

    def set_volume(self, pct: int) -> None:
        """Change the volume of the current play (0..100)."""
        ...

    def close(self) -> None:
        """Stop any play and release the engine; further play() calls raise AudioError."""
        ...


class AudioCache(Protocol):
    """Content-addressed audio files, verified against the SHA-256 the signed command named."""

    def fetch(self, url: str, sha256: str, *, pin: bool = False) -> Path:
        """Download (resuming if interrupted) and verify; blocking. Raises DownloadError, HashMismatch, QuotaExceeded."""
        ...

    def path_for(self, sha256: str) -> Path | None:
        """The verified cached file, or None (a corrupt file is deleted, never served)."""
        ...

    def pin(self, sha256: str) -> None:
        """Protect an entry (emergency audio) from eviction; may be called before it is fetched."""
        ...

    def unpin(self, sha256: str) -> None:
        """Make an entry evictable again."""
        ...


class SpeechSynth(Protocol):
    """Text to speech into a cached WAV; text is any Unicode (Vietnamese with full diacritics)."""

    def synthesize(self, text: str, lang: str) -> Path:
        """A WAV file speaking `text`; raises AudioError for an unknown language or a failed synthesis."""
        ...


# --- pages and the e-board's camera ---

class Pages(Protocol):
    """The status page and the kiosk page: they read what the runtime publishes, and post actions back to it."""

    def publish(self, view: dict[str, Any]) -> None:
        """Hand over the newest view (called on the loop thread after every event; must only swap a reference)."""
        ...

    def close(self) -> None: ...


class Camera(Protocol):
    """Makes an image of what the board shows; the answer goes back to the loop as a SnapshotTaken event."""

    def take(self, request_id: str, max_bytes: int) -> None: ...

    def close(self) -> None: ...


# --- what the core's desks need from the device core that hosts them ---

class DeskHost(Protocol):
    """Outputs every desk uses: effects, acks, reports, timers, persisted settings, staff log lines."""

    def emit(self, effect: Effect) -> None: ...
    def ack(self, now: int, jti: str | None, cmd: str | None, state: str, code: str, msg: str) -> None: ...
    def report(self, now: int, kind: str, body: dict[str, Any]) -> None: ...
    def timer(self, name: str, at_ms: int) -> None: ...
    def cancel(self, name: str) -> None: ...
    def save(self, key: str, value: Any) -> None: ...
    def log(self, level: str, key: str, **params: Any) -> None: ...


class SwitchingHost(DeskHost, Protocol):
    """A desk that also switches relays (sound, and the update's relay-path health check)."""

    def switch(self, zone: int, on: bool) -> None: ...


# --- release updates (agent.runtime.updater) ---

class BundleCache(Protocol):
    """Where a release bundle is downloaded and verified against the SHA-256 the signed command named."""

    def fetch(self, url: str, sha256: str, *, pin: bool = False) -> Path: ...


class BundleFacts(Protocol):
    """What reading a bundle tells before its signature is checked: the signed metadata and the payload's digest."""

    @property
    def token(self) -> bytes: ...
    @property
    def payload_sha256(self) -> str: ...
    @property
    def payload_bytes(self) -> int: ...


BundleReader = Callable[[Path], BundleFacts]  # reads a bundle with limits; raises LoaError for a malformed one


class ReleaseSlots(Protocol):
    """The unit's A/B release slots and the trial and outcome markers the launcher reads."""

    def install(self, slot: str, bundle: Path, meta: dict[str, Any], *, max_bytes: int) -> int: ...
    def write_trial(self, marker: dict[str, Any]) -> None: ...
    def clear_trial(self) -> None: ...
    def write_outcome(self, outcome: dict[str, Any]) -> None: ...
    def clear_outcome(self) -> None: ...

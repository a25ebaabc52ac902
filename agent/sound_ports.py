"""The sound ports: what the core and runtime need from a player, an audio cache and a speech synthesizer.

Shapes follow the core's needs, not any library's API. Imports only the standard library — never vlc,
urllib or subprocess; adapters in `agent/adapters/` implement these protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

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

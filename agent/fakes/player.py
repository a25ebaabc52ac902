"""A Player that makes no sound: it records every call and can be told to fail. Ships with the agent.

The simulator runs thousands of these; tests assert on `history` and `events`. It has no thread and no clock:
whoever drives it (a test, or the simulator's timer heap) calls `finish()` or `fail()` when the audio would
end. Events are delivered synchronously, inside the call that causes them. Imports only the standard
library and the sound ports (never vlc).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent import ports as sp
from agent.errors import AudioError


@dataclass(frozen=True)
class PlayerCall:
    """One call made on the player, in order."""

    what: str  # "play", "stop", "set_volume" or "close"
    play_id: str = ""
    source: str = ""
    volume_pct: int | None = None


@dataclass(frozen=True)
class NowPlaying:
    play_id: str
    source: str
    volume_pct: int


class NullPlayer:
    """Player port without audio. `fail_source(src)` and `fail_next()` inject faults, like Mopidy's dummy;
    `refuse_next(n)` makes the next n play() calls raise AudioError (a dead output), with no event."""

    def __init__(self) -> None:
        self.history: list[PlayerCall] = []
        self.events: list[tuple[str, str, str]] = []
        self.now: NowPlaying | None = None
        self._on_event: sp.PlayEventCallback | None = None
        self._failing_sources: dict[str, str] = {}
        self._fail_next: list[str] = []
        self._refusals = 0
        self._closed = False

    # --- fault injection and driving -------------------------------------------------------------

    def fail_source(self, source: str, reason: str = sp.SOURCE_UNREACHABLE) -> None:
        """Every later play of `source` fails at once with `reason` (no "started")."""
        self._failing_sources[source] = reason

    def fail_next(self, reason: str = sp.DECODE_ERROR) -> None:
        """The next play fails at once with `reason`, whatever its source."""
        self._fail_next.append(reason)

    def refuse_next(self, count: int = 1) -> None:
        self._refusals = count

    def finish(self) -> str | None:
        """The current play reaches its end; returns its id (None if nothing plays)."""
        return self._end(sp.FINISHED, "")

    def fail(self, reason: str = sp.STREAM_DROPPED) -> str | None:
        """The current play fails mid-way (a stream drops, the output dies); returns its id."""
        return self._end(sp.FAILED, reason)

    # --- the port ------------------------------------------------------------------------------

    def play(self, play_id: str, source: str, *, volume_pct: int, on_event: sp.PlayEventCallback) -> None:
        if self._closed:
            raise AudioError("the player is closed")
        if self._refusals:
            self._refusals -= 1
            raise AudioError(f"null player: cannot open the output for {play_id} (injected)")
        self.history.append(PlayerCall("play", play_id, source, volume_pct))
        self._end(sp.STOPPED, "")
        self.now, self._on_event = NowPlaying(play_id, source, volume_pct), on_event
        reason = self._injected_failure(source)
        if reason is not None:
            self._end(sp.FAILED, reason)
        else:
            self._emit(play_id, sp.STARTED, "")

    def stop(self, play_id: str) -> None:
        self.history.append(PlayerCall("stop", play_id))
        if self.now is not None and self.now.play_id == play_id:
            self._end(sp.STOPPED, "")

    def set_volume(self, pct: int) -> None:
        self.history.append(PlayerCall("set_volume", volume_pct=pct))
        if self.now is not None:
            self.now = NowPlaying(self.now.play_id, self.now.source, pct)

    def close(self) -> None:
        self.history.append(PlayerCall("close"))
        self._end(sp.STOPPED, "")
        self._closed = True

    # --- inside --------------------------------------------------------------------------------

    def _injected_failure(self, source: str) -> str | None:
        if self._fail_next:
            return self._fail_next.pop(0)
        return self._failing_sources.get(source)

    def _end(self, kind: str, detail: str) -> str | None:
        if self.now is None:
            return None
        play_id, self.now = self.now.play_id, None
        self._emit(play_id, kind, detail)
        return play_id

    def _emit(self, play_id: str, kind: str, detail: str) -> None:
        self.events.append((play_id, kind, detail))
        if self._on_event is not None:
            self._on_event(play_id, kind, detail)

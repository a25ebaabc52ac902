"""Fake hardware for simulated units, timed on the shard's loop: a clock with skew and a shared offset, a player
with simulated play durations, and a preparer whose audio is always already cached.

They implement the agent's ports (agent.runtime.agent_runtime.Clock, agent.ports.Player, Preparing).
Must not import paho.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.core.events import Event, Prepared
from agent.ports import FAILED, FINISHED, OUTPUT_ERROR, STARTED, STOPPED, PlayEventCallback
from agent.runtime.loop import Loop, TimerHandle


@dataclass
class ClockBase:
    """Shared by every unit of a shard: an offset that moves the whole fleet's wall clock (e.g. to 05:29:30)."""

    offset_ms: int = 0


class SimClock:
    __slots__ = ("base", "is_synced", "skew_ms")

    def __init__(self, base: ClockBase, skew_ms: int, synced: bool) -> None:
        self.base, self.skew_ms, self.is_synced = base, skew_ms, synced

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.base.offset_ms + self.skew_ms

    def synced(self) -> bool:
        return self.is_synced


Observer = Callable[[str, str], None]  # (play_id, kind) for the shard's counters


class TimedPlayer:
    """Plays nothing, on time: `started` after a short delay, `finished` after a drawn duration (streams play
    until stopped). A unit marked faulty fails every play with output_error."""

    def __init__(self, loop: Loop, durations: Callable[[], float], start_delay_s: float, fails: bool,
                 observe: Observer) -> None:
        self.loop, self.durations, self.start_delay_s = loop, durations, start_delay_s
        self.fails, self.observe = fails, observe
        self._current: tuple[str, PlayEventCallback, list[TimerHandle]] | None = None

    def play(self, play_id: str, source: str, *, volume_pct: int, on_event: PlayEventCallback) -> None:
        self._end_current(STOPPED, "")
        if self.fails:
            self._current = (play_id, on_event, [])
            self._current[2].append(self.loop.call_later(self.start_delay_s, lambda: self._end_current(FAILED, OUTPUT_ERROR)))
            return
        timers = [self.loop.call_later(self.start_delay_s, lambda: self._started(play_id, on_event))]
        if not source.startswith(("http://", "https://")):  # a stream plays until the core stops it
            timers.append(self.loop.call_later(self.start_delay_s + self.durations(), lambda: self._end_current(FINISHED, "")))
        self._current = (play_id, on_event, timers)

    def _started(self, play_id: str, on_event: PlayEventCallback) -> None:
        self.observe(play_id, STARTED)
        on_event(play_id, STARTED, "")

    def _end_current(self, kind: str, detail: str) -> None:
        if self._current is None:
            return
        play_id, on_event, timers = self._current
        self._current = None
        for handle in timers:
            handle.cancel()
        self.observe(play_id, kind)
        on_event(play_id, kind, detail)

    def stop(self, play_id: str) -> None:
        if self._current is not None and self._current[0] == play_id:
            self._end_current(STOPPED, "")

    def set_volume(self, pct: int) -> None:
        pass

    def close(self) -> None:
        self._end_current(STOPPED, "")


class CachedPreparer:
    """Every source is already on the unit (emergency audio is pinned in the cache): Prepared comes at once."""

    def __init__(self, deliver: Callable[[Callable[[int], Event]], None]) -> None:
        self.deliver = deliver

    def submit(self, play_id: str, source: dict[str, object], pin: bool) -> None:
        media = f"/sim/cache/{source.get('sha256', play_id)}.mp3"
        self.deliver(lambda now: Prepared(now, play_id, media))

    def close(self) -> None:
        pass

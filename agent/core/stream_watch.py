"""The audio engine's watch over one play: when audio counts as started, when a stalled or dropped source
reconnects (after what backoff, resuming where), when a play has finished (held until its audio would have played)
and when it has failed, with which reason.

"Progress" is audio reaching the output. No progress for `stall_s` (2 x `stall_s` for a try still connecting), an
error, or the end of a live stream (or of a remote file that ends short) reconnects with a short backoff; a remote
file resumes where it stopped. A play whose audio stops flowing fails once `give_up_s` pass after its last progress
(a play that never starts: after it was asked for). Local files are not retried.

Pure: the player adapter (agent.adapters.audio.vlc_player) looks at its engine and passes what it saw with the time
(monotonic seconds); this module answers with the steps to take. It never reads a clock and does no I/O. Must not
import adapters, runtime or I/O modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from agent.ports import DECODE_ERROR, OUTPUT_ERROR, SOURCE_UNREACHABLE, STREAM_DROPPED, STREAM_STALLED

END_SLACK_MS = 1_000  # a remote file whose playing time ends further than this from its length ended early
MAX_BACKOFF_S = 2.0
FIRST_BACKOFF_S = 0.25


@dataclass(frozen=True)
class Limits:
    stall_s: float = 3.0
    give_up_s: float = 10.0


@dataclass(frozen=True)
class Seen:
    """One look at a try: audio out so far, media time reached, WAV ms written, length, output trouble."""

    progress: int
    time_ms: int
    written_ms: int
    length_ms: int
    seekable: bool
    output_refused: bool
    had_audio_track: bool = False


@dataclass
class Watch:
    """What the watch remembers of one play across its tries."""

    remote: bool  # a URL (retried, maybe resumed), not a local file
    last_progress_s: float  # the play was asked for then, if no audio came out yet
    tries: int = 0
    started: bool = False
    progress: int = 0  # of the current try
    time_ms: int = 0
    resumable: bool = False
    incident: str | None = None
    retry_at_s: float | None = None
    try_begun_s: float = 0.0
    try_audio_s: float | None = None  # when the current try's first audio came out
    finish_at_s: float | None = None  # "finished" held until the written audio would have played


class Act(Enum):
    STARTED = "started"  # report "started": the first audio came out
    FINISHED = "finished"  # end the play: finished
    FAILED = "failed"  # end the play: failed, for `reason`
    RETRY = "retry"  # close the current try, if one is open; a new one opens at retry_at_s
    OPEN = "open"  # open a new try now (begin_try gives where it starts)


@dataclass(frozen=True)
class Step:
    act: Act
    reason: str = ""


TERMINAL = (Act.FINISHED, Act.FAILED)


def begin_try(w: Watch, now: float) -> float:
    """A new try opens now: where in the source it starts (seconds; 0 unless the source can resume)."""
    w.tries += 1
    w.retry_at_s, w.progress, w.try_begun_s, w.try_audio_s = None, 0, now, None
    return w.time_ms / 1000 if w.resumable else 0.0


def tick(w: Watch, seen: Seen | None, now: float, limits: Limits) -> list[Step]:
    """Every poll: what the open try shows (None: no try open), then hold, give up, reconnect or let it play."""
    if w.finish_at_s is not None:
        return [Step(Act.FINISHED)] if now >= w.finish_at_s else []
    steps = note(w, seen, now) if seen is not None else []
    if _ends(steps):
        return steps
    return steps + _supervise(w, now, limits, try_open=seen is not None)


def try_ended(w: Watch, kind: str, seen: Seen, now: float) -> list[Step]:
    """The engine said the try ended (`end`) or broke (`error`); `seen` is its last word."""
    steps = note(w, seen, now)
    if _ends(steps):
        return steps
    if played_whole(w, kind, seen):
        return steps + _finish(w, seen, now)
    if w.remote:
        return steps + [_retry(w, now, STREAM_DROPPED)]
    return steps + [Step(Act.FAILED, DECODE_ERROR)]


def note(w: Watch, seen: Seen, now: float) -> list[Step]:
    """Record what the output shows; the first audio out is "started"."""
    w.time_ms = max(w.time_ms, seen.time_ms)
    w.resumable = w.resumable or (seen.seekable and seen.length_ms > 0)
    if seen.progress > w.progress:
        w.try_audio_s = w.try_audio_s or now
        w.progress, w.last_progress_s, w.incident = seen.progress, now, None
        return _mark_started(w)
    if seen.output_refused:
        return [Step(Act.FAILED, OUTPUT_ERROR)]
    return []


def played_whole(w: Watch, kind: str, seen: Seen) -> bool:
    """A local file that ended having audio; a remote file that ended near its length (live never ends)."""
    if kind != "end":
        return False
    if not w.remote:
        return w.started or seen.had_audio_track
    if seen.length_ms <= 0 or not seen.seekable:
        return False
    return w.started and not 0 < w.time_ms < seen.length_ms - END_SLACK_MS


def stalled(w: Watch, now: float, stall_s: float) -> bool:
    """No audio for stall_s; a try that has not played yet gets twice that to connect and buffer."""
    if w.progress == 0:
        return now - max(w.last_progress_s, w.try_begun_s) > 2 * stall_s
    return now - w.last_progress_s > stall_s


def give_up_reason(w: Watch) -> str:
    if w.remote:
        return w.incident or (STREAM_STALLED if w.started else SOURCE_UNREACHABLE)
    return OUTPUT_ERROR if w.started else DECODE_ERROR


def backoff_s(tries: int) -> float:
    return min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2.0 ** (tries - 1))


def _supervise(w: Watch, now: float, limits: Limits, *, try_open: bool) -> list[Step]:
    if now - w.last_progress_s > limits.give_up_s:
        return [Step(Act.FAILED, give_up_reason(w))]
    if w.retry_at_s is not None and now >= w.retry_at_s:
        return [Step(Act.OPEN)]
    if try_open and w.remote and stalled(w, now, limits.stall_s):
        return [_retry(w, now, STREAM_STALLED)]  # a local file is not retried: give_up decides
    return []


def _finish(w: Watch, seen: Seen, now: float) -> list[Step]:
    steps = _mark_started(w)
    hold_until = (w.try_audio_s or now) + seen.written_ms / 1000  # written_ms is 0 but for the WAV output
    if hold_until > now:
        w.finish_at_s = hold_until
        return steps
    return steps + [Step(Act.FINISHED)]


def _retry(w: Watch, now: float, reason: str) -> Step:
    w.incident = w.incident or (reason if w.started else SOURCE_UNREACHABLE)
    w.retry_at_s = now + backoff_s(w.tries)
    return Step(Act.RETRY)


def _mark_started(w: Watch) -> list[Step]:
    if w.started:
        return []
    w.started = True
    return [Step(Act.STARTED)]


def _ends(steps: list[Step]) -> bool:
    return any(s.act in TERMINAL for s in steps)

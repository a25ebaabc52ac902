"""The stream watch's decisions as tables: what the output shows, at what time -> the steps the player takes."""

from __future__ import annotations

import pytest

from agent.core import stream_watch as sw
from agent.core.stream_watch import Act, Limits, Seen, Step, Watch
from agent.ports import DECODE_ERROR, OUTPUT_ERROR, SOURCE_UNREACHABLE, STREAM_DROPPED, STREAM_STALLED

LIMITS = Limits(stall_s=3.0, give_up_s=10.0)
STARTED, FINISHED, RETRY, OPEN = Step(Act.STARTED), Step(Act.FINISHED), Step(Act.RETRY), Step(Act.OPEN)


def failed(reason: str) -> Step:
    return Step(Act.FAILED, reason)


def seen(progress: int = 0, time_ms: int = 0, written_ms: int = 0, length_ms: int = 0, seekable: bool = False,
         refused: bool = False, had_audio: bool = False) -> Seen:
    return Seen(progress, time_ms, written_ms, length_ms, seekable, refused, had_audio)


def watch(remote: bool = True, asked_s: float = 0.0, **fields: object) -> Watch:
    """A play asked for at `asked_s` whose first try opened then; `fields` set what earlier looks left behind."""
    w = Watch(remote, asked_s)
    sw.begin_try(w, asked_s)
    for name, value in fields.items():
        setattr(w, name, value)
    return w


# ---- every poll ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("w", "look", "now", "steps"), [
    # the first audio out is "started", once
    (watch(), seen(progress=1), 0.2, [STARTED]),
    (watch(started=True, progress=1), seen(progress=2), 0.4, []),
    # the output refuses the audio: failed at once
    (watch(), seen(refused=True), 0.2, [failed(OUTPUT_ERROR)]),
    # a stream still connecting gets 2 x stall_s, then reconnects; a playing one only stall_s
    (watch(), seen(), 5.9, []),
    (watch(), seen(), 6.1, [RETRY]),
    (watch(started=True, progress=5, last_progress_s=10.0), seen(progress=5), 12.9, []),
    (watch(started=True, progress=5, last_progress_s=10.0), seen(progress=5), 13.1, [RETRY]),
    # a local file is never retried: give_up_s decides, with the reason its history gives
    (watch(remote=False), seen(), 9.0, []),
    (watch(remote=False), seen(), 10.1, [failed(DECODE_ERROR)]),
    (watch(remote=False, started=True, progress=5, last_progress_s=1.0), seen(progress=5), 11.1,
     [failed(OUTPUT_ERROR)]),
    # give_up_s after the last progress ends a stream: its incident, else stalled or never reachable
    (watch(last_progress_s=1.0, started=True, incident=STREAM_DROPPED), None, 11.1, [failed(STREAM_DROPPED)]),
    (watch(last_progress_s=1.0, started=True), None, 11.1, [failed(STREAM_STALLED)]),
    (watch(), None, 10.1, [failed(SOURCE_UNREACHABLE)]),
    # no try open: wait for the backoff, then open one
    (watch(retry_at_s=4.0), None, 3.9, []),
    (watch(retry_at_s=4.0), None, 4.0, [OPEN]),
    # a finished play is held until its written audio would have played
    (watch(started=True, finish_at_s=8.0), None, 7.9, []),
    (watch(started=True, finish_at_s=8.0), None, 8.0, [FINISHED]),
])
def test_tick(w: Watch, look: Seen | None, now: float, steps: list[Step]) -> None:
    assert sw.tick(w, look, now, LIMITS) == steps


# ---- a try ends (EndReached or EncounteredError) ---------------------------------------------------------


@pytest.mark.parametrize(("w", "kind", "look", "steps"), [
    # a local file that ended having played, or having an audio track (a short file can end unseen)
    (watch(remote=False, started=True, progress=3), "end", seen(progress=3), [FINISHED]),
    (watch(remote=False), "end", seen(had_audio=True), [STARTED, FINISHED]),
    (watch(remote=False), "end", seen(), [failed(DECODE_ERROR)]),
    (watch(remote=False, started=True, progress=3), "error", seen(progress=3), [failed(DECODE_ERROR)]),
    # a remote file that ended near its length finished; short of it, or a live stream's end, reconnects
    (watch(started=True, progress=3), "end", seen(progress=3, time_ms=59_500, length_ms=60_000, seekable=True),
     [FINISHED]),
    (watch(started=True, progress=3), "end", seen(progress=3, time_ms=20_000, length_ms=60_000, seekable=True),
     [RETRY]),
    (watch(started=True, progress=3), "end", seen(progress=3, time_ms=20_000), [RETRY]),
    (watch(), "error", seen(), [RETRY]),
    # the output refused the audio: nothing else counts
    (watch(remote=False), "end", seen(refused=True, had_audio=True), [failed(OUTPUT_ERROR)]),
])
def test_try_ended(w: Watch, kind: str, look: Seen, steps: list[Step]) -> None:
    assert sw.try_ended(w, kind, look, now=5.0) == steps


def test_a_drop_after_audio_is_dropped_before_it_is_unreachable() -> None:
    playing, never = watch(started=True, progress=3), watch()
    sw.try_ended(playing, "error", seen(progress=3), now=5.0)
    sw.try_ended(never, "error", seen(), now=5.0)
    assert (playing.incident, never.incident) == (STREAM_DROPPED, SOURCE_UNREACHABLE)


def test_new_audio_clears_the_incident_and_restarts_the_give_up_clock() -> None:
    w = watch(started=True, progress=0, incident=STREAM_DROPPED, last_progress_s=1.0)
    assert sw.tick(w, seen(progress=1), 10.5, LIMITS) == []
    assert (w.incident, w.last_progress_s) == (None, 10.5)
    assert sw.tick(w, seen(progress=1), 20.4, LIMITS) == [RETRY]  # stalled again, not given up
    assert sw.tick(w, None, 20.6, LIMITS) == [failed(STREAM_STALLED)]


def test_finish_holds_for_the_audio_written_since_the_first_audio_out() -> None:
    w = watch(remote=False)
    assert sw.tick(w, seen(progress=1), 1.0, LIMITS) == [STARTED]
    assert sw.try_ended(w, "end", seen(progress=9, written_ms=4_000), now=2.0) == []
    assert w.finish_at_s == 5.0
    assert sw.tick(w, None, 5.0, LIMITS) == [FINISHED]


# ---- reconnects ------------------------------------------------------------------------------------------


def test_backoff_doubles_from_a_quarter_second_up_to_two() -> None:
    assert [sw.backoff_s(n) for n in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_a_retry_is_due_after_the_backoff_of_its_try() -> None:
    w = watch()
    sw.begin_try(w, 0.0)  # the second try
    assert sw.tick(w, seen(), 6.5, LIMITS) == [RETRY]
    assert w.retry_at_s == 6.5 + 0.5


@pytest.mark.parametrize(("resumable", "time_ms", "start_s"), [(False, 12_000, 0.0), (True, 12_000, 12.0)])
def test_a_new_try_resumes_only_a_seekable_source(resumable: bool, time_ms: int, start_s: float) -> None:
    w = watch(resumable=resumable, time_ms=time_ms, progress=4, retry_at_s=3.0, try_audio_s=1.0)
    assert sw.begin_try(w, 3.0) == start_s
    assert (w.tries, w.progress, w.retry_at_s, w.try_begun_s, w.try_audio_s) == (2, 0, None, 3.0, None)


def test_a_seekable_source_with_a_length_becomes_resumable() -> None:
    w = watch()
    sw.tick(w, seen(progress=1, time_ms=3_000, length_ms=60_000, seekable=True), 1.0, LIMITS)
    assert (w.resumable, w.time_ms) == (True, 3_000)

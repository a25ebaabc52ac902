"""The Player port over libVLC (python-vlc): local files and streams (HTTP, Icecast, HLS) to one output.

Only this file imports vlc. Must not import the runtime or another adapter (its outputs, as data, are in
agent.adapters.audio.outputs); of the core, only the stream watch's decisions (agent.core.stream_watch).

Outputs, chosen by a string (like pySerial URLs); all four keep real time, as a unit on a pole would:
  alsa:<device>  the unit's sound card (`--aout=alsa --alsa-audio-device=<device>`), paced by the hardware.
  wav:<dir>      libVLC's own stream output writes the decoded audio to <dir>/<play_id>.wav (16-bit PCM,
                 unity gain; a stream retry n>=2 writes <play_id>.<n>.wav). A `display` output with neither
                 audio nor video paces the input; libVLC reads ~1 s ahead, so "finished" is held until the
                 audio written would have played.
  null           real decoding into libVLC's amem callbacks, each block held until its play date.
  tap:<dir>      as null, and each block is written to <dir>/<play_id>.wav as it is due (48 kHz 16-bit
                 stereo): what the sound card would get, after libVLC's volume (a cubic curve: gain is
                 (volume_pct / 100) ** 3, as on alsa).

Volume: libVLC takes a volume only once a try's audio output exists, so each try sets it as soon as it can
(a short busy wait after play(), then at every poll; the very first block, ~50 ms, may still slip out at libVLC's
default level); set_volume() changes the current try's level at once.

Threads: libVLC calls back on its own threads; those callbacks only put a message on this adapter's inbox.
One worker thread owns every libVLC player and calls `on_event`, which must itself only hand off.

Terminal events: every play gets exactly one of finished / failed / stopped. stop(play_id), a newer play()
and close() end the current play with "stopped"; after stop() returns, no further event comes for that play.

Stalls and drops: agent.core.stream_watch decides (when a stalled or dropped stream reconnects, resumes, finishes
or fails, and why); this file only does libVLC's I/O and hands the watch what the output shows. "Progress" is audio
reaching the output (amem blocks, libVLC's played-buffer count, or bytes in the WAV); libVLC's EncounteredError and
EndReached end a try. A play whose audio stops flowing ends `failed` no later than `give_up_s` + `poll_s` after its
last progress. Defaults: stall_s=3, give_up_s=10, poll_s=0.2. Audio already buffered (`network_caching_ms`, default
1000) still plays out before progress stops.
"""

from __future__ import annotations

import ctypes
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, assert_never

import vlc  # untyped: the project config sets ignore_missing_imports

from agent import ports as sp
from agent.adapters.audio.outputs import (
    AMEM_FRAME_BYTES,
    AMEM_RATE,
    Output,
    PcmTap,
    instance_args,
    parse_output,
    wav_dir,
    wav_sout,
    wav_written,
)
from agent.core import stream_watch
from agent.core.stream_watch import Act, Limits, Seen, Step, Watch
from agent.errors import AudioError

__all__ = ["VlcPlayer", "is_url", "parse_output"]

_log = logging.getLogger(__name__)

_URL = re.compile(r"^(https?|icyx?|mms[hu]?|rtsp|file)://", re.IGNORECASE)
_VOLUME_WAIT_S = 0.1  # how long a new try waits for libVLC's audio output, to set its volume before audio flows


def is_url(source: str) -> bool:
    return bool(_URL.match(source))


class _Pacer:
    """amem callbacks that hold each decoded block until its play date, so `null` keeps real time."""

    def __init__(self, tap: PcmTap | None = None) -> None:
        self._tap = tap
        self._cancel = threading.Event()
        self._end_us = 0
        self.blocks = 0  # written by the audio thread only; an int read is atomic
        # ctypes thunks must outlive the player: keep them on self.
        self._play_cb = vlc.CallbackDecorators.AudioPlayCb(self._on_play)
        self._drain_cb = vlc.CallbackDecorators.AudioDrainCb(self._on_drain)

    def attach(self, player: Any) -> None:
        player.audio_set_callbacks(self._play_cb, None, None, None, self._drain_cb, None)
        player.audio_set_format("S16N", AMEM_RATE, 2)

    def cancel(self) -> None:
        self._cancel.set()  # stop() waits for the audio thread: never leave it sleeping

    def close(self) -> None:
        """After the player stopped: libVLC's audio thread is done with the tap."""
        if self._tap is not None:
            self._tap.close()

    def _on_play(self, _data: Any, samples: Any, count: int, pts: int) -> None:
        self._end_us = pts + count * 1_000_000 // AMEM_RATE
        self._wait_until(pts)
        if self._tap is not None and not self._cancel.is_set():
            self._tap.write(ctypes.string_at(samples, count * AMEM_FRAME_BYTES))
        self.blocks += 1

    def _on_drain(self, _data: Any) -> None:
        self._wait_until(self._end_us)

    def _wait_until(self, date_us: int) -> None:
        delay_s = (date_us - vlc.libvlc_clock()) / 1e6
        if delay_s > 0:
            self._cancel.wait(delay_s)


class _Attempt:
    """One libVLC media player for one try of one play; its events reach the worker tagged with `token`."""

    def __init__(self, instance: Any, output: Output, wav_path: Path | None, token: int) -> None:
        self.token, self.wav_path, self._instance = token, wav_path, instance
        self._sout = output.sout_wav
        tap = PcmTap(wav_path) if output.kind == "tap" and wav_path is not None else None
        self._pacer = _Pacer(tap) if output.amem else None
        self.player = instance.media_player_new()
        self.media: Any = None
        self.start_ms = 0
        self.volume_pct, self._volume_set = 100, False

    def start(self, source: str, start_s: float, volume_pct: int, post: Any) -> bool:
        self.media = self._instance.media_new(source) if is_url(source) else self._instance.media_new_path(source)
        if start_s > 0:
            self.media.add_option(f":start-time={start_s:.3f}")
            self.start_ms = int(start_s * 1000)
        if self._sout and self.wav_path is not None:
            self.wav_path.unlink(missing_ok=True)  # an old file would look like progress
            self.media.add_option(wav_sout(self.wav_path))
        self.player.set_media(self.media)
        if self._pacer is not None:
            self._pacer.attach(self.player)
        self._listen(post)
        started = bool(self.player.play() == 0)
        self.set_volume(volume_pct, wait_s=_VOLUME_WAIT_S if started else 0.0)
        return started

    def set_volume(self, pct: int, wait_s: float = 0.0) -> None:
        """libVLC takes a volume only once its audio output exists (a little after play(), later for a stream that
        is still connecting): until it does, look() tries again at every poll."""
        self.volume_pct = pct
        deadline = time.monotonic() + wait_s
        while not self._apply_volume() and time.monotonic() < deadline:
            time.sleep(0)

    def _apply_volume(self) -> bool:
        self._volume_set = self.player.audio_set_volume(self.volume_pct) == 0
        return self._volume_set

    def _listen(self, post: Any) -> None:
        events = self.player.event_manager()
        token = self.token  # only hand off: calling libVLC from its own callback thread deadlocks
        events.event_attach(vlc.EventType.MediaPlayerEncounteredError, lambda _e: post(("vlc", token, "error")))
        events.event_attach(vlc.EventType.MediaPlayerEndReached, lambda _e: post(("vlc", token, "end")))

    def look(self) -> Seen:
        if not self._volume_set:
            self._apply_volume()
        stats = vlc.MediaStats()
        if self.media is not None:
            self.media.get_stats(stats)
        refused = not self._sout and stats.lost_abuffers > 0 and stats.played_abuffers == 0
        progress, written_ms = self._progress(stats)
        time_ms = max(self.start_ms + written_ms if progress else 0, self.player.get_time())
        return Seen(progress, time_ms, written_ms, max(0, self.player.get_length()),
                     bool(self.player.is_seekable()), refused)

    def _progress(self, stats: Any) -> tuple[int, int]:
        """Audio out so far (and WAV ms): exact for wav, tap and null; libVLC's statistics (~4/s) for alsa."""
        if self._sout and self.wav_path is not None:
            return wav_written(self.wav_path)
        return (self._pacer.blocks if self._pacer is not None else int(stats.played_abuffers)), 0

    def finish(self) -> Seen:
        """Close libVLC (so a WAV is complete), then look: the last word on what this try played."""
        before = self.look()
        tracks = self.media.tracks_get() if self.media is not None else None
        had_audio = any(t.type == vlc.TrackType.audio for t in tracks or ())  # a short file can end unseen
        self.close()
        progress, written_ms = self._progress(vlc.MediaStats())  # statistics die with the player: keep `before`
        time_ms = max(before.time_ms, self.start_ms + written_ms if progress else 0)
        return Seen(max(progress, before.progress), time_ms, max(written_ms, before.written_ms),
                     before.length_ms, before.seekable, before.output_refused, had_audio)

    def close(self) -> None:
        if self._pacer is not None:
            self._pacer.cancel()
        self.player.stop()  # synchronous in libVLC 3: never called from a libVLC thread
        if self._pacer is not None:
            self._pacer.close()
        self.player.release()
        if self.media is not None:
            self.media.release()
            self.media = None


@dataclass
class _Play:
    """The current play, owned by the worker thread: its libVLC try and the watch's memory of it."""

    play_id: str
    source: str
    volume_pct: int
    on_event: sp.PlayEventCallback
    watch: Watch
    attempt: _Attempt | None = None
    ended: bool = False


class VlcPlayer:
    """Player port on libVLC. play() and set_volume() only post to the worker; stop() and close() return once
    the audio is off. `VlcPlayer(output="wav:/tmp/x", stall_s=1, give_up_s=3)` in tests."""

    def __init__(self, output: str = "null", *, stall_s: float = 3.0, give_up_s: float = 10.0,
                 poll_s: float = 0.2, network_caching_ms: int = 1000, stop_wait_s: float = 5.0) -> None:
        self._output = parse_output(output)
        self._limits, self._poll_s = Limits(stall_s, give_up_s), poll_s
        self._stop_wait_s = stop_wait_s
        self._wav_dir = wav_dir(self._output)
        self._instance = vlc.Instance(instance_args(self._output, network_caching_ms))
        if self._instance is None:
            raise AudioError(f"libVLC did not start for output {output!r}")
        self._inbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._current: _Play | None = None
        self._tokens = 0
        self._closed = threading.Event()
        self._worker = threading.Thread(target=self._run, name="vlc-player", daemon=True)
        self._worker.start()

    # --- the port: called from the runtime's thread -------------------------------------------

    def play(self, play_id: str, source: str, *, volume_pct: int, on_event: sp.PlayEventCallback) -> None:
        if self._closed.is_set():
            raise AudioError("the player is closed")
        if not 0 <= volume_pct <= 100:
            raise ValueError(f"volume_pct must be 0..100, got {volume_pct}")
        self._inbox.put(("play", _Play(play_id, source, volume_pct, on_event, Watch(is_url(source), time.monotonic()))))

    def stop(self, play_id: str) -> None:
        if not self._closed.is_set():
            self._ask("stop", play_id)

    def set_volume(self, pct: int) -> None:
        if not 0 <= pct <= 100:
            raise ValueError(f"volume pct must be 0..100, got {pct}")
        self._inbox.put(("volume", pct))

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._ask("close", None)
        if threading.current_thread() is not self._worker:  # never join ourselves
            self._worker.join(self._stop_wait_s)
            self._instance.release()

    def _ask(self, what: str, arg: object) -> None:
        """Post a request and wait until the worker did it (audio off), unless we are the worker."""
        done = threading.Event()
        self._inbox.put((what, arg, done))
        if threading.current_thread() is not self._worker:
            done.wait(self._stop_wait_s)

    # --- the worker thread: owns every libVLC object --------------------------------------------

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                self._handle(self._inbox.get(timeout=self._poll_s))
            except queue.Empty:
                pass
            self._watch(time.monotonic())

    def _handle(self, msg: tuple[Any, ...]) -> None:
        what = msg[0]
        if what == "play":
            self._begin(msg[1])
        elif what == "vlc":
            self._on_vlc(msg[1], msg[2])
        elif what == "volume":
            self._set_volume(msg[1])
        else:
            self._end_on_request(what, msg[1], msg[2])

    def _end_on_request(self, what: str, play_id: str | None, done: threading.Event) -> None:
        play = self._current
        if play is not None and (what == "close" or play.play_id == play_id):
            self._end(play, sp.STOPPED, "")
        if what == "close":
            self._closed.set()
        done.set()

    def _set_volume(self, pct: int) -> None:
        play = self._current
        if play is not None:
            play.volume_pct = pct
            if play.attempt is not None:
                play.attempt.set_volume(pct)

    def _begin(self, play: _Play) -> None:
        if self._current is not None:
            self._end(self._current, sp.STOPPED, "")
        self._current = play
        if not is_url(play.source) and not Path(play.source).is_file():
            self._end(play, sp.FAILED, sp.SOURCE_UNREACHABLE)
            return
        self._try(play, time.monotonic())

    def _try(self, play: _Play, now: float) -> None:
        """Open a fresh libVLC player; a fresh one per try means stale events are recognised by token."""
        self._tokens += 1
        start_s = stream_watch.begin_try(play.watch, now)
        play.attempt = _Attempt(self._instance, self._output, self._wav_path(play), self._tokens)
        if not play.attempt.start(play.source, start_s, play.volume_pct, self._inbox.put):
            self._on_vlc(play.attempt.token, "error")

    def _wav_path(self, play: _Play) -> Path | None:
        if self._wav_dir is None:
            return None
        name = re.sub(r"[^A-Za-z0-9_-]", "_", play.play_id)
        tries = play.watch.tries
        return self._wav_dir / (f"{name}.wav" if tries <= 1 else f"{name}.{tries}.wav")

    def _on_vlc(self, token: int, kind: str) -> None:
        play = self._current
        if play is None or play.attempt is None or play.attempt.token != token:
            return  # from a player we already closed
        now = time.monotonic()
        seen, play.attempt = play.attempt.finish(), None
        self._take(play, stream_watch.try_ended(play.watch, kind, seen, now), now)

    def _watch(self, now: float) -> None:
        """Every poll: show the watch what the output shows, and take the steps it decides."""
        play = self._current
        if play is not None:
            seen = play.attempt.look() if play.attempt is not None else None
            self._take(play, stream_watch.tick(play.watch, seen, now, self._limits), now)

    def _take(self, play: _Play, steps: list[Step], now: float) -> None:
        for step in steps:
            if play.ended:
                return
            match step.act:
                case Act.STARTED:
                    self._emit(play, sp.STARTED, "")
                case Act.FINISHED:
                    self._end(play, sp.FINISHED, "")
                case Act.FAILED:
                    self._end(play, sp.FAILED, step.reason)
                case Act.RETRY:
                    self._close_attempt(play)
                case Act.OPEN:
                    self._try(play, now)
                case _:
                    assert_never(step.act)

    def _end(self, play: _Play, kind: str, detail: str) -> None:
        """Close libVLC first (so a WAV is complete), then report the one terminal event."""
        if play.ended:
            return
        play.ended = True
        self._close_attempt(play)
        if self._current is play:
            self._current = None
        self._emit(play, kind, detail)

    @staticmethod
    def _close_attempt(play: _Play) -> None:
        if play.attempt is not None:
            play.attempt.close()
            play.attempt = None

    @staticmethod
    def _emit(play: _Play, kind: str, detail: str) -> None:
        try:
            play.on_event(play.play_id, kind, detail)
        except Exception:  # noqa: BLE001 - a broken callback must not kill the audio thread
            _log.exception("on_event failed for play %s (%s)", play.play_id, kind)

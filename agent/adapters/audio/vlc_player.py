"""The Player port over libVLC (python-vlc): local files and streams (HTTP, Icecast, HLS) to one output.

Only this file imports vlc. Must not import the core, the runtime or another adapter.

Outputs, chosen by a string (like pySerial URLs); all three keep real time, as a unit on a pole would:
  alsa:<device>  the unit's sound card (`--aout=alsa --alsa-audio-device=<device>`), paced by the hardware.
  wav:<dir>      libVLC's own stream output writes the decoded audio to <dir>/<play_id>.wav (16-bit PCM,
                 unity gain; a stream retry n>=2 writes <play_id>.<n>.wav). A `display` output with neither
                 audio nor video paces the input; libVLC reads ~1 s ahead, so "finished" is held until the
                 audio written would have played.
  null           real decoding into libVLC's amem callbacks, each block held until its play date.

Threads: libVLC calls back on its own threads; those callbacks only put a message on this adapter's inbox.
One worker thread owns every libVLC player and calls `on_event`, which must itself only hand off.

Terminal events: every play gets exactly one of finished / failed / stopped. stop(play_id), a newer play()
and close() end the current play with "stopped"; after stop() returns, no further event comes for that play.

Stalls and drops (URL sources): "progress" is audio reaching the output (amem blocks, libVLC's played-buffer
count, or bytes in the WAV). No progress for `stall_s` (2 x `stall_s` for a try still connecting), libVLC's
EncounteredError, or EndReached on a live stream (or a remote file that ends short) reconnects with a short
backoff; a remote file resumes where it stopped. A play whose audio stops flowing ends `failed` no later
than `give_up_s` + `poll_s` after its last progress (a play that never starts: after play()). Defaults:
stall_s=3, give_up_s=10, poll_s=0.2. Audio already buffered (`network_caching_ms`, default 1000) still
plays out before progress stops. Local files are not retried.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vlc  # untyped: the project config sets ignore_missing_imports

from agent import ports as sp
from agent.errors import AudioError, ConfigError

_log = logging.getLogger(__name__)

_URL = re.compile(r"^(https?|icyx?|mms[hu]?|rtsp|file)://", re.IGNORECASE)
_AMEM_RATE = 48_000
_END_SLACK_MS = 1_000  # a remote file whose playing time ends further than this from its length ended early
_MAX_BACKOFF_S = 2.0
_BASE_ARGS = ("--no-video", "--no-xlib", "--no-spu", "--no-osd", "--no-lua", "--ignore-config",
              "--no-metadata-network-access", "--verbose=0")


@dataclass(frozen=True)
class Output:
    """Where audio goes: kind is "alsa", "wav" or "null"; target is the ALSA device or the WAV directory."""

    kind: str
    target: str = ""


def parse_output(spec: str) -> Output:
    """`alsa:<device>`, `wav:<dir>` or `null`; anything else is a ConfigError naming what is allowed."""
    kind, sep, target = spec.partition(":")
    if spec == "null" or (kind in ("alsa", "wav") and sep and target):
        return Output(kind, target)
    raise ConfigError(f"unknown audio output {spec!r}: expected alsa:<device>, wav:<dir> or null")


def instance_args(output: Output, network_caching_ms: int) -> list[str]:
    """libVLC instance options for an output: alsa picks the device; the others never probe a sound card."""
    args = [*_BASE_ARGS, f"--network-caching={network_caching_ms}"]
    if output.kind == "alsa":
        return [*args, "--aout=alsa", f"--alsa-audio-device={output.target}"]
    return [*args, "--aout=adummy"]


def wav_sout(path: Path) -> str:
    """Stream output: decode to 16-bit PCM, mux WAV into a file, and pace the input through `display`."""
    dst = str(path).replace("\\", "\\\\").replace('"', '\\"')
    return (':sout=#transcode{acodec=s16l,vcodec=none,scodec=none}'
            f':duplicate{{dst=std{{access=file,mux=wav,dst="{dst}"}},dst=display{{noaudio,novideo}}}}')


def is_url(source: str) -> bool:
    return bool(_URL.match(source))


def wav_written(path: Path) -> tuple[int, int]:
    """(bytes, ms) of audio after the WAV header so far, (0, 0) if none yet: how the wav output shows progress."""
    try:
        with path.open("rb") as f:
            head = f.read(128)
            size = path.stat().st_size
    except OSError:
        return 0, 0
    fmt, data = head.find(b"fmt "), head.find(b"data")
    if fmt < 0 or data < 0:
        return 0, 0
    audio = max(0, size - data - 8)
    byte_rate = int.from_bytes(head[fmt + 16 : fmt + 20], "little") or 1
    return audio, audio * 1000 // byte_rate


def _wav_dir(output: Output) -> Path | None:
    if output.kind != "wav":
        return None
    try:
        Path(output.target).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AudioError(f"cannot create the WAV output directory {output.target}: {exc}") from exc
    return Path(output.target)


class _Pacer:
    """amem callbacks that hold each decoded block until its play date, so `null` keeps real time."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._end_us = 0
        self.blocks = 0  # written by the audio thread only; an int read is atomic
        # ctypes thunks must outlive the player: keep them on self.
        self._play_cb = vlc.CallbackDecorators.AudioPlayCb(self._on_play)
        self._drain_cb = vlc.CallbackDecorators.AudioDrainCb(self._on_drain)

    def attach(self, player: Any) -> None:
        player.audio_set_callbacks(self._play_cb, None, None, None, self._drain_cb, None)
        player.audio_set_format("S16N", _AMEM_RATE, 2)

    def cancel(self) -> None:
        self._cancel.set()  # stop() waits for the audio thread: never leave it sleeping

    def _on_play(self, _data: Any, _samples: Any, count: int, pts: int) -> None:
        self._end_us = pts + count * 1_000_000 // _AMEM_RATE
        self._wait_until(pts)
        self.blocks += 1

    def _on_drain(self, _data: Any) -> None:
        self._wait_until(self._end_us)

    def _wait_until(self, date_us: int) -> None:
        delay_s = (date_us - vlc.libvlc_clock()) / 1e6
        if delay_s > 0:
            self._cancel.wait(delay_s)


@dataclass(frozen=True)
class _Seen:
    """One look at a try: audio out so far, media time reached, WAV ms written, length, output trouble."""

    progress: int
    time_ms: int
    written_ms: int
    length_ms: int
    seekable: bool
    output_refused: bool
    had_audio_track: bool = False


class _Attempt:
    """One libVLC media player for one try of one play; its events reach the worker tagged with `token`."""

    def __init__(self, instance: Any, output: Output, wav_path: Path | None, token: int) -> None:
        self.token, self.wav_path, self._instance = token, wav_path, instance
        self._pacer = _Pacer() if output.kind == "null" else None
        self.player = instance.media_player_new()
        self.media: Any = None
        self.start_ms = 0

    def start(self, source: str, start_s: float, volume_pct: int, post: Any) -> bool:
        self.media = self._instance.media_new(source) if is_url(source) else self._instance.media_new_path(source)
        if start_s > 0:
            self.media.add_option(f":start-time={start_s:.3f}")
            self.start_ms = int(start_s * 1000)
        if self.wav_path is not None:
            self.wav_path.unlink(missing_ok=True)  # an old file would look like progress
            self.media.add_option(wav_sout(self.wav_path))
        self.player.set_media(self.media)
        if self._pacer is not None:
            self._pacer.attach(self.player)
        self._listen(post)
        self.player.audio_set_volume(volume_pct)
        return bool(self.player.play() == 0)

    def _listen(self, post: Any) -> None:
        events = self.player.event_manager()
        token = self.token  # only hand off: calling libVLC from its own callback thread deadlocks
        events.event_attach(vlc.EventType.MediaPlayerEncounteredError, lambda _e: post(("vlc", token, "error")))
        events.event_attach(vlc.EventType.MediaPlayerEndReached, lambda _e: post(("vlc", token, "end")))

    def look(self) -> _Seen:
        stats = vlc.MediaStats()
        if self.media is not None:
            self.media.get_stats(stats)
        refused = self.wav_path is None and stats.lost_abuffers > 0 and stats.played_abuffers == 0
        progress, written_ms = self._progress(stats)
        time_ms = max(self.start_ms + written_ms if progress else 0, self.player.get_time())
        return _Seen(progress, time_ms, written_ms, max(0, self.player.get_length()),
                     bool(self.player.is_seekable()), refused)

    def _progress(self, stats: Any) -> tuple[int, int]:
        """Audio out so far (and WAV ms): exact for wav and null; libVLC's statistics (~4/s) for alsa."""
        if self.wav_path is not None:
            return wav_written(self.wav_path)
        return (self._pacer.blocks if self._pacer is not None else int(stats.played_abuffers)), 0

    def finish(self) -> _Seen:
        """Close libVLC (so a WAV is complete), then look: the last word on what this try played."""
        before = self.look()
        tracks = self.media.tracks_get() if self.media is not None else None
        had_audio = any(t.type == vlc.TrackType.audio for t in tracks or ())  # a short file can end unseen
        self.close()
        progress, written_ms = self._progress(vlc.MediaStats())  # statistics die with the player: keep `before`
        time_ms = max(before.time_ms, self.start_ms + written_ms if progress else 0)
        return _Seen(max(progress, before.progress), time_ms, max(written_ms, before.written_ms),
                     before.length_ms, before.seekable, before.output_refused, had_audio)

    def close(self) -> None:
        if self._pacer is not None:
            self._pacer.cancel()
        self.player.stop()  # synchronous in libVLC 3: never called from a libVLC thread
        self.player.release()
        if self.media is not None:
            self.media.release()
            self.media = None


@dataclass
class _Play:
    """State of the current play, owned by the worker thread."""

    play_id: str
    source: str
    volume_pct: int
    on_event: sp.PlayEventCallback
    last_progress_s: float
    attempt: _Attempt | None = None
    tries: int = 0
    started: bool = False
    progress: int = 0  # of the current try
    time_ms: int = 0
    resumable: bool = False
    incident: str | None = None
    retry_at_s: float | None = None
    try_begun_s: float = 0.0
    try_audio_s: float | None = None  # when the current try's first audio came out
    finish_at_s: float | None = None  # "finished" held until the WAV's audio would have played
    ended: bool = False


class VlcPlayer:
    """Player port on libVLC. play() and set_volume() only post to the worker; stop() and close() return once
    the audio is off. `VlcPlayer(output="wav:/tmp/x", stall_s=1, give_up_s=3)` in tests."""

    def __init__(self, output: str = "null", *, stall_s: float = 3.0, give_up_s: float = 10.0,
                 poll_s: float = 0.2, network_caching_ms: int = 1000, stop_wait_s: float = 5.0) -> None:
        self._output = parse_output(output)
        self._stall_s, self._give_up_s, self._poll_s = stall_s, give_up_s, poll_s
        self._stop_wait_s = stop_wait_s
        self._wav_dir = _wav_dir(self._output)
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
        self._inbox.put(("play", _Play(play_id, source, volume_pct, on_event, time.monotonic())))

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
                play.attempt.player.audio_set_volume(pct)

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
        play.tries += 1
        play.retry_at_s, play.progress, play.try_begun_s, play.try_audio_s = None, 0, now, None
        play.attempt = _Attempt(self._instance, self._output, self._wav_path(play), self._tokens)
        start_s = play.time_ms / 1000 if play.resumable else 0.0
        if not play.attempt.start(play.source, start_s, play.volume_pct, self._inbox.put):
            self._on_vlc(play.attempt.token, "error")

    def _wav_path(self, play: _Play) -> Path | None:
        if self._wav_dir is None:
            return None
        name = re.sub(r"[^A-Za-z0-9_-]", "_", play.play_id)
        return self._wav_dir / (f"{name}.wav" if play.tries <= 1 else f"{name}.{play.tries}.wav")

    def _on_vlc(self, token: int, kind: str) -> None:
        play = self._current
        if play is None or play.attempt is None or play.attempt.token != token:
            return  # from a player we already closed
        now = time.monotonic()
        seen, play.attempt = play.attempt.finish(), None
        self._note(play, seen, now)
        if play.ended:
            return
        if self._played_whole(play, kind, seen):
            self._finish(play, seen, now)
        elif is_url(play.source):
            self._retry(play, now, sp.STREAM_DROPPED)
        else:
            self._end(play, sp.FAILED, sp.DECODE_ERROR)

    def _played_whole(self, play: _Play, kind: str, seen: _Seen) -> bool:
        """A local file that ended having audio; a remote file that ended near its length (live never ends)."""
        if kind != "end":
            return False
        if not is_url(play.source):
            return play.started or seen.had_audio_track
        if seen.length_ms <= 0 or not seen.seekable:
            return False
        return play.started and not 0 < play.time_ms < seen.length_ms - _END_SLACK_MS

    def _finish(self, play: _Play, seen: _Seen, now: float) -> None:
        self._mark_started(play)
        hold_until = (play.try_audio_s or now) + seen.written_ms / 1000  # written_ms is 0 but for wav
        if hold_until > now:
            play.finish_at_s = hold_until
        else:
            self._end(play, sp.FINISHED, "")

    def _retry(self, play: _Play, now: float, reason: str) -> None:
        self._close_attempt(play)
        play.incident = play.incident or (reason if play.started else sp.SOURCE_UNREACHABLE)
        play.retry_at_s = now + min(_MAX_BACKOFF_S, 0.25 * 2 ** (play.tries - 1))

    def _watch(self, now: float) -> None:
        """Every poll: look at the output, then decide (hold, give up, reconnect, or let it play)."""
        play = self._current
        if play is None:
            return
        if play.finish_at_s is not None and now >= play.finish_at_s:
            self._end(play, sp.FINISHED, "")
        elif play.finish_at_s is None:
            if play.attempt is not None:
                self._note(play, play.attempt.look(), now)
            if not play.ended:
                self._supervise(play, now)

    def _supervise(self, play: _Play, now: float) -> None:
        if now - play.last_progress_s > self._give_up_s:
            self._give_up(play)
        elif play.retry_at_s is not None and now >= play.retry_at_s:
            self._try(play, now)
        elif play.attempt is not None and is_url(play.source) and self._stalled(play, now):
            self._retry(play, now, sp.STREAM_STALLED)  # a local file is not retried: give_up decides

    def _note(self, play: _Play, seen: _Seen, now: float) -> None:
        """Record what the output shows; the first audio out is "started"."""
        play.time_ms = max(play.time_ms, seen.time_ms)
        play.resumable = play.resumable or (seen.seekable and seen.length_ms > 0)
        if seen.progress > play.progress:
            play.try_audio_s = play.try_audio_s or now
            play.progress, play.last_progress_s, play.incident = seen.progress, now, None
            self._mark_started(play)
        elif seen.output_refused:
            self._end(play, sp.FAILED, sp.OUTPUT_ERROR)

    def _mark_started(self, play: _Play) -> None:
        if not play.started:
            play.started = True
            self._emit(play, sp.STARTED, "")

    def _stalled(self, play: _Play, now: float) -> bool:
        """No audio for stall_s; a try that has not played yet gets twice that to connect and buffer."""
        if play.progress == 0:
            return now - max(play.last_progress_s, play.try_begun_s) > 2 * self._stall_s
        return now - play.last_progress_s > self._stall_s

    def _give_up(self, play: _Play) -> None:
        if is_url(play.source):
            reason = play.incident or (sp.STREAM_STALLED if play.started else sp.SOURCE_UNREACHABLE)
        else:
            reason = sp.OUTPUT_ERROR if play.started else sp.DECODE_ERROR
        self._end(play, sp.FAILED, reason)

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

"""Helpers for the sound-adapter tests: make real media with sox/ffmpeg, measure WAVs, wait for play events.

Imports only the standard library (and nothing from agent/): the checks must not trust the code under test.
"""

from __future__ import annotations

import math
import queue
import subprocess
import time
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def make_tone_wav(path: Path, seconds: float, *, rate: int = 44100, channels: int = 2) -> Path:
    """A 440 Hz tone at half scale: loud enough that silence is obvious."""
    run("sox", "-n", "-r", str(rate), "-c", str(channels), "-b", "16", str(path), "synth", str(seconds),
        "sine", "440", "vol", "0.5")
    return path


def encode(src: Path, dst: Path, *codec_args: str) -> Path:
    run("ffmpeg", "-loglevel", "error", "-y", "-i", str(src), *codec_args, str(dst))
    return dst


@dataclass(frozen=True)
class WavInfo:
    seconds: float
    rms: float  # 0..1 of full scale
    channels: int
    rate: int


def measure_wav(path: Path) -> WavInfo:
    """Duration and RMS of a 16-bit PCM WAV, by plain arithmetic on the samples."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2, "expected 16-bit PCM"
        frames = w.readframes(w.getnframes())
        info = (w.getnframes() / w.getframerate(), w.getnchannels(), w.getframerate())
    samples = array("h", frames)
    rms = math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768 if samples else 0.0
    return WavInfo(info[0], rms, info[1], info[2])


class EventLog:
    """Collects Player events (as the runtime's queue would) with the time they arrived."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self._queue: queue.Queue[tuple[float, str, str, str]] = queue.Queue()
        self.seen: list[tuple[float, str, str, str]] = []

    def __call__(self, play_id: str, kind: str, detail: str) -> None:
        self._queue.put((time.monotonic() - self.t0, play_id, kind, detail))

    def wait(self, kind: str, timeout_s: float) -> tuple[float, str, str, str]:
        """The first event of `kind` (events before it are kept in `seen`); fails the test on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {kind!r} event within {timeout_s} s; saw {self.seen}"
            try:
                event = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(event)
            if event[2] == kind:
                return event

    def kinds(self, settle_s: float = 0.0) -> list[str]:
        """Every event kind so far, after waiting `settle_s` for stragglers."""
        time.sleep(settle_s)
        while not self._queue.empty():
            self.seen.append(self._queue.get())
        return [kind for _, _, kind, _ in self.seen]

    def wait_quietly(self, seconds: float) -> float:
        """Let `seconds` pass, check that no play ended meanwhile, and return the time since t0."""
        kinds = self.kinds(settle_s=seconds)
        assert not {"finished", "failed", "stopped"} & set(kinds), f"a play ended early: {self.seen}"
        return time.monotonic() - self.t0


def rms_window(path: Path, start_s: float, end_s: float) -> float:
    """RMS (0..1 of full scale) of a 16-bit PCM WAV between two times, by plain arithmetic on the samples."""
    with wave.open(str(path), "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        w.setpos(min(int(start_s * rate), w.getnframes()))
        samples = array("h", w.readframes(max(0, int((end_s - start_s) * rate))))
    assert len(samples) >= channels * rate * (end_s - start_s) * 0.99, f"{path} is shorter than {end_s} s"
    return math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768

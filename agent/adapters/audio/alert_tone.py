"""The alert tone sounded before an emergency whose audio is still downloading: made with the standard library's
`wave` module when the agent starts, so a unit needs no extra file or program for it.

A two-note chime repeated twice (about 1.2 s), loud but not clipped, with short ramps so the horns do not click.
Must not import the core, vlc or another adapter.
"""

from __future__ import annotations

import io
import math
import os
import struct
import wave
from pathlib import Path

RATE = 22_050
NOTES = ((880.0, 0.25), (660.0, 0.25)) * 2 + ((0.0, 0.2),)  # (Hz, seconds); 0 Hz is a pause
AMPLITUDE = 0.7
RAMP_S = 0.01


def tone_wav() -> bytes:
    """The tone as a mono 16-bit WAV file."""
    frames = b"".join(_note(hz, seconds) for hz, seconds in NOTES)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)
    return out.getvalue()


def _note(hz: float, seconds: float) -> bytes:
    n, ramp = int(RATE * seconds), int(RATE * RAMP_S)
    gain = [min(1.0, i / ramp, (n - i) / ramp) * AMPLITUDE for i in range(n)]
    samples = (int(32767 * g * math.sin(2 * math.pi * hz * i / RATE)) for i, g in enumerate(gain))
    return struct.pack(f"<{n}h", *samples)


def write(path: Path) -> Path:
    """The tone at `path`, written atomically when missing or different (a new release may change it)."""
    body = tone_wav()
    if path.exists() and path.read_bytes() == body:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    os.replace(tmp, path)
    return path

"""Where the libVLC player sends audio, as data: the output strings (like pySerial URLs), the libVLC options each
needs, and the WAV files the test outputs write. Used by agent.adapters.audio.vlc_player only.

Standard library only: must not import vlc, the runtime or another adapter.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

from agent.errors import AudioError, ConfigError

AMEM_RATE = 48_000  # what the amem outputs (null, tap) ask libVLC for: 16-bit stereo at this rate
AMEM_FRAME_BYTES = 4
# --no-auto-preparse: libVLC's preparser (its media library, meta fetchers, disc access probes: lua, libxml2, ICU,
# libbluray) is for a media player's playlist, and cost the idle agent about 3 MiB; plays read what they need as
# they play
_BASE_ARGS = ("--no-video", "--no-xlib", "--no-spu", "--no-osd", "--no-lua", "--ignore-config",
              "--no-metadata-network-access", "--no-auto-preparse", "--verbose=0")


@dataclass(frozen=True)
class Output:
    """Where audio goes: kind is "alsa", "wav", "tap" or "null"; target is the ALSA device or the WAV directory."""

    kind: str
    target: str = ""

    @property
    def amem(self) -> bool:
        """Decoded blocks come to this adapter's callbacks (after libVLC's volume), held until their play date."""
        return self.kind in ("null", "tap")

    @property
    def sout_wav(self) -> bool:
        """libVLC's own stream output writes the WAV, at unity gain (the decoder's output, before any volume)."""
        return self.kind == "wav"


def parse_output(spec: str) -> Output:
    """`alsa:<device>`, `wav:<dir>`, `tap:<dir>` or `null`; anything else is a ConfigError naming what is allowed."""
    kind, sep, target = spec.partition(":")
    if spec == "null" or (kind in ("alsa", "wav", "tap") and sep and target):
        return Output(kind, target)
    raise ConfigError(f"unknown audio output {spec!r}: expected alsa:<device>, wav:<dir>, tap:<dir> or null")


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


def wav_dir(output: Output) -> Path | None:
    if output.kind not in ("wav", "tap"):
        return None
    try:
        Path(output.target).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AudioError(f"cannot create the WAV output directory {output.target}: {exc}") from exc
    return Path(output.target)


class PcmTap:
    """The tap output's WAV: the blocks a sound card would get (libVLC's volume applied), written as they are due.

    Written from libVLC's audio thread only; closed once that thread is done (after the player stopped)."""

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)  # an old file would look like audio
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 - open for the whole play, closed by close()
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(AMEM_RATE)

    def write(self, pcm: bytes) -> None:
        self._wav.writeframes(pcm)  # the header is patched on every write: the file is complete at all times

    def close(self) -> None:
        self._wav.close()

"""The SpeechSynth port over the espeak-ng program (and ffmpeg for MP3): text to a cached WAV.

Only this file runs espeak-ng. Must not import the core, vlc or another adapter. Text goes to espeak-ng on
stdin as UTF-8 bytes with `-b 1`, never through argv or the locale, so Vietnamese diacritics and minority
languages' scripts arrive intact and a text starting with "-" is never read as an option.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path

from agent.errors import AudioError


def parse_voice_list(listing: str) -> frozenset[str]:
    """Language codes from `espeak-ng --voices` (second column; the first line is a header)."""
    codes = (line.split()[1].lower() for line in listing.splitlines()[1:] if len(line.split()) > 1)
    return frozenset(codes)


class EspeakSpeech:
    """SpeechSynth port. `voices` maps a language to an espeak-ng voice, e.g. {"vi": "vi-vn-x-south"}."""

    def __init__(self, cache_dir: Path, *, voices: Mapping[str, str] | None = None, speed_wpm: int = 150,
                 espeak: str = "espeak-ng", ffmpeg: str = "ffmpeg", timeout_s: float = 60.0) -> None:
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._voices = dict(voices or {})
        self._speed_wpm, self._espeak, self._ffmpeg, self._timeout_s = speed_wpm, espeak, ffmpeg, timeout_s

    def synthesize(self, text: str, lang: str) -> Path:
        if not text.strip():
            raise ValueError("nothing to say: the text is empty")
        voice = self._voice_for(lang)
        target = self.cache_dir / f"{self._key(text, lang, voice)}.wav"
        if not target.exists():
            self._atomically(target, lambda tmp: self._speak(text, voice, tmp))
        return target

    def to_mp3(self, wav: Path, *, bitrate_kbps: int = 64) -> Path:
        """The WAV encoded as MP3 next to it (cached): what a demo server hands to devices."""
        target = wav.with_suffix(".mp3")
        if not target.exists():
            argv = [self._ffmpeg, "-loglevel", "error", "-y", "-i", str(wav), "-codec:a", "libmp3lame",
                    "-b:a", f"{bitrate_kbps}k", "-f", "mp3"]
            self._atomically(target, lambda tmp: self._run([*argv, str(tmp)], b""))
        return target

    @cached_property
    def languages(self) -> frozenset[str]:
        """What this espeak-ng can speak (asked once)."""
        return parse_voice_list(self._run([self._espeak, "--voices"], b"").decode("utf-8", "replace"))

    def _voice_for(self, lang: str) -> str:
        voice = self._voices.get(lang, lang)
        if voice.lower() in self.languages:
            return voice
        hint = difflib.get_close_matches(voice.lower(), sorted(self.languages), n=3, cutoff=0.5)
        did_you_mean = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise AudioError(f"espeak-ng has no voice for language {lang!r} (voice {voice!r}){did_you_mean}")

    def _key(self, text: str, lang: str, voice: str) -> str:
        blob = json.dumps([text, lang, voice, self._speed_wpm], ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()

    def _speak(self, text: str, voice: str, out: Path) -> None:
        argv = [self._espeak, "-v", voice, "-s", str(self._speed_wpm), "-b", "1", "-w", str(out), "--stdin"]
        self._run(argv, text.encode("utf-8"))
        if out.stat().st_size <= 44:  # a bare WAV header: espeak-ng said nothing
            raise AudioError(f"espeak-ng produced no audio for voice {voice!r}")

    def _run(self, argv: Sequence[str], stdin: bytes) -> bytes:
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, timeout=self._timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AudioError(f"{argv[0]} could not run: {exc}") from exc
        if done.returncode != 0:
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
            raise AudioError(f"{argv[0]} failed (exit {done.returncode}): {' '.join(reason)}")
        return done.stdout

    def _atomically(self, target: Path, make: Callable[[Path], object]) -> None:
        """Build into a temp file in the same directory, fsync, rename: a crash never leaves half a file."""
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
        os.close(fd)
        tmp = Path(name)
        try:
            make(tmp)
            with tmp.open("rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

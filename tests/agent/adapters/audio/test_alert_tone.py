"""The alert tone made at start: a real WAV file that libVLC and the checks read, loud, short, rewritten only when
it differs."""

from __future__ import annotations

from pathlib import Path

from agent.adapters.audio import alert_tone
from tests.agent.adapters.audio.sound_helpers import measure_wav


def test_the_tone_is_a_short_loud_wav(tmp_path: Path) -> None:
    info = measure_wav(alert_tone.write(tmp_path / "state" / "alert-tone.wav"))
    assert 1.0 <= info.seconds <= 1.5 and info.rms > 0.3 and info.channels == 1, info


def test_the_tone_is_written_again_only_when_it_differs(tmp_path: Path) -> None:
    path = alert_tone.write(tmp_path / "alert-tone.wav")
    stamp = path.stat().st_mtime_ns
    assert alert_tone.write(path).stat().st_mtime_ns == stamp
    path.write_bytes(b"not a tone")
    assert alert_tone.write(path).read_bytes() == alert_tone.tone_wav()
    assert not list(tmp_path.glob("*.tmp"))

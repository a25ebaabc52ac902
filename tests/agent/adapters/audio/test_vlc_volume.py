"""VlcPlayer's volume against real libVLC, measured in the tap output (what the sound card would get): the level a
play starts with, and set_volume() while it plays. libVLC's curve is cubic: gain = (volume_pct / 100) ** 3."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.adapters.audio.vlc_player import VlcPlayer
from tests.agent.adapters.audio.sound_helpers import EventLog, make_tone_wav, measure_wav, rms_window

TONE_RMS = 0.5 / 2 ** 0.5  # the helper's tone: a sine at half scale


@pytest.fixture
def player(tmp_path: Path) -> Iterator[VlcPlayer]:
    p = VlcPlayer(f"tap:{tmp_path / 'out'}", poll_s=0.1)
    yield p
    p.close()


def test_the_tap_output_carries_the_level_a_play_starts_with(player: VlcPlayer, tmp_path: Path) -> None:
    events = EventLog()
    player.play("p1", str(make_tone_wav(tmp_path / "t.wav", 2.0)), volume_pct=50, on_event=events)
    events.wait("finished", 10)
    info = measure_wav(tmp_path / "out" / "p1.wav")
    assert info.seconds == pytest.approx(2.0, abs=0.1)
    # from 0.1 s: the very first block may come before libVLC's audio output takes a volume (see the adapter)
    assert rms_window(tmp_path / "out" / "p1.wav", 0.1, 1.9) == pytest.approx(TONE_RMS * 0.5 ** 3, rel=0.05)


def test_set_volume_changes_the_level_of_the_play_in_progress(player: VlcPlayer, tmp_path: Path) -> None:
    events = EventLog()
    player.play("p1", str(make_tone_wav(tmp_path / "t.wav", 4.0)), volume_pct=80, on_event=events)
    events.wait("started", 5)
    time.sleep(1.5)
    player.set_volume(20)
    events.wait("finished", 10)
    wav = tmp_path / "out" / "p1.wav"
    before, after = rms_window(wav, 0.2, 1.2), rms_window(wav, 2.8, 3.8)
    assert before == pytest.approx(TONE_RMS * 0.8 ** 3, rel=0.05)
    assert after == pytest.approx(TONE_RMS * 0.2 ** 3, rel=0.05)

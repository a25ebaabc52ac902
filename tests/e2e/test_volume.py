"""`volume` end to end: a real agent process decoding with libVLC into its tap output (what the sound card would
get, after libVLC's volume), a signed `volume` command mid-play, the RMS of the WAV before and after it.

libVLC's volume curve is cubic (docs/protocol.md, `volume`): 80 % is a gain of 0.512, 20 % of 0.008, so the RMS
must drop by (20 / 80) ** 3 = 1/64."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from province.console import Console
from province.keys import load_signing
from tests.agent.adapters.audio.sound_helpers import make_tone_wav, rms_window
from tests.conftest import Unit
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.sound_helpers import FAST_POWER, file_source

TONE_RMS = 0.5 / 2 ** 0.5  # the helper's tone: a sine at half scale
TONE_S = 8.0


def tap_unit(make_unit: Callable[..., Unit]) -> Unit:
    return make_unit(audio={"output": "tap:wavs", "quiet_hours": "off", **FAST_POWER})


def send_volume_mid_play(watch: UnitWatch, key: Any, jti: str, pct: int) -> tuple[float, list[dict[str, Any]]]:
    """Waits for `started`, sends `volume` 3 s later; returns when its `finished` came (s after `started`)."""
    watch.wait_acks(jti, {"started"}, timeout=20)
    started = time.monotonic()
    time.sleep(3.0 - (time.monotonic() - started))
    volume = watch.send(key, "volume", {"volume_pct": pct})
    watch.wait_acks(volume, {"finished", "rejected"})
    return time.monotonic() - started, watch.acks(volume)


def test_volume_changes_the_level_of_the_bulletin_playing_now(make_unit, console: Console, keys: Path,
                                                             http_server, tmp_path: Path):
    unit = tap_unit(make_unit)
    watch = UnitWatch(console, unit)
    watch.wait_online()
    key = load_signing(keys / "signing.jwk")
    source = file_source(http_server, "tone.wav", make_tone_wav(tmp_path / "tone.wav", TONE_S).read_bytes())
    jti = watch.send(key, "play", {"source": source, "volume_pct": 80})
    changed_s, acks = send_volume_mid_play(watch, key, jti, 20)
    assert [(a["state"], a["code"]) for a in acks] == [("accepted", "ok"), ("finished", "ok")]
    assert acks[-1]["msg"] == "volume set to 20%"
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=20)[-1] == "finished"
    wav = unit.dir / "wavs" / f"{jti}.wav"
    before, after = rms_window(wav, 0.5, 2.5), rms_window(wav, changed_s + 1.0, TONE_S - 0.3)
    print(f"volume e2e: RMS at 80 % {before:.5f}, at 20 % {after:.6f}, ratio {before / after:.1f} "
          f"(change acked {changed_s:.2f} s after start)")
    assert before == pytest.approx(TONE_RMS * 0.8 ** 3, rel=0.05)
    assert after == pytest.approx(TONE_RMS * 0.2 ** 3, rel=0.05)
    assert before / after == pytest.approx(64, rel=0.1)


def test_an_emergency_keeps_its_level_when_volume_is_lowered(make_unit, console: Console, keys: Path,
                                                             http_server, tmp_path: Path):
    unit = tap_unit(make_unit)
    watch = UnitWatch(console, unit)
    watch.wait_online()
    key = load_signing(keys / "signing.jwk")
    source = file_source(http_server, "tone.wav", make_tone_wav(tmp_path / "tone.wav", TONE_S).read_bytes())
    jti = watch.send(key, "play", {"source": source, "priority": "emergency"})
    changed_s, _ = send_volume_mid_play(watch, key, jti, 20)
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=20)[-1] == "finished"
    wav = unit.dir / "wavs" / f"{jti}.wav"
    before, after = rms_window(wav, 0.5, 2.5), rms_window(wav, changed_s + 1.0, TONE_S - 0.3)
    print(f"emergency e2e: RMS {before:.4f} before and {after:.4f} after volume 20 %")
    assert before == pytest.approx(TONE_RMS, rel=0.05) and after == pytest.approx(TONE_RMS, rel=0.05)

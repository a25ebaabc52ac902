"""An emergency whose audio must still be downloaded sounds at once: a real agent process, real libVLC writing WAV
files, real espeak-ng, and an HTTP server that trickles the bulletin's audio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from province.keys import load_signing
from tests.agent.adapters.audio.sound_helpers import measure_wav
from tests.e2e.sound_helpers import file_source, sound_unit, wav_of
from tests.e2e.test_sound import playlogs, watch_sound

TRICKLE_BYTES_PER_S = 12_000  # the 3 s MP3 (about 48 KB) takes about 4 s to arrive


def by_play_id(logs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["play_id"]: p for p in logs}


def test_an_emergency_still_downloading_sounds_an_alert_within_2_s_then_the_bulletin(
        make_unit, console, keys: Path, http_server, media):
    unit = sound_unit(make_unit)
    watch = watch_sound(console, unit)
    body = media["mp3"].read_bytes()
    http_server.routes.slow_bytes_per_s = TRICKLE_BYTES_PER_S
    download_s = len(body) / TRICKLE_BYTES_PER_S
    source = file_source(http_server, "flood.mp3", body)
    jti = watch.send(load_signing(keys / "signing.jwk"), "play",
                     {"source": source, "priority": "emergency", "title": "Cảnh báo lũ quét"})
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=30) == ["accepted", "started", "finished"], \
        [(a["code"], a["msg"]) for a in watch.acks(jti)]
    watch.pump(5, lambda: len(playlogs(watch)) >= 3)
    accepted = watch.acks(jti)[0]["ts"]
    logs = by_play_id(playlogs(watch))
    assert {f"{jti}.tone", f"{jti}.title", jti} <= set(logs), sorted(logs)
    tone, title, bulletin = logs[f"{jti}.tone"], logs[f"{jti}.title"], logs[jti]
    assert [(p["source_kind"], p["result"], p["jti"]) for p in (tone, title, bulletin)] == [
        ("alert", "completed", jti), ("alert", "completed", jti), ("url", "completed", jti)]
    assert tone["started_ts"] - accepted < 2000, (tone["started_ts"] - accepted)
    assert tone["ended_ts"] <= title["started_ts"] and title["ended_ts"] <= bulletin["started_ts"]
    assert bulletin["started_ts"] - accepted >= (download_s - 0.5) * 1000, "the bulletin waited for its audio"
    assert measure_wav(wav_of(unit, f"{jti}_tone")).rms > 0.1  # the WAV output writes `.` in a play id as `_`
    assert measure_wav(wav_of(unit, f"{jti}_title")).rms > 0.01  # the title, spoken by espeak-ng
    info = measure_wav(wav_of(unit, jti))
    assert abs(info.seconds - 3.0) / 3.0 < 0.05 and info.rms > 0.1, info
    switches = [(j["ts"] * 1000, j["on"]) for j in unit.relay_journal()]
    assert not [ts for ts, on in switches if not on and tone["started_ts"] <= ts <= bulletin["ended_ts"]], \
        "an amplifier went off between the alert and the bulletin"


def test_a_failed_download_is_acked_failed_after_the_alert_sounded(make_unit, console, keys: Path, http_server,
                                                                   media):
    unit = sound_unit(make_unit)
    watch = watch_sound(console, unit)
    http_server.routes.slow_bytes_per_s = TRICKLE_BYTES_PER_S
    source = file_source(http_server, "flood.mp3", media["mp3"].read_bytes()) | {"sha256": "0" * 64}
    jti = watch.send(load_signing(keys / "signing.jwk"), "play", {"source": source, "priority": "emergency"})
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=30) == ["accepted", "failed"]
    assert watch.acks(jti)[-1]["code"] == "hash_mismatch"
    watch.pump(8, lambda: f"{jti}.title" in by_play_id(playlogs(watch)))
    logs = by_play_id(playlogs(watch))
    assert {f"{jti}.tone", f"{jti}.title", jti} <= set(logs), sorted(logs)
    assert logs[jti]["result"] == "failed" and logs[f"{jti}.tone"]["result"] == "completed"
    assert logs[f"{jti}.tone"]["started_ts"] - watch.acks(jti)[0]["ts"] < 2000
    assert measure_wav(wav_of(unit, f"{jti}_title")).rms > 0.01  # "Thông báo khẩn cấp": it had no title
    assert not wav_of(unit, jti).exists()

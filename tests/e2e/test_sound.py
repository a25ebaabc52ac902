"""Sound end to end: a real Mosquitto, a real agent process decoding with libVLC into WAV files, a real HTTP
server, real espeak-ng."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from province.console import Console
from province.keys import load_signing
from tests.agent.adapters.audio.sound_helpers import measure_wav
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.sound_helpers import file_source, sound_unit, wav_of


def playlogs(watch: UnitWatch) -> list[dict[str, Any]]:
    return watch.of("playlog")


def watch_sound(console: Console, unit) -> UnitWatch:
    watch = UnitWatch(console, unit)
    console.subscribe(console.topics.report(unit.device_id, "playlog"))
    watch.wait_online()
    return watch


def test_a_signed_mp3_play_is_decoded_whole_and_not_silent(make_unit, console, keys: Path, http_server, media):
    unit = sound_unit(make_unit)
    watch = watch_sound(console, unit)
    source = file_source(http_server, "news.mp3", media["mp3"].read_bytes())
    jti = watch.send(load_signing(keys / "signing.jwk"), "play", {"source": source, "title": "Bản tin sáng"})
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=20) == ["accepted", "started", "finished"], \
        [(a["code"], a["msg"]) for a in watch.acks(jti)]
    info = measure_wav(wav_of(unit, jti))
    assert abs(info.seconds - 3.0) / 3.0 < 0.05 and info.rms > 0.1, info
    watch.pump(3, lambda: bool(playlogs(watch)))
    log = playlogs(watch)[0]
    assert (log["result"], log["source_kind"], log["title"], log["relay_confirmed"]) == \
        ("completed", "url", "Bản tin sáng", True)
    assert 2.5 < log["duration_s"] < 4.0


def test_an_emergency_cuts_into_a_normal_bulletin_which_then_plays_again(make_unit, console, keys: Path,
                                                                        http_server, media):
    unit = sound_unit(make_unit)
    watch = watch_sound(console, unit)
    key = load_signing(keys / "signing.jwk")
    normal = watch.send(key, "play", {"source": file_source(http_server, "n.mp3", media["mp3"].read_bytes())})
    watch.wait_acks(normal, {"started"}, timeout=15)
    emergency = watch.send(key, "play", {"source": {"tts": "Khẩn cấp: lũ quét", "lang": "vi"},
                                         "priority": "emergency", "title": "Cảnh báo lũ"})
    watch.wait_acks(normal, {"finished"}, timeout=30)
    assert watch.states(emergency) == ["accepted", "started", "finished"]
    assert watch.states(normal) == ["accepted", "started", "preempted", "started", "finished"]
    watch.pump(5, lambda: len(playlogs(watch)) >= 3)
    assert [(p["jti"], p["result"]) for p in playlogs(watch)] == [
        (normal, "preempted"), (emergency, "completed"), (normal, "completed")]
    assert measure_wav(wav_of(unit, emergency)).rms > 0.01


def test_vietnamese_tts_produces_speech(make_unit, console, keys: Path):
    unit = sound_unit(make_unit)
    watch = watch_sound(console, unit)
    text = "Thông báo khẩn cấp: bão số 3 đang đổ bộ vào tỉnh Gia Lai, đề nghị bà con di chuyển đến nơi an toàn"
    jti = watch.send(load_signing(keys / "signing.jwk"), "play", {"source": {"tts": text, "lang": "vi"}})
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=30)[-1] == "finished"
    info = measure_wav(wav_of(unit, jti))
    assert info.seconds > 3.0 and info.rms > 0.01


def test_a_wrong_sha256_plays_nothing(make_unit, console, keys: Path, http_server, media):
    unit = sound_unit(make_unit)
    watch = watch_sound(console, unit)
    source = file_source(http_server, "x.mp3", media["mp3"].read_bytes()) | {"sha256": "0" * 64}
    jti = watch.send(load_signing(keys / "signing.jwk"), "play", {"source": source})
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=15) == ["accepted", "failed"]
    assert watch.acks(jti)[-1]["code"] == "hash_mismatch"
    assert not wav_of(unit, jti).exists() and not any(j["on"] for j in unit.relay_journal())
    assert not list((unit.dir / "state" / "cache").rglob("0" * 64 + "*"))


def test_a_live_stream_plays_and_a_killed_source_fails_within_the_bound(make_unit, console, keys: Path,
                                                                         live_server):
    unit = sound_unit(make_unit)
    watch = watch_sound(console, unit)
    url, proc = live_server()
    jti = watch.send(load_signing(keys / "signing.jwk"), "play", {"source": {"stream": url}})
    assert watch.wait_acks(jti, {"started"}, timeout=15)[-1] == "started"
    time.sleep(1.0)
    proc.kill()
    killed = time.monotonic()
    assert watch.wait_acks(jti, {"failed", "finished"}, timeout=20)[-1] == "failed"
    waited = time.monotonic() - killed
    assert waited <= 13.5, waited  # the documented bound: stall 3 s + give up after 10 s
    assert watch.acks(jti)[-1]["code"] in ("stream_stalled", "stream_dropped", "source_unreachable")


def quiet_window_around_now(tz: str = "Asia/Ho_Chi_Minh") -> str:
    now = datetime.now(ZoneInfo(tz))
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    return f"{start:%H:%M}-{end:%H:%M}"


def test_quiet_hours_refuse_a_normal_bulletin_and_let_an_emergency_through(make_unit, console, keys: Path):
    unit = sound_unit(make_unit, quiet_hours=quiet_window_around_now())
    watch = watch_sound(console, unit)
    key = load_signing(keys / "signing.jwk")
    normal = watch.send(key, "play", {"source": {"tts": "Thông báo thường"}})
    emergency = watch.send(key, "play", {"source": {"tts": "Khẩn cấp"}, "priority": "emergency"})
    assert watch.wait_acks(normal, {"rejected", "finished"}) == ["rejected"]
    assert watch.acks(normal)[0]["code"] == "quiet_hours"
    assert watch.wait_acks(emergency, {"finished", "failed"}, timeout=20)[-1] == "finished"

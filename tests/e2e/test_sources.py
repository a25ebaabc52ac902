"""Audio sources end to end: a real agent process, real Mosquitto, real libVLC writing WAV files, real espeak-ng,
and real HTTP servers that trickle and redirect."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from province.keys import load_signing
from tests.agent.adapters.audio.sound_helpers import measure_wav
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.sound_helpers import file_source, sound_unit, wav_of

RUNS = int(os.environ.get("LOA_EMERGENCY_RUNS", "3"))  # 20 or more for the figures in the note


def watch_of(console, unit) -> UnitWatch:
    watch = UnitWatch(console, unit)
    watch.wait_online()
    return watch


def ack_ts(watch: UnitWatch, jti: str, state: str) -> int:
    return int(next(a["ts"] for a in watch.acks(jti) if a["state"] == state))


def test_an_emergency_starts_at_once_while_a_normal_download_trickles(make_unit, console, keys: Path, http_server,
                                                                      media):
    unit = sound_unit(make_unit)
    watch, key = watch_of(console, unit), load_signing(keys / "signing.jwk")
    http_server.routes.slow_bytes_per_s = 4000  # the normal bulletin takes ~12 s to arrive, a few bytes at a time
    waits = []
    for run in range(RUNS):
        normal = watch.send(key, "play", {"source": file_source(http_server, f"n{run}.mp3", media["mp3"].read_bytes())})
        watch.wait_acks(normal, {"accepted"}, timeout=10)
        time.sleep(1.0)
        emergency = watch.send(key, "play", {"source": {"tts": f"Khẩn cấp {run}: lũ quét", "lang": "vi"},
                                             "priority": "emergency", "title": "Cảnh báo lũ"})
        assert watch.wait_acks(emergency, {"finished", "failed"}, timeout=30)[-1] == "finished"
        waits.append(ack_ts(watch, emergency, "started") - ack_ts(watch, emergency, "accepted"))
        assert watch.wait_acks(normal, {"finished", "failed"}, timeout=40)[-1] == "finished"
        # the core takes the waiting bulletin as current (amplifier on); the emergency cuts in, then it plays whole
        assert watch.states(normal) in (["accepted", "started", "finished"],
                                        ["accepted", "started", "preempted", "started", "finished"])
        restarted = [a["ts"] for a in watch.acks(normal) if a["state"] == "started"][-1]
        assert restarted >= ack_ts(watch, emergency, "finished")
        assert measure_wav(wav_of(unit, normal)).rms > 0.1  # the normal bulletin still played, after
    print(f"emergency start - accepted over {RUNS} runs: p50 {statistics.median(waits)} ms, max {max(waits)} ms")
    assert max(waits) < 2000, waits


def test_a_cached_emergency_starts_at_once_while_a_normal_download_trickles(make_unit, console, keys: Path,
                                                                           http_server, media):
    unit = sound_unit(make_unit)
    watch, key = watch_of(console, unit), load_signing(keys / "signing.jwk")
    alarm = file_source(http_server, "alarm.mp3", media["aac"].read_bytes())
    stored = watch.send(key, "store", {"id": "alarm", "pin": True, **alarm})
    assert watch.wait_acks(stored, {"finished", "failed"}, timeout=15)[-1] == "finished"
    http_server.routes.slow_bytes_per_s = 2000
    normal = watch.send(key, "play", {"source": file_source(http_server, "n.mp3", media["mp3"].read_bytes())})
    watch.wait_acks(normal, {"accepted"}, timeout=10)
    time.sleep(1.0)
    emergency = watch.send(key, "play", {"source": {"ref": "alarm"}, "priority": "emergency"})
    assert watch.wait_acks(emergency, {"finished", "failed"}, timeout=30)[-1] == "finished"
    assert ack_ts(watch, emergency, "started") - ack_ts(watch, emergency, "accepted") < 2000
    assert measure_wav(wav_of(unit, emergency)).rms > 0.1
    assert watch.wait_acks(normal, {"finished", "failed"}, timeout=40)[-1] == "finished"


def test_a_normal_download_past_its_deadline_fails_and_the_emergency_is_unaffected(make_unit, console, keys: Path,
                                                                                   http_server, media):
    unit = sound_unit(make_unit, sources={"download_deadline_s": 5})
    watch, key = watch_of(console, unit), load_signing(keys / "signing.jwk")
    http_server.routes.slow_bytes_per_s = 100
    normal = watch.send(key, "play", {"source": file_source(http_server, "slow.mp3", media["mp3"].read_bytes())})
    emergency = watch.send(key, "play", {"source": {"tts": "Khẩn cấp: cháy rừng", "lang": "vi"},
                                         "priority": "emergency"})
    assert watch.wait_acks(normal, {"finished", "failed"}, timeout=20) == ["accepted", "failed"]
    assert watch.acks(normal)[-1]["code"] == "download_timeout"
    assert 4500 <= ack_ts(watch, normal, "failed") - ack_ts(watch, normal, "accepted") <= 8000
    assert watch.wait_acks(emergency, {"finished", "failed"}, timeout=20) == ["accepted", "started", "finished"]
    assert ack_ts(watch, emergency, "started") - ack_ts(watch, emergency, "accepted") < 2000


def test_a_stream_redirected_to_a_local_file_never_plays_it(make_unit, console, keys: Path, http_server, media):
    unit = sound_unit(make_unit)
    watch, key = watch_of(console, unit), load_signing(keys / "signing.jwk")
    http_server.routes.redirects["to-file"] = media["mp3"].resolve().as_uri()
    jti = watch.send(key, "play", {"source": {"stream": http_server.url("/redirect/to-file")}})
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=20) == ["accepted", "failed"]
    assert watch.acks(jti)[-1]["code"] == "redirect_refused"
    assert not wav_of(unit, jti).exists()


def test_a_stream_redirected_to_another_host_or_over_plain_http_is_refused(make_unit, console, keys: Path,
                                                                           http_server, live_server):
    unit = sound_unit(make_unit, sources={"allowed_hosts": ["127.0.0.1"], "plain_http_stream_hosts": ["127.0.0.1"]})
    watch, key = watch_of(console, unit), load_signing(keys / "signing.jwk")
    url, _proc = live_server()
    away = url.replace("127.0.0.1", "localhost")
    http_server.routes.redirects["away"] = away  # the same radio under another host name
    http_server.routes.redirects["here"] = url
    refused = watch.send(key, "play", {"source": {"stream": http_server.url("/redirect/away")}})
    assert watch.wait_acks(refused, {"finished", "failed"}, timeout=20) == ["accepted", "failed"]
    assert watch.acks(refused)[-1]["code"] == "redirect_refused"
    plain = watch.send(key, "play", {"source": {"stream": away}})
    assert watch.wait_acks(plain, {"finished", "failed"}, timeout=20) == ["accepted", "failed"]
    assert watch.acks(plain)[-1]["code"] == "source_refused"
    allowed = watch.send(key, "play", {"source": {"stream": http_server.url("/redirect/here")}, "until":
                                       int(time.time()) + 3})
    assert watch.wait_acks(allowed, {"started"}, timeout=15)[-1] == "started"
    assert watch.wait_acks(allowed, {"finished", "failed", "expired"}, timeout=20)[-1] in ("finished", "expired")
    assert measure_wav(wav_of(unit, allowed)).rms > 0.05

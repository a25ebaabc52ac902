"""The alert before an emergency still downloading, as tables of events -> effects on a fake clock: tone, spoken
title, then the bulletin once verified; amplifiers held on throughout; a failed download; a second emergency."""

from __future__ import annotations

from typing import Any

from agent.core.effects import Effect, Prepare
from tests.agent.core.device_helpers import T0, sound_device
from tests.agent.core.test_sound import FILE, send
from tests.agent.core.world import World

TONE = "/agent/alert-tone.wav"
SLOW = 10_000  # the bulletin's download, ms
EMERGENCY = {"source": FILE, "priority": "emergency", "title": "Cảnh báo lũ quét"}


def world(**sound: Any) -> World:
    w = World(sound_device(alert_tone=TONE, alert_phrase="Thông báo khẩn cấp", **sound), now=T0)
    for jti in ("e1", "e2", "e3"):
        w.durations_ms |= {f"{jti}.tone": 1000, f"{jti}.title": 1500}
    return w


def audio(w: World) -> list[tuple[int, str | None]]:
    return [(t - T0, pid) for t, kind, pid in w.timeline if kind == "audio"]


def relay_offs(w: World) -> list[int]:
    return [t - T0 for t, kind, (_, on) in ((t, k, v) for t, k, v in w.timeline if k == "relay") if not on]


def test_tone_then_title_at_once_then_the_bulletin_when_verified_with_amplifiers_on_throughout() -> None:
    w = world()
    w.prepare_ms["e1"] = SLOW
    send(w, "play", EMERGENCY, "e1")
    w.run_until(T0 + 20_000)
    # zone 1 on at once, zone 2 staggered 0.5 s, warm-up 1 s (the warm-up is the grace): the tone at 1.5 s, the
    # title after it, the bulletin as soon as it is verified (no second warm-up), then the tail
    assert audio(w) == [(1500, "e1.tone"), (2500, None), (2500, "e1.title"), (4000, None), (10_000, "e1"),
                        (13_000, None)]
    assert relay_offs(w) == [15_000, 15_000]
    assert w.acks("e1") == ["accepted", "started", "finished"]
    logs = [(p["play_id"], p["jti"], p["source_kind"], p["priority"], p["result"]) for p in w.playlogs()]
    assert logs == [("e1.tone", "e1", "alert", "emergency", "completed"),
                    ("e1.title", "e1", "alert", "emergency", "completed"),
                    ("e1", "e1", "url", "emergency", "completed")]


def test_the_title_is_spoken_from_the_command_and_asked_for_before_the_download() -> None:
    device = sound_device(alert_tone=TONE, alert_phrase="Thông báo khẩn cấp")
    w = World(device, now=T0)
    asked: list[Prepare] = []
    original = w._do

    def spy(e: Effect) -> None:
        if isinstance(e, Prepare):
            asked.append(e)
        original(e)

    w._do = spy  # type: ignore[method-assign]
    send(w, "play", EMERGENCY, "e1")
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e2")
    assert [(p.play_id, p.source.get("tts")) for p in asked] == [
        ("e1.title", "Cảnh báo lũ quét"), ("e1", None), ("e2.title", "Thông báo khẩn cấp"), ("e2", None)]
    assert asked[0].source["lang"] == "vi" and asked[0].pin  # an emergency's speech, prepared as one


def test_a_cached_bulletin_sounds_without_an_alert() -> None:
    w = world()
    send(w, "play", EMERGENCY, "e1")  # verified 5 ms later, inside the grace
    w.run_until(T0 + 20_000)
    assert [pid for _, pid in audio(w) if pid] == ["e1"]
    assert [p["play_id"] for p in w.playlogs()] == ["e1"]


def test_audio_verified_during_the_warm_up_takes_it_over_and_no_alert_sounds() -> None:
    w = world()
    w.prepare_ms["e1"] = 1200
    send(w, "play", EMERGENCY, "e1")
    w.run_until(T0 + 20_000)
    assert [(t, pid) for t, pid in audio(w) if pid] == [(1500, "e1")]
    assert [p["play_id"] for p in w.playlogs()] == ["e1"]


def test_with_the_amplifiers_on_the_alert_waits_a_short_grace_for_a_cache_hit() -> None:
    w = world()
    send(w, "play", {"source": FILE}, "n1")
    w.durations_ms |= {"n1": 60_000, "e1": 60_000}
    w.run_until(T0 + 2000)
    send(w, "play", EMERGENCY, "e1")  # cached: verified in 5 ms, cuts in with no alert
    w.run_until(T0 + 5000)
    w.prepare_ms["e2"] = SLOW
    send(w, "play", {**EMERGENCY, "replace": True}, "e2")
    w.run_until(T0 + 30_000)
    assert [(t, pid) for t, pid in audio(w) if pid][:4] == [(1505, "n1"), (2005, "e1"), (5300, "e2.tone"),
                                                           (6300, "e2.title")]


def test_audio_ready_during_the_tone_follows_it_and_the_title_is_skipped() -> None:
    w = world()
    w.prepare_ms["e1"] = 2000
    send(w, "play", EMERGENCY, "e1")
    w.run_until(T0 + 20_000)
    assert [(t, pid) for t, pid in audio(w) if pid] == [(1500, "e1.tone"), (2500, "e1")]
    assert [p["play_id"] for p in w.playlogs()] == ["e1.tone", "e1"]


def test_a_failed_download_is_acked_as_before_and_the_alert_was_still_given() -> None:
    w = world()
    w.prepare_ms["e1"] = 2000
    w.failing.add("e1")
    send(w, "play", EMERGENCY, "e1")
    w.run_until(T0 + 20_000)
    assert w.acks("e1") == ["accepted", "failed"] and w.ack_codes("e1")[-1] == "hash_mismatch"
    assert [pid for _, pid in audio(w) if pid] == ["e1.tone", "e1.title"]
    assert [(p["play_id"], p["result"]) for p in w.playlogs()] == [
        ("e1", "failed"), ("e1.tone", "completed"), ("e1.title", "completed")]
    assert relay_offs(w) == [6000, 6000]  # the tail after the title: nothing is left to wait for


def test_a_second_emergency_during_the_alert_waits_for_the_first_bulletin() -> None:
    w = world()
    w.prepare_ms |= {"e1": SLOW, "e2": 3000}
    send(w, "play", EMERGENCY, "e1")
    w.run_until(T0 + 2000)
    send(w, "play", EMERGENCY, "e2")  # its audio is ready at 5 s, while the first still downloads
    w.run_until(T0 + 30_000)
    assert [(t, pid) for t, pid in audio(w) if pid] == [(1500, "e1.tone"), (2500, "e1.title"), (10_000, "e1"),
                                                        (13_000, "e2")]
    assert relay_offs(w) == [18_000, 18_000]
    assert w.acks("e2") == ["accepted", "started", "finished"]


def test_a_replacing_emergency_during_the_alert_ends_the_first_with_its_alert() -> None:
    w = world()
    w.prepare_ms |= {"e1": SLOW, "e3": SLOW}
    send(w, "play", EMERGENCY, "e1")
    w.run_until(T0 + 2000)
    send(w, "play", {**EMERGENCY, "replace": True}, "e3")
    w.run_until(T0 + 30_000)
    assert [(t, pid) for t, pid in audio(w) if pid] == [(1500, "e1.tone"), (2300, "e3.tone"), (3300, "e3.title"),
                                                        (12_000, "e3")]
    assert w.acks("e1") == ["accepted", "preempted"] and w.ack_codes("e1")[-1] == "replaced"
    assert [(p["play_id"], p["result"]) for p in w.playlogs()] == [
        ("e1", "preempted"), ("e1.tone", "preempted"), ("e3.tone", "completed"), ("e3.title", "completed"),
        ("e3", "completed")]
    assert relay_offs(w) == [17_000, 17_000]


def test_a_stop_during_the_alert_ends_it_and_the_bulletin() -> None:
    w = world()
    w.prepare_ms["e1"] = SLOW
    send(w, "play", EMERGENCY, "e1")
    w.run_until(T0 + 2000)
    send(w, "stop", {"jti": "e1"}, "s1")
    w.run_until(T0 + 20_000)
    assert w.acks("e1") == ["accepted", "stopped"] and w.audio_order() == ["e1.tone"]
    assert relay_offs(w) == [4000, 4000]


def test_no_alert_without_a_tone_nor_for_speech_or_a_pinned_stored_bulletin() -> None:
    w = world()
    w.prepare_ms["e1"] = SLOW
    send(w, "play", {"source": {"tts": "Khẩn cấp"}, "priority": "emergency"}, "e2")
    send(w, "store", {"id": "lu", **FILE, "pin": True}, "st")
    w.run_until(T0 + 20_000)
    w.prepare_ms["e3"] = SLOW
    send(w, "play", {"source": {"ref": "lu"}, "priority": "emergency"}, "e3")
    w.run_until(T0 + 40_000)
    plain = World(sound_device(), now=T0)
    plain.prepare_ms["e1"] = SLOW
    send(plain, "play", EMERGENCY, "e1")
    plain.run_until(T0 + 20_000)
    assert w.audio_order() == ["e2", "e3"] and plain.audio_order() == ["e1"]

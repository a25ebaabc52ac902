"""The sound desk as tables of events -> effects on a fake clock: levels, preemption, sequencing, quiet hours,
schedules, play logs; plus a property: no command sequence leaves an amplifier on with nothing playing."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent.core.events import MessageArrived
from agent.core.topics import Topics
from tests.agent.core.device_helpers import T0, command, sound_device
from tests.agent.core.world import World

VN = ZoneInfo("Asia/Ho_Chi_Minh")
FILE = {"url": "http://x/a.mp3", "sha256": "a" * 64}


def send(w: World, cmd: str, args: dict[str, Any], jti: str) -> None:
    w.feed(MessageArrived(w.now, Topics().device_command("d1"), command(cmd, args, jti, w.now)))


def world(**sound) -> World:
    return World(sound_device(**sound), now=T0)


def test_normal_play_sequences_power_then_audio_then_tail_then_off() -> None:
    w = world()
    send(w, "play", {"source": FILE}, "n1")
    w.run_until(T0 + 10_000)
    assert w.acks("n1") == ["accepted", "started", "finished"]
    relay_events = [(t - T0, z, on) for t, k, (z, on) in ((t, k, v) for t, k, v in w.timeline if k == "relay")]
    audio = [(t - T0, pid) for t, k, pid in w.timeline if k == "audio"]
    # zone 1 on at once (after the 5 ms preparation), zone 2 staggered 0.5 s, audio after the warm-up
    assert relay_events[:2] == [(5, 1, True), (505, 2, True)]
    assert audio[0] == (1505, "n1")
    assert audio[1] == (4505, None)
    assert relay_events[2:] == [(6505, 1, False), (6505, 2, False)]  # tail of 2 s
    log = w.playlogs()[0]
    assert (log["result"], log["priority"], log["source_kind"], log["relay_confirmed"]) == \
        ("completed", "normal", "url", True)
    assert 2.9 < log["duration_s"] < 3.1


def test_emergency_preempts_normal_which_is_requeued_and_replayed_whole() -> None:
    w = world()
    send(w, "play", {"source": FILE}, "n1")
    w.run_until(T0 + 2000)
    send(w, "play", {"source": {"tts": "Khẩn cấp"}, "priority": "emergency"}, "e1")
    w.run_until(T0 + 20_000)
    assert w.audio_order() == ["n1", "e1", "n1"]
    assert w.acks("n1") == ["accepted", "started", "preempted", "started", "finished"]
    assert w.acks("e1") == ["accepted", "started", "finished"]
    assert [(p["jti"], p["result"]) for p in w.playlogs()] == [("n1", "preempted"), ("e1", "completed"),
                                                               ("n1", "completed")]


def test_priority_goes_ahead_of_queued_normals_but_does_not_cut_one() -> None:
    w = world()
    send(w, "play", {"source": FILE}, "n1")
    send(w, "play", {"source": FILE}, "n2")
    w.run_until(T0 + 1000)
    send(w, "play", {"source": FILE, "priority": "priority"}, "p1")
    w.run_until(T0 + 30_000)
    assert w.audio_order() == ["n1", "p1", "n2"]


def test_a_newer_emergency_waits_unless_it_replaces() -> None:
    w = world()
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(T0 + 2000)
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e2")
    w.run_until(T0 + 2500)
    send(w, "play", {"source": FILE, "priority": "emergency", "replace": True}, "e3")
    w.run_until(T0 + 30_000)
    assert w.audio_order() == ["e1", "e3", "e2"]
    assert w.acks("e1")[-1] == "preempted" and w.playlogs()[0]["result"] == "preempted"


def test_emergency_uses_emergency_volume_and_normal_is_capped() -> None:
    from agent.core.effects import PlayAudio

    device = sound_device(emergency_volume_pct=100)
    w = World(device, now=T0)
    volumes: list[int] = []
    original = w._do

    def spy(e):
        if isinstance(e, PlayAudio):
            volumes.append(e.volume_pct)
        original(e)

    w._do = spy  # type: ignore[method-assign]  # a spy on the world's effects
    send(w, "play", {"source": FILE, "volume_pct": 100}, "n1")
    w.run_until(T0 + 10_000)
    send(w, "play", {"source": FILE, "priority": "emergency", "volume_pct": 10}, "e1")
    w.run_until(T0 + 20_000)
    assert volumes == [90, 100]  # unit max_volume_pct 90 caps normal; emergency ignores both


def test_hash_mismatch_fails_and_nothing_sounds() -> None:
    w = world()
    w.failing.add("bad")
    send(w, "play", {"source": FILE}, "bad")
    w.run_until(T0 + 10_000)
    assert w.acks("bad") == ["accepted", "failed"] and w.ack_codes("bad")[-1] == "hash_mismatch"
    assert not [e for e in w.timeline if e[1] == "relay" and e[2][1]] and w.audio_order() == []
    assert w.playlogs()[0]["result"] == "failed" and w.playlogs()[0]["started_ts"] is None


def test_stop_by_jti_and_stop_all() -> None:
    w = world()
    send(w, "play", {"source": FILE}, "n1")
    send(w, "play", {"source": FILE}, "n2")
    w.run_until(T0 + 2000)
    send(w, "stop", {"jti": "n1"}, "s1")
    w.run_until(T0 + 3000)
    send(w, "stop", {"all": True}, "s2")
    w.run_until(T0 + 10_000)
    assert w.acks("n1")[-1] == "stopped" and w.acks("n2")[-1] == "stopped"
    assert w.acks("s1") == ["accepted", "finished"]
    assert not any(w.relays.values())


def test_until_expires_a_waiting_bulletin() -> None:
    w = world()
    send(w, "play", {"source": FILE}, "n1")
    send(w, "play", {"source": FILE, "until": (T0 + 2000) // 1000}, "n2")
    w.run_until(T0 + 10_000)
    assert w.acks("n2") == ["accepted", "expired"] and w.audio_order() == ["n1"]


def at_local(hh: int, mm: int) -> int:
    return int(datetime(2026, 12, 1, hh, mm, tzinfo=VN).timestamp() * 1000)


def test_quiet_hours_refuse_normal_let_emergency_through_and_hold_with_until() -> None:
    w = World(sound_device(quiet_window=(22 * 60, 5 * 60)), now=at_local(3, 15))
    send(w, "play", {"source": FILE}, "n1")
    send(w, "play", {"source": FILE, "until": at_local(6, 0) // 1000}, "held")
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(at_local(5, 10))
    assert w.acks("n1") == ["rejected"] and w.ack_codes("n1") == ["quiet_hours"]
    assert w.acks("e1") == ["accepted", "started", "finished"]
    assert w.acks("held") == ["accepted", "started", "finished"]
    held_start = next(t for t, k, pid in w.timeline if k == "audio" and pid == "held")
    assert held_start >= at_local(5, 0)


def test_schedule_plays_its_slot_and_refuses_quiet_hour_slots() -> None:
    w = World(sound_device(quiet_window=(22 * 60, 5 * 60)), now=at_local(5, 0))
    send(w, "store", {"id": "morning", "url": "http://x/m.mp3", "sha256": "b" * 64}, "st1")
    w.run_until(at_local(5, 1))
    assert w.acks("st1") == ["accepted", "finished"]
    send(w, "schedule", {"version": 1, "slots": [{"at": "03:15", "source": {"ref": "morning"}}]}, "bad")
    send(w, "schedule", {"version": 2, "slots": [{"at": "05:30", "source": {"ref": "morning"}}]}, "sc2")
    send(w, "schedule", {"version": 2, "slots": []}, "old")
    w.run_until(at_local(5, 40))
    assert w.acks("bad") == ["rejected"] and w.ack_codes("bad") == ["quiet_hours"]
    assert w.acks("old") == ["rejected"]
    slot_logs = [p for p in w.playlogs() if p["jti"] is None]
    assert len(slot_logs) == 1 and slot_logs[0]["priority"] == "scheduled" and slot_logs[0]["result"] == "completed"
    assert at_local(5, 30) <= slot_logs[0]["started_ts"] < at_local(5, 31)


def test_a_command_cuts_into_the_programme() -> None:
    w = World(sound_device(), now=at_local(6, 59))
    send(w, "schedule", {"version": 1, "slots": [{"at": "07:00", "source": {"stream": "http://r/live"},
                                                  "duration_s": 600}]}, "sc")
    w.durations_ms = {}
    w.run_until(at_local(7, 0) + 5000)
    send(w, "play", {"source": FILE}, "n1")
    w.run_until(at_local(7, 0) + 20_000)
    assert w.audio_order()[:2][1] == "n1"
    assert w.acks("n1")[-1] == "finished"


def test_hard_maximum_on_time_cuts_audio_and_power() -> None:
    w = world(max_on_s=10)
    w.durations_ms["long"] = 60_000
    send(w, "play", {"source": FILE}, "long")
    w.run_until(T0 + 30_000)
    assert w.acks("long")[-1] == "failed" and w.ack_codes("long")[-1] == "max_on_time"
    assert not any(w.relays.values())


def test_quiet_hours_beginning_end_waiting_bulletins_or_hold_those_whose_until_allows() -> None:
    w = World(sound_device(quiet_window=(22 * 60, 5 * 60)), now=at_local(21, 59) - 1000)
    w.durations_ms = {"long": 120_000}
    send(w, "play", {"source": FILE}, "long")
    send(w, "play", {"source": FILE}, "dropped")
    day = 86_400_000  # the morning after
    send(w, "play", {"source": FILE, "until": (at_local(6, 0) + day) // 1000}, "kept")
    w.run_until(at_local(5, 5) + day)
    assert w.acks("long")[-1] == "finished"  # already playing when quiet hours began: it ends on its own
    assert w.acks("dropped") == ["accepted", "expired"] and w.ack_codes("dropped")[-1] == "quiet_hours"
    kept_start = next(t for t, k, pid in w.timeline if k == "audio" and pid == "kept")
    assert at_local(5, 0) + day <= kept_start < at_local(5, 1) + day  # woken when the window opened


def test_a_ref_is_logged_as_a_ref_and_a_slot_that_never_played_is_expired() -> None:
    w = world()
    send(w, "store", {"id": "b1", "url": "http://x/b.mp3", "sha256": "c" * 64}, "st")
    w.run_until(T0 + 100)
    send(w, "play", {"source": {"ref": "b1"}}, "r1")
    w.run_until(T0 + 10_000)
    assert w.playlogs()[0]["source_kind"] == "ref"


def test_a_final_preemption_is_told_apart_from_a_requeue() -> None:
    w = world()
    send(w, "play", {"source": FILE}, "n1")
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(T0 + 2000)
    send(w, "play", {"source": FILE, "priority": "emergency", "replace": True}, "e2")
    w.run_until(T0 + 30_000)
    assert "replaced" in w.ack_codes("e1")
    assert "requeued" not in w.ack_codes("e1")

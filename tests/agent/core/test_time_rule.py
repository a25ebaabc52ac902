"""The core's time rule (agent.core.time_rule) as events -> effects on a fake clock: nothing timed runs on an untrusted
time, emergencies play, a trusted time re-arms the programme and judges quiet hours and `until`; the signed time
beacon and its refusals."""

from __future__ import annotations

import json
import warnings
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from joserfc import jws
from joserfc.jwk import OKPKey

from agent.core.device import Device
from agent.core.effects import Effect, Log, ObserveTime, Publish, RaiseTimeFloor, RememberCommand, SaveSetting
from agent.core.events import ClockSyncChanged, MessageArrived, TimerFired
from agent.core.schedule import SLOT_GRACE_S
from agent.core.time_rule import BEACON_ERROR_MS
from agent.core.topics import Topics
from tests.agent.core.device_helpers import KEY, T0, command, make_device, sound_device
from tests.agent.core.test_eboard import board_device, showing
from tests.agent.core.world import World

VN = ZoneInfo("Asia/Ho_Chi_Minh")
FILE = {"url": "http://x/a.mp3", "sha256": "a" * 64}
STREAM_SLOT = {"at": "07:00", "source": {"stream": "http://r/live"}, "duration_s": 600}


def at_local(hour: int, minute: int) -> int:
    day = datetime.fromtimestamp(T0 / 1000, VN)
    return int(day.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp() * 1000)


def send(w: World, cmd: str, args: dict[str, Any], jti: str, signed_ms: int | None = None) -> None:
    """A command signed at `signed_ms` (the true time; the unit's own time by default)."""
    token = command(cmd, args, jti, w.now if signed_ms is None else signed_ms)
    w.feed(MessageArrived(w.now, Topics().device_command("d1"), token))


def step(w: World, step_ms: int, source: str) -> None:
    """A trusted source corrects the agent's time by step_ms. The runtime's timers run on the monotonic clock, so
    the ones already armed fire step_ms later on the corrected time, until the core arms them again."""
    w._timers = {name: at + step_ms for name, at in w._timers.items()}
    w.now += step_ms
    w.feed(ClockSyncChanged(w.now, True, source, step_ms, step_ms))


def slot_logs(w: World) -> list[dict[str, Any]]:
    return [p for p in w.playlogs() if p["jti"] is None]


def ack_msg(w: World, jti: str) -> str:
    return str(next(m["msg"] for k, m in w.published if k == "ack" and m.get("jti") == jti))


# ---- the rule ------------------------------------------------------------------------------------------------


def test_without_a_trusted_time_the_programme_and_a_normal_play_wait_and_an_emergency_plays() -> None:
    w = World(sound_device(), now=at_local(6, 50))
    send(w, "schedule", {"version": 1, "slots": [STREAM_SLOT]}, "sc")
    w.feed(ClockSyncChanged(w.now, False))
    send(w, "play", {"source": FILE}, "n1")
    w.run_until(at_local(7, 5))
    assert w.audio_order() == [], "nothing but an emergency may sound on an untrusted time"
    assert w.acks("n1") == ["accepted"] and "trusted time" in ack_msg(w, "n1")
    send(w, "play", {"source": {"tts": "Khẩn cấp"}, "priority": "emergency"}, "e1")
    w.run_until(at_local(7, 6))
    assert w.audio_order() == ["e1"] and w.acks("e1") == ["accepted", "started", "finished"]
    w.feed(ClockSyncChanged(w.now, True, "network", 0, 0))  # 6 min after the slot: too late for it
    w.run_until(at_local(7, 20))
    assert w.audio_order() == ["e1", "n1"] and slot_logs(w) == []


def test_a_slot_that_started_within_the_grace_plays_to_its_original_end() -> None:
    w = World(sound_device(), now=at_local(6, 0))
    w.feed(ClockSyncChanged(w.now, False))
    send(w, "schedule", {"version": 1, "slots": [STREAM_SLOT]}, "sc")
    w.run_until(at_local(7, 2))
    assert w.audio_order() == []
    start_s = at_local(7, 0) // 1000
    w.durations_ms[f"slot-1-0-{start_s}"] = 3_600_000  # the stream would go on: its duration_s ends it
    w.feed(ClockSyncChanged(w.now, True, "network", 0, 0))
    w.run_until(at_local(7, 30))
    [log] = slot_logs(w)
    assert log["play_id"] == f"slot-1-0-{start_s}" and log["result"] == "completed"
    assert at_local(7, 2) <= log["started_ts"] < at_local(7, 3) and log["ended_ts"] == at_local(7, 10)
    assert w._timers["snd:slot"] == at_local(7, 0) + 86_400_000  # tomorrow's, armed again


def test_a_slot_older_than_the_grace_is_skipped() -> None:
    w = World(sound_device(), now=at_local(6, 0))
    w.feed(ClockSyncChanged(w.now, False))
    send(w, "schedule", {"version": 1, "slots": [STREAM_SLOT]}, "sc")
    late = at_local(7, 0) + SLOT_GRACE_S * 1000 + 1000
    w.run_until(late)
    w.feed(ClockSyncChanged(w.now, True, "beacon", 0, 0))
    w.run_until(at_local(8, 0))
    assert w.audio_order() == [] and slot_logs(w) == []


def test_a_step_while_a_slot_is_pending_fires_it_at_the_corrected_time() -> None:
    w = World(sound_device(), now=at_local(6, 50))
    send(w, "schedule", {"version": 1, "slots": [STREAM_SLOT]}, "sc")
    w.run_until(at_local(6, 55))
    w.durations_ms[f"slot-1-0-{at_local(7, 0) // 1000}"] = 3_600_000
    step(w, 120_000, "ntp")  # the agent's time was two minutes behind
    w.run_until(at_local(7, 30))
    [log] = slot_logs(w)
    assert at_local(7, 0) <= log["started_ts"] < at_local(7, 0) + 5000, "the slot sounded at the wrong time"
    assert log["ended_ts"] == at_local(7, 10)


def test_a_step_does_not_play_a_slot_twice() -> None:
    w = World(sound_device(), now=at_local(6, 59))
    send(w, "schedule", {"version": 1, "slots": [STREAM_SLOT]}, "sc")
    w.run_until(at_local(7, 1))
    step(w, 3000, "ntp")
    w.run_until(at_local(7, 30))
    assert len(slot_logs(w)) == 1


def test_quiet_hours_are_judged_by_the_corrected_time() -> None:
    """The unit reads 12:00 and has no trusted time; the true time is 23:00, in quiet hours."""
    w = World(sound_device(quiet_window=(22 * 60, 5 * 60)), now=at_local(12, 0))
    w.feed(ClockSyncChanged(w.now, False))
    true_now = at_local(23, 0)
    send(w, "play", {"source": FILE}, "n1", signed_ms=true_now)
    send(w, "play", {"source": FILE, "until": at_local(23, 59) // 1000 + 7 * 3600}, "n2", signed_ms=true_now)
    w.run_until(at_local(12, 1))
    assert w.audio_order() == []
    step(w, true_now - w.now, "network")
    w.run_until(true_now + 60_000)
    assert w.audio_order() == []
    assert w.acks("n1") == ["accepted", "expired"] and w.ack_codes("n1")[-1] == "quiet_hours"
    assert w.acks("n2") == ["accepted"]  # its until reaches the end of quiet hours: it waits for 05:00
    assert w._timers["snd:quiet"] == at_local(5, 0) + 86_400_000


def test_until_is_judged_by_the_corrected_time() -> None:
    w = World(sound_device(), now=at_local(9, 0))
    w.feed(ClockSyncChanged(w.now, False))
    send(w, "play", {"source": FILE, "until": at_local(10, 0) // 1000}, "n1", signed_ms=at_local(9, 30))
    w.run_until(at_local(9, 1))
    step(w, at_local(11, 0) - w.now, "gps")  # true time 11:00: its window is over
    w.run_until(at_local(11, 1))
    assert w.audio_order() == [] and w.acks("n1") == ["accepted", "expired"]


def test_an_emergency_plays_on_a_unit_whose_untrusted_clock_runs_years_ahead() -> None:
    """Without a trusted time commands are verified against the time floor alone: a clock ten years ahead would
    refuse every command as expired, and its heartbeat would forget the command ids it must remember."""
    w = World(sound_device(), now=T0)
    send(w, "ping", {}, "p0")  # the floor: T0
    w.now = T0 + 10 * 365 * 86_400_000
    w.feed(ClockSyncChanged(w.now, False))
    emergency = {"source": {"tts": "Khẩn cấp"}, "priority": "emergency"}
    send(w, "play", emergency, "e1", signed_ms=T0 + 1000)
    w.run_until(w.now + 10_000)
    assert w.acks("e1") == ["accepted", "started", "finished"]
    w.feed(TimerFired(w.now, "hb"))
    send(w, "play", emergency, "e1", signed_ms=T0 + 1000)
    assert w.acks("e1")[-1] == "rejected" and w.ack_codes("e1")[-1] == "replay"


def test_the_status_heartbeat_and_staff_log_say_which_time_the_unit_uses() -> None:
    d = make_device()
    fx = d.handle(ClockSyncChanged(T0 + 1000, False))
    assert ("warning", "time_untrusted") in logs(fx)
    assert statuses(fx)[-1]["time"] == {"trusted": False, "source": None, "offset_ms": 0}
    fx = d.handle(ClockSyncChanged(T0 + 2000, True, "ntp", 1500, 0))
    assert ("info", "time_trusted") in logs(fx)
    fx += d.handle(ClockSyncChanged(T0 + 3000, True, "beacon", -800, 0))
    assert ("info", "time_source_changed") in logs(fx)
    fx += d.handle(TimerFired(T0 + 5000, "status"))
    status = statuses(fx)[-1]
    assert status["time"] == {"trusted": True, "source": "beacon", "offset_ms": -800} and status["clock_synced"]
    fx = d.handle(TimerFired(T0 + 60_000, "hb"))
    hb = next(json.loads(e.payload) for e in fx if isinstance(e, Publish) and e.topic.endswith("/hb"))
    assert hb["time"] == {"trusted": True, "source": "beacon", "offset_ms": -800}


def test_an_eboard_holds_a_timed_normal_bulletin_and_shows_emergency_text_without_a_trusted_time() -> None:
    w = World(board_device(), now=T0)
    w.feed(ClockSyncChanged(w.now, False))
    send(w, "display", {"text": "Lịch tiêm chủng", "duration_s": 600}, "t1")
    w.run_until(T0 + 1000)
    assert showing(w) is None
    send(w, "display", {"text": "Bão số 3", "priority": "emergency", "duration_s": 600}, "e1")
    w.run_until(T0 + 2000)
    assert showing(w) == "e1"
    w.run_until(T0 + 601_000)
    w.feed(ClockSyncChanged(w.now, True, "ntp", 0, 0))
    w.run_until(T0 + 602_000)
    assert showing(w) == "t1"


def statuses(fx: list[Effect]) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in fx if isinstance(e, Publish) and e.topic.endswith("/status")]


def test_an_eboard_duration_still_counts_from_its_showing_after_a_step() -> None:
    w = World(board_device(), now=T0)
    send(w, "display", {"text": "Họp dân", "duration_s": 600}, "t1")
    w.run_until(T0 + 1000)
    assert showing(w) == "t1"
    step(w, 120_000, "ntp")  # shown at T0 + 120 s on the corrected time: it ends ten minutes later
    w.run_until(T0 + 120_000 + 599_000)
    assert showing(w) == "t1"
    w.run_until(T0 + 120_000 + 601_000)
    assert showing(w) is None


def logs(fx: list[Effect]) -> list[tuple[str, str]]:
    return [(e.level, e.key) for e in fx if isinstance(e, Log)]


# ---- the beacon ---------------------------------------------------------------------------------------------


def beacon(t_ms: int, jti: str, iat: int | None = None, key: OKPKey = KEY) -> bytes:
    iat = t_ms // 1000 if iat is None else iat
    body = {"iss": "province", "aud": "grp:g1", "iat": iat, "exp": iat + 120, "jti": jti, "cmd": "time",
            "args": {"t_ms": t_ms}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jws.serialize_compact({"alg": "EdDSA", "kid": key.kid}, json.dumps(body).encode(), key,
                                     algorithms=["EdDSA"]).encode()


def deliver(d: Device, now: int, token: bytes, retained: bool = False) -> list[Effect]:
    return d.handle(MessageArrived(now, Topics().group_command("g1"), token, retained))


def observed(fx: list[Effect]) -> list[ObserveTime]:
    return [e for e in fx if isinstance(e, ObserveTime)]


def rejections(fx: list[Effect]) -> list[str]:
    bodies = [json.loads(e.payload) for e in fx if isinstance(e, Publish) and e.topic.endswith("/ack")]
    return [b["code"] for b in bodies if b["state"] == "rejected"]


def good_beacon_first() -> Device:
    """A unit that took one good beacon (the control: without it a refusal below proves nothing)."""
    d = make_device()
    fx = deliver(d, T0 + 500, beacon(T0 + 200, "b0"))
    assert observed(fx) == [ObserveTime("beacon", T0 + 200, BEACON_ERROR_MS)]
    return d


def test_a_verified_beacon_is_handed_to_the_clock_without_an_ack() -> None:
    d = make_device()
    t_ms = T0 + 30_250
    fx = deliver(d, T0 + 1000, beacon(t_ms, "b1"))
    assert observed(fx) == [ObserveTime("beacon", t_ms, BEACON_ERROR_MS)]
    assert RaiseTimeFloor((t_ms // 1000) * 1000) in fx
    assert not [e for e in fx if isinstance(e, Publish) and e.topic.endswith("/ack")]


def test_beacons_spare_the_card_their_ids_stay_in_memory_and_the_floor_is_saved_hourly() -> None:
    """A beacon every 300 s to every unit: writing each id and each floor would cost the SD card megabytes a day."""
    d = make_device()
    writes: list[Effect] = []
    for i in range(13):  # an hour of beacons, then one more
        t_ms = T0 + i * 300_000
        fx = deliver(d, t_ms + 500, beacon(t_ms, f"hb{i}"))
        assert observed(fx) == [ObserveTime("beacon", t_ms, BEACON_ERROR_MS)]
        writes += [e for e in fx if isinstance(e, (RememberCommand, SaveSetting))]
    assert not [e for e in writes if isinstance(e, RememberCommand)]
    assert writes == [SaveSetting("time_floor_s", T0 // 1000), SaveSetting("time_floor_s", T0 // 1000 + 3600)]
    assert "hb3" in d.state.seen  # still refused as a replay while it lives
    assert rejections(deliver(d, T0 + 3_600_900, beacon(T0 + 3_600_000, "hb12"))) == ["replay"]
    fx = d.handle(MessageArrived(T0 + 3_601_000, Topics().device_command(d.settings.device_id),
                                 command("ping", {}, "p1", T0 + 3_601_000), False))
    assert RememberCommand("p1", T0 // 1000 + 3601 + 60 + 60) in fx  # any other command: saved at once


def test_a_forged_beacon_is_refused() -> None:
    d = good_beacon_first()
    forger = OKPKey.generate_key("Ed25519", parameters={"kid": "k9"})
    fx = deliver(d, T0 + 1000, beacon(T0 + 900, "b2", key=forger))
    assert observed(fx) == [] and rejections(fx) == ["unknown_key"]


def test_a_replayed_beacon_is_refused() -> None:
    d = good_beacon_first()
    fx = deliver(d, T0 + 60_000, beacon(T0 + 200, "b0"))
    assert observed(fx) == [] and rejections(fx) == ["replay"]


def test_a_retained_beacon_is_refused() -> None:
    d = good_beacon_first()
    fx = deliver(d, T0 + 1000, beacon(T0 + 900, "b3"), retained=True)
    assert observed(fx) == [] and rejections(fx) == ["retained"]


def test_a_beacon_behind_the_time_floor_is_refused() -> None:
    d = good_beacon_first()
    d.handle(MessageArrived(T0 + 1000, Topics().device_command("d1"), command("ping", {}, "p1", T0 + 50_000)))
    assert d.state.time_floor_s == T0 // 1000 + 50
    fx = deliver(d, T0 + 2000, beacon(T0 + 1000, "b4"))  # signed before a command already seen
    assert observed(fx) == [] and rejections(fx) == ["stale"]


def test_a_beacon_whose_time_is_not_its_iat_is_refused() -> None:
    d = good_beacon_first()
    fx = deliver(d, T0 + 2000, beacon(T0 + 12_000, "b5", iat=T0 // 1000 + 1))
    assert observed(fx) == [] and rejections(fx) == ["bad_args"]

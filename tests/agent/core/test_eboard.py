"""The display desk as tables of events -> effects on a fake clock: levels and covering, standing and timed
bulletins, images, stop, persistence across a restart, snapshots, display logs, and an emergency play's text."""

from __future__ import annotations

import base64
import json
import random
import unicodedata
from typing import Any
from zoneinfo import ZoneInfo

from agent.core.device import Device, DeviceSettings, DeviceState
from agent.core.eboard import BoardSettings
from agent.core.effects import Prepare, Publish, SaveSetting, TakeSnapshot
from agent.core.events import LinkUp, LocalAction, MessageArrived, PrepareFailed, SnapshotTaken, Started, TimerFired
from agent.core.sound import SoundSettings
from agent.core.topics import Topics
from agent.core.verify import Policy, load_trust
from tests.agent.core.device_helpers import KEY, T0, command
from tests.agent.core.world import World

IMAGE = {"url": "http://x/p.png", "sha256": "b" * 64}


def board_device(saved: dict[str, Any] | None = None, sound: bool = False, start: bool = True) -> Device:
    policy = Policy(device_id="d1", groups=frozenset({"g1"}), issuers=frozenset({"province"}))
    snd = SoundSettings(zones=(1, 2), tz=ZoneInfo("Asia/Ho_Chi_Minh"), quiet_window=None) if sound else None
    s = DeviceSettings(device_id="d1", groups=("g1",), zones=(1, 2), version="t", policy=policy, role="eboard",
                       sound=snd, board=BoardSettings())
    device = Device(s, load_trust({"keys": [KEY.as_dict(private=False)]}), DeviceState(saved=saved or {}),
                    random.Random(7))
    if start:
        device.handle(Started(T0))
        device.handle(LinkUp(T0))
    return device


def world(**kw: Any) -> World:
    return World(board_device(**kw), now=T0)


def send(w: World, cmd: str, args: dict[str, Any], jti: str) -> None:
    w.feed(MessageArrived(w.now, Topics().device_command("d1"), command(cmd, args, jti, w.now)))


def showing(w: World) -> str | None:
    assert w.device.board is not None
    shown = w.device.board.view()["showing"]
    return None if shown is None else str(shown["jti"])


def displaylogs(w: World) -> list[tuple[str, str]]:
    return [(m["jti"], m["result"]) for k, m in w.published if k == "displaylog"]


def test_a_standing_text_shows_at_once_in_nfc_and_stays() -> None:
    w = world()
    decomposed = unicodedata.normalize("NFD", "Thông báo: cắt điện ngày mai")
    send(w, "display", {"text": decomposed, "title": "Điện lực"}, "t1")
    w.run_until(T0 + 3_600_000)
    assert w.acks("t1") == ["accepted", "started"]
    assert w.device.board is not None
    view = w.device.board.view()["showing"]
    assert view["text"] == unicodedata.normalize("NFC", decomposed) and view["mode"] == "page"
    assert w.device.status(w.now)["board"]["showing"]["jti"] == "t1"


def test_a_timed_bulletin_ends_after_its_duration_with_one_display_log() -> None:
    w = world()
    send(w, "display", {"text": "Họp tổ dân phố", "duration_s": 30, "mode": "ticker"}, "t1")
    w.run_until(T0 + 29_000)
    assert showing(w) == "t1"
    w.run_until(T0 + 31_000)
    assert showing(w) is None and w.acks("t1") == ["accepted", "started", "finished"]
    log = next(m for k, m in w.published if k == "displaylog")
    assert (log["result"], log["duration_s"], log["mode"], log["content"]) == ("completed", 30.0, "ticker", "text")
    assert len(log["text_sha256"]) == 64


def test_an_emergency_covers_a_normal_until_it_expires_then_the_normal_comes_back() -> None:
    w = world()
    send(w, "display", {"text": "Lịch tiêm chủng"}, "n1")
    w.run_until(T0 + 1000)
    send(w, "display", {"text": "Lũ quét: sơ tán ngay", "priority": "emergency", "duration_s": 60}, "e1")
    assert showing(w) == "e1"
    w.run_until(T0 + 62_000)
    assert showing(w) == "n1"
    assert w.acks("n1") == ["accepted", "started", "preempted", "started"]
    assert w.acks("e1") == ["accepted", "started", "finished"]
    assert displaylogs(w) == [("n1", "preempted"), ("e1", "completed")]


def test_priority_waits_for_a_timed_normal_but_goes_ahead_of_waiting_normals() -> None:
    w = world()
    send(w, "display", {"text": "a", "duration_s": 10}, "n1")
    send(w, "display", {"text": "b", "duration_s": 10}, "n2")
    send(w, "display", {"text": "c", "duration_s": 10, "priority": "priority"}, "p1")
    assert showing(w) == "n1"
    w.run_until(T0 + 10_000)
    assert showing(w) == "p1"
    w.run_until(T0 + 20_000)
    assert showing(w) == "n2"


def test_a_newer_standing_bulletin_of_the_same_level_replaces_the_older() -> None:
    w = world()
    send(w, "display", {"text": "cũ"}, "s1")
    w.run_until(T0 + 5000)
    send(w, "display", {"text": "mới"}, "s2")
    assert showing(w) == "s2" and w.acks("s1") == ["accepted", "started", "stopped"]
    assert displaylogs(w) == [("s1", "replaced")]


def test_a_waiting_bulletin_whose_until_passes_expires_without_being_shown() -> None:
    w = world()
    send(w, "display", {"text": "khẩn", "priority": "emergency", "duration_s": 100}, "e1")
    send(w, "display", {"text": "thường", "until": T0 // 1000 + 50}, "n1")
    w.run_until(T0 + 200_000)
    assert w.acks("n1") == ["accepted", "expired"]
    assert displaylogs(w) == [("e1", "completed")]


def test_stop_by_jti_all_and_unknown() -> None:
    w = world()
    send(w, "display", {"text": "a"}, "n1")
    send(w, "display", {"text": "b", "priority": "priority"}, "p1")
    send(w, "stop", {"jti": "p1"}, "x1")
    assert showing(w) == "n1" and w.acks("x1") == ["accepted", "finished"]
    send(w, "stop", {"all": True}, "x2")
    assert showing(w) is None and w.acks("n1")[-1] == "stopped"
    send(w, "stop", {"jti": "nope"}, "x3")
    assert w.acks("x3") == ["failed"] and w.ack_codes("x3") == ["not_found"]


def test_an_image_shows_once_verified_and_a_failed_one_leaves_the_board_as_it_was() -> None:
    w = world()
    send(w, "display", {"text": "chữ"}, "t1")
    device = w.device
    effects = device.handle(MessageArrived(w.now, Topics().device_command("d1"),
                                           command("display", {"image": IMAGE, "title": "Ảnh"}, "i1", w.now)))
    assert [e for e in effects if isinstance(e, Prepare)] == [Prepare("board:i1", IMAGE, pin=False)]
    w.feed(PrepareFailed(w.now + 5, "board:i1", "hash_mismatch", "content does not match"))
    assert showing(w) == "t1" and w.acks("i1") == ["failed"]
    send(w, "display", {"image": IMAGE, "text": "chú thích"}, "i2")
    w.run_until(T0 + 100)
    assert device.board is not None
    assert showing(w) == "i2" and device.board.view()["showing"]["image"] == {"sha256": "b" * 64,
                                                                              "file": "/cache/board:i2"}


def saved_board(w: World) -> list[Any]:
    saves = [e for e in w.device.handle(TimerFired(w.now, "none")) if isinstance(e, SaveSetting)]
    assert not saves  # a timer that is not the board's saves nothing
    assert w.device.board is not None
    from agent.core.eboard import to_saved

    return [to_saved(b) for b in w.device.board._all()]


def test_the_board_comes_back_after_a_restart_and_drops_what_ran_out() -> None:
    w = world()
    send(w, "display", {"text": "Bản tin đứng"}, "s1")
    send(w, "display", {"text": "Khẩn", "priority": "emergency", "duration_s": 60}, "e1")
    saved = {"board": saved_board(w)}
    later = World(board_device(saved=saved, start=False), now=T0 + 10_000)
    later.feed(Started(later.now))
    assert showing(later) == "e1" and later.acks("e1") == ["started"]  # shown again, not accepted again
    later.run_until(T0 + 61_000)
    assert showing(later) == "s1"
    gone = World(board_device(saved=saved, start=False), now=T0 + 120_000)
    gone.feed(Started(gone.now))
    assert showing(gone) == "s1"


def test_every_change_is_saved() -> None:
    device = board_device()
    effects = device.handle(MessageArrived(T0, Topics().device_command("d1"), command("display", {"text": "x"}, "s1")))
    saves = [e.value for e in effects if isinstance(e, SaveSetting) and e.key == "board"]
    assert saves and saves[-1][0]["jti"] == "s1"


def test_a_snapshot_is_published_under_the_cap_and_acked() -> None:
    device = board_device()
    effects = device.handle(MessageArrived(T0, Topics().device_command("d1"), command("snapshot", {}, "sn1")))
    asked = [e for e in effects if isinstance(e, TakeSnapshot)]
    assert asked and asked[0].request_id == "sn1" and asked[0].max_bytes == (16384 - 400) * 3 // 4
    image = b"\xff\xd8" + bytes(asked[0].max_bytes - 2)
    out = device.handle(SnapshotTaken(T0 + 900, "sn1", "image/jpeg", image, 640, 360))
    msg = next(e for e in out if isinstance(e, Publish) and e.topic.endswith("/display"))
    body = json.loads(msg.payload)
    assert len(msg.payload) <= 16384 and base64.b64decode(body["data"]) == image
    assert (body["kind"], body["width"], body["mime"]) == ("snapshot", 640, "image/jpeg")
    failed = device.handle(SnapshotTaken(T0, "sn1", error="late"))  # answered already: ignored
    assert not [e for e in failed if isinstance(e, Publish)]


def test_a_failed_snapshot_is_acked_failed() -> None:
    w = world()
    send(w, "snapshot", {}, "sn1")
    w.feed(SnapshotTaken(w.now, "sn1", error="chromium did not start"))
    assert w.acks("sn1") == ["accepted", "failed"] and w.ack_codes("sn1")[-1] == "snapshot_failed"


def test_an_emergency_play_shows_its_text_and_stop_ends_both() -> None:
    w = world(sound=True)
    send(w, "play", {"source": {"tts": "Cháy rừng: tránh xa khu vực"}, "priority": "emergency", "title": "Cháy"}, "e1")
    assert showing(w) == "e1"
    assert w.acks("e1") == ["accepted"]  # the board adds no ack of its own
    send(w, "stop", {"jti": "e1"}, "x1")
    assert showing(w) is None and w.acks("x1") == ["accepted", "finished"]
    assert displaylogs(w) == [("e1", "stopped")]
    send(w, "play", {"source": {"tts": "thường"}}, "n1")
    assert showing(w) is None  # only an emergency's text goes to the board


def test_heartbeat_and_status_say_eboard_and_what_shows() -> None:
    w = world()
    send(w, "display", {"text": "x"}, "s1")
    w.feed(TimerFired(w.now + 60_000, "hb"))
    hb = [m for k, m in w.published if k == "hb"][-1]
    assert (hb["role"], hb["showing"]) == ("eboard", "s1")
    assert w.device.status(w.now)["role"] == "eboard"


def test_a_cluster_refuses_display_and_snapshot() -> None:
    from tests.agent.core.device_helpers import acks, arrive, make_device

    device = make_device()
    assert acks(arrive(device, "display", {"text": "x"}, "t1", T0)) == [("t1", "rejected", "unknown_command")]
    assert acks(arrive(device, "snapshot", {}, "t2", T0)) == [("t2", "rejected", "unknown_command")]


def test_technician_actions_become_local_commands() -> None:
    w = world(sound=True)
    w.feed(LocalAction(w.now, "test_tone"))
    w.run_until(T0 + 20_000)
    tone = [m for k, m in w.published if k == "playlog"]
    assert tone and tone[0]["jti"].startswith("local-test_tone-") and tone[0]["result"] == "completed"
    w.feed(LocalAction(w.now, "relay_test", zone=2))
    assert w.relays[2] is True
    w.feed(LocalAction(w.now, "format_disk"))
    assert w.device.state.log_lines[-1]["key"] == "local_action_refused"

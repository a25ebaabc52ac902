"""Videos and live streams on the display desk, as tables of events -> effects on a fake clock: a verified video
shown once ends when the board's page reports its end, a looped one does not, a live stream needs no download and
must pass the source policy, an emergency covers a video, and the display log names what was shown."""

from __future__ import annotations

from typing import Any

from agent.core.eboard import to_saved
from agent.core.effects import Prepare
from agent.core.events import MessageArrived, PlayerEvent, Started
from agent.core.topics import Topics
from tests.agent.core.device_helpers import T0, command
from tests.agent.core.test_eboard import board_device, send, showing, world
from tests.agent.core.world import World

VIDEO = {"url": "http://x/clip.webm", "sha256": "c" * 64}
LIVE = "https://tv.example.vn/live/xa.webm?token=SIGNED&exp=1"


def displaylog(w: World, jti: str) -> dict[str, Any]:
    return next(m for k, m in w.published if k == "displaylog" and m["jti"] == jti)


def test_a_video_shown_once_is_downloaded_verified_and_ends_when_the_page_reports_its_end() -> None:
    w = world()
    effects = w.device.handle(MessageArrived(w.now, Topics().device_command("d1"),
                                             command("display", {"video": VIDEO, "title": "Phim"}, "v1", w.now)))
    assert [e for e in effects if isinstance(e, Prepare)] == [Prepare("board:v1", VIDEO, pin=False)]
    for e in effects:
        w._do(e)
    w.run_until(T0 + 100)
    assert showing(w) == "v1"
    assert w.device.board is not None
    shown = w.device.board.view()["showing"]
    assert shown["video"] == {"sha256": "c" * 64, "file": "/cache/board:v1", "loop": False}
    assert shown["play_id"] == "board:v1" and shown["image"] is None and shown["live"] is None
    w.run_until(T0 + 3_005)  # shown at T0 + 5, once the download was verified
    w.feed(PlayerEvent(w.now, "board:v1", "finished"))
    assert showing(w) is None and w.acks("v1") == ["accepted", "started", "finished"]
    log = displaylog(w, "v1")
    assert (log["result"], log["content"], log["video_sha256"], log["loop"]) == ("completed", "video", "c" * 64, False)
    assert log["duration_s"] == 3.0


def test_a_looped_video_ignores_the_end_of_a_run_and_stays_until_its_duration() -> None:
    w = world()
    send(w, "display", {"video": VIDEO | {"loop": True}, "text": "Chú thích", "duration_s": 30}, "v1")
    w.run_until(T0 + 5_000)
    w.feed(PlayerEvent(w.now, "board:v1", "finished"))
    assert showing(w) == "v1"
    w.run_until(T0 + 31_000)
    assert showing(w) is None and w.acks("v1")[-1] == "finished"
    log = displaylog(w, "v1")
    assert (log["result"], log["content"], log["loop"], log["duration_s"]) == ("completed", "text+video", True, 30.0)


def test_a_video_the_browser_cannot_decode_fails_and_the_board_goes_on() -> None:
    w = world()
    send(w, "display", {"text": "Bản tin đứng"}, "t1")
    send(w, "display", {"video": VIDEO, "priority": "priority", "duration_s": 60}, "v1")
    w.run_until(T0 + 100)
    assert showing(w) == "v1"
    w.feed(PlayerEvent(w.now, "board:v1", "failed", "4 MEDIA_ERR_SRC_NOT_SUPPORTED"))
    assert w.acks("v1")[-1] == "failed" and w.ack_codes("v1")[-1] == "decode_error"
    assert displaylog(w, "v1")["result"] == "failed"
    assert showing(w) == "t1"
    failed = [line["params"] for line in w.device.state.log_lines if line["key"] == "board_video_failed"]
    assert failed == [{"title": "v1", "reason": "4 MEDIA_ERR_SRC_NOT_SUPPORTED"}]  # a staff log line says why


def test_a_report_about_a_video_not_on_screen_changes_nothing() -> None:
    w = world()
    send(w, "display", {"video": VIDEO}, "v1")
    w.run_until(T0 + 100)
    send(w, "display", {"text": "Lũ quét", "priority": "emergency", "duration_s": 10}, "e1")
    assert showing(w) == "e1"
    w.feed(PlayerEvent(w.now, "board:v1", "finished"))  # a late report from before the emergency covered it
    w.run_until(T0 + 10_200)
    assert showing(w) == "v1" and w.acks("v1") == ["accepted", "started", "preempted", "started"]
    assert displaylog(w, "v1")["result"] == "preempted"


def test_a_live_stream_needs_no_download_stays_until_its_end_and_logs_no_token() -> None:
    w = world()
    effects = w.device.handle(MessageArrived(w.now, Topics().device_command("d1"),
                                             command("display", {"live": {"url": LIVE}, "until": T0 // 1000 + 60},
                                                     "l1", w.now)))
    assert not [e for e in effects if isinstance(e, Prepare)]
    for e in effects:
        w._do(e)
    assert showing(w) == "l1"
    assert w.device.board is not None
    assert w.device.board.view()["showing"]["live"] == {"url": LIVE}
    w.feed(PlayerEvent(w.now, "board:l1", "failed", "stream dropped"))  # the page tries it again; it stays
    w.feed(PlayerEvent(w.now, "board:l1", "finished"))
    assert showing(w) == "l1"
    w.run_until(T0 + 61_000)
    assert showing(w) is None and w.acks("l1") == ["accepted", "started", "finished"]
    log = displaylog(w, "l1")
    assert (log["content"], log["live_url"]) == ("live", "https://tv.example.vn/live/xa.webm")


def test_a_live_stream_the_source_policy_refuses_never_reaches_the_screen() -> None:
    w = world()
    send(w, "display", {"text": "Đang hiển thị"}, "t1")
    send(w, "display", {"live": {"url": "http://tv.example.vn/live"}}, "l1")  # a stream needs https by default
    assert w.acks("l1") == ["accepted", "failed"] and w.ack_codes("l1")[-1] == "source_refused"
    assert showing(w) == "t1"


def test_one_media_per_bulletin() -> None:
    w = world()
    send(w, "display", {"video": VIDEO, "live": {"url": LIVE}}, "x1")
    send(w, "display", {"video": VIDEO, "image": VIDEO}, "x2")
    send(w, "display", {"live": {"url": LIVE}, "text": "Trực tiếp: kỳ họp hội đồng nhân dân"}, "x3")
    assert w.acks("x1") == ["rejected"] and w.acks("x2") == ["rejected"]
    assert w.ack_codes("x1") == [w.ack_codes("x2")[0]] == ["bad_args"]
    assert w.acks("x3") == ["accepted", "started"]  # one medium with its caption


def test_videos_and_streams_come_back_after_a_restart() -> None:
    w = world()
    send(w, "display", {"video": VIDEO | {"loop": True}}, "v1")
    send(w, "display", {"live": {"url": LIVE}, "priority": "priority"}, "l1")
    w.run_until(T0 + 100)
    assert w.device.board is not None
    saved = {"board": [to_saved(b) for b in w.device.board._all()]}
    later = World(board_device(saved=saved, start=False), now=T0 + 10_000)
    later.feed(Started(later.now))
    later.run_until(later.now + 100)
    assert showing(later) == "l1"
    send(later, "stop", {"jti": "l1"}, "s1")
    later.run_until(later.now + 100)
    assert showing(later) == "v1"
    assert later.device.board is not None
    assert later.device.board.view()["showing"]["video"]["loop"] is True


def test_a_stream_url_in_a_report_keeps_no_credentials_token_or_fragment() -> None:
    from agent.core.sources import public_url

    assert public_url("https://cam:pw@tv.example.vn:8443/live/a.webm?token=x#t=1") == "https://tv.example.vn:8443/live/a.webm"

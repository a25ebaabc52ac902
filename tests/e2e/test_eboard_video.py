"""E-boards showing video and live streams, end to end: a real agent in the e-board role, a real Mosquitto, real HTTP
servers, test clips and a live stream made by ffmpeg, and headless Chromium on the kiosk page. The frames on screen
are checked to change over time (canvas hashes and screenshots a second apart), not just an element's attributes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from province.keys import load_signing
from tests.e2e.browser import Browser, close_to
from tests.e2e.eboard_helpers import eboard_unit, image_source, kiosk_url, watch_board
from tests.e2e.test_eboard import EMERGENCY_RED, logs_of, open_kiosk, shown_jti
from tests.e2e.video_helpers import LiveStream, frame, make_clip

STREAMS = {"plain_http_stream_hosts": ["127.0.0.1"]}  # the test's live server is plain http on this machine


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_clip(tmp_path_factory.mktemp("video") / "clip.webm", 3)


@pytest.fixture
def live() -> Iterator[LiveStream]:
    server = LiveStream()
    yield server
    server.stop()


def box(browser: Browser, element_id: str) -> tuple[int, int, int, int]:
    return tuple(int(v) for v in browser.js(  # type: ignore[return-value]
        "const r = document.getElementById(arguments[0]).getBoundingClientRect(); "
        "return [r.left, r.top, r.right, r.bottom]", element_id))


def moving(browser: Browser, tmp_path: Path, element_id: str = "video") -> None:
    """The element shows frames that change: its time runs, its pixels and the screen's differ a second apart."""
    browser.wait(lambda: frame(browser, element_id) is not None, 8)
    first, shot = frame(browser, element_id), browser.screenshot()
    time.sleep(1.0)
    second, later = frame(browser, element_id), browser.screenshot()
    shot.save(tmp_path / f"{element_id}-1.png")
    later.save(tmp_path / f"{element_id}-2.png")
    assert first is not None and second is not None
    assert second[0] > first[0] and (second[1] != first[1] or first[1] == second[1] == -1), (first, second)
    where = box(browser, element_id)
    assert where[2] - where[0] > 100 and shot.crop(where).tobytes() != later.crop(where).tobytes()


def displaylog(watch: Any, jti: str) -> dict[str, Any]:
    """The bulletin's display-log record, waiting for it only if it has not arrived with the acks already."""
    assert logs_of(watch, jti) or watch.pump(5, lambda: logs_of(watch, jti)), watch.of("displaylog")
    return logs_of(watch, jti)[0]


def src(browser: Browser, element_id: str) -> Any:
    return browser.js("return document.getElementById(arguments[0]).getAttribute('src')", element_id)


def test_a_verified_video_plays_once_muted_and_its_log_says_how_long(make_unit, console, keys, browser, http_server,
                                                                    clip, tmp_path):
    unit = eboard_unit(make_unit)
    watch = watch_board(console, unit)
    open_kiosk(browser, kiosk_url(unit))
    source = image_source(http_server, "clip.webm", clip)
    jti = watch.send(load_signing(keys / "signing.jwk"), "display", {"video": source, "title": "Phim tuyên truyền"})
    moving(browser, tmp_path)
    assert browser.js("const v = document.getElementById('video'); return [v.muted, v.loop]") == [True, False]
    assert browser.text("title") == "Phim tuyên truyền"
    assert watch.wait_acks(jti, {"finished", "failed"}, timeout=8) == ["accepted", "started", "finished"]
    browser.wait(lambda: shown_jti(browser) == "", 2)  # played once: the board shows its clock again
    log = displaylog(watch, jti)
    assert (log["result"], log["content"], log["video_sha256"], log["loop"]) == ("completed", "video",
                                                                                 source["sha256"], False)
    assert 2.8 < log["duration_s"] < 5.0, log


def test_a_looped_video_starts_again_until_it_is_stopped(make_unit, console, keys, browser, http_server, clip,
                                                        tmp_path):
    unit = eboard_unit(make_unit)
    watch = watch_board(console, unit)
    key = load_signing(keys / "signing.jwk")
    open_kiosk(browser, kiosk_url(unit))
    source = image_source(http_server, "clip.webm", clip)
    jti = watch.send(key, "display", {"video": source | {"loop": True}, "text": "Chiếu lặp lại", "mode": "ticker"})
    browser.wait(lambda: (frame(browser) or (0.0, 0))[0] > 2.0, 8)
    browser.wait(lambda: (frame(browser) or (9.0, 0))[0] < 1.5, 4)  # past its 3 s end it runs again from the start
    moving(browser, tmp_path)
    watch.pump(2, lambda: "started" in watch.states(jti))
    assert shown_jti(browser) == jti and watch.states(jti) == ["accepted", "started"]
    assert browser.text("ticker-text") == "Chiếu lặp lại"  # the caption scrolls under the video, not under a clock
    assert browser.js("return getComputedStyle(document.getElementById('idle-clock')).display") == "none"
    stop = watch.send(key, "stop", {"jti": jti})
    assert watch.wait_acks(stop, {"finished"}) == ["accepted", "finished"]
    browser.wait(lambda: shown_jti(browser) == "" and src(browser, "video") is None, 2)
    log = displaylog(watch, jti)
    assert (log["result"], log["content"], log["loop"]) == ("stopped", "text+video", True)
    assert log["duration_s"] > 4.0, log


def test_a_video_with_a_wrong_hash_is_refused_and_nothing_changes_on_screen(make_unit, console, keys, browser,
                                                                           http_server, clip):
    unit = eboard_unit(make_unit)
    watch = watch_board(console, unit)
    key = load_signing(keys / "signing.jwk")
    open_kiosk(browser, kiosk_url(unit))
    text = watch.send(key, "display", {"text": "Bản tin đang hiển thị", "title": "Xã Ia Grai"})
    browser.wait(lambda: shown_jti(browser) == text, 2)
    page = box(browser, "page")
    before = browser.screenshot().crop(page)
    source = image_source(http_server, "clip.webm", clip)
    bad = watch.send(key, "display", {"video": source | {"sha256": "0" * 64}, "priority": "priority"})
    assert watch.wait_acks(bad, {"failed", "finished"}) == ["accepted", "failed"]
    assert watch.acks(bad)[-1]["code"] == "hash_mismatch"
    time.sleep(1.0)  # two polls of the page
    assert shown_jti(browser) == text and src(browser, "video") is None
    assert browser.screenshot().crop(page).tobytes() == before.tobytes()
    assert watch.states(text) == ["accepted", "started"]


def test_a_live_stream_shows_changing_frames_until_it_is_stopped(make_unit, console, keys, browser, live, tmp_path):
    unit = eboard_unit(make_unit, sources=STREAMS)
    watch = watch_board(console, unit)
    key = load_signing(keys / "signing.jwk")
    open_kiosk(browser, kiosk_url(unit))
    url = live.url("/live/hop-hdnd.webm?token=k9-signed&exp=1767600000")
    jti = watch.send(key, "display", {"live": {"url": url}, "title": "Trực tiếp", "text": "Kỳ họp HĐND xã"})
    moving(browser, tmp_path)
    assert src(browser, "video") == url
    watch.pump(2, lambda: any((m.get("board") or {}).get("showing") for m in watch.of("status")))
    assert watch.last_status()["board"]["showing"]["content"] == "text+live"
    moving(browser, tmp_path)  # still live a few seconds on: a stream has no end of its own
    stop = watch.send(key, "stop", {"jti": jti})
    assert watch.wait_acks(stop, {"finished"}) == ["accepted", "finished"]
    browser.wait(lambda: shown_jti(browser) == "" and src(browser, "video") is None, 2)
    log = displaylog(watch, jti)
    assert (log["result"], log["content"]) == ("stopped", "text+live")
    assert log["live_url"] == url.split("?")[0]  # the stream's signature is not in the log


def test_an_emergency_text_preempts_a_video_which_comes_back_after_it(make_unit, console, keys, browser, http_server,
                                                                     clip, tmp_path):
    unit = eboard_unit(make_unit)
    watch = watch_board(console, unit)
    key = load_signing(keys / "signing.jwk")
    open_kiosk(browser, kiosk_url(unit))
    source = image_source(http_server, "clip.webm", clip)
    video = watch.send(key, "display", {"video": source | {"loop": True}, "title": "Phim"})
    browser.wait(lambda: frame(browser) is not None, 8)
    emergency = watch.send(key, "display", {"text": "Cháy rừng: không vào rừng phòng hộ", "title": "KHẨN CẤP",
                                            "priority": "emergency", "duration_s": 4})
    browser.wait(lambda: shown_jti(browser) == emergency, 2)
    shot = browser.screenshot()
    shot.save(tmp_path / "emergency.png")
    assert close_to(shot.getpixel((640, 650)), EMERGENCY_RED), shot.getpixel((640, 650))
    assert src(browser, "video") is None and src(browser, "em-video") is None  # the video stopped: no sound, no frame
    browser.wait(lambda: shown_jti(browser) == video, 6)
    moving(browser, tmp_path)
    watch.pump(3, lambda: len(watch.states(video)) >= 4)
    assert watch.states(video) == ["accepted", "started", "preempted", "started"]
    assert [(m["jti"], m["result"]) for m in watch.of("displaylog")] == [(video, "preempted"), (emergency, "completed")]


def test_a_verified_video_the_browser_cannot_decode_fails_and_the_board_goes_back(make_unit, console, keys, browser,
                                                                                 http_server):
    unit = eboard_unit(make_unit)
    watch = watch_board(console, unit)
    key = load_signing(keys / "signing.jwk")
    open_kiosk(browser, kiosk_url(unit))
    text = watch.send(key, "display", {"text": "Bản tin đứng"})
    browser.wait(lambda: shown_jti(browser) == text, 2)
    broken = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 16  # a WebM signature and no video in it: its hash matches
    bad = watch.send(key, "display", {"video": image_source(http_server, "broken.webm", broken), "duration_s": 60})
    assert watch.wait_acks(bad, {"failed", "finished"}) == ["accepted", "started", "failed"]
    assert watch.acks(bad)[-1]["code"] == "decode_error"
    browser.wait(lambda: shown_jti(browser) == text, 2)
    assert displaylog(watch, bad)["result"] == "failed"

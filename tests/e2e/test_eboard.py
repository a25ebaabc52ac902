"""E-boards end to end: a real agent in the e-board role, a real Mosquitto, and headless Chromium on the kiosk page
it serves. Checked on the page's DOM and on screenshots: a signed display within 2 s, Vietnamese diacritics, an
emergency over a normal bulletin until it expires, a wrong hash, a restart, a snapshot, and the display logs."""

from __future__ import annotations

import base64
import io
import json
import signal
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from province.keys import load_signing
from tests.e2e.browser import Browser, close_to, colours
from tests.e2e.eboard_helpers import eboard_unit, image_source, kiosk_url, png, watch_board

VI = "Thông báo khẩn: bão số 3 đổ bộ vào Gia Lai; bà con ở vùng trũng thấp di chuyển đến nơi an toàn trước 17 giờ."
EMERGENCY_RED = (176, 0, 0)  # #b00000 in kiosk.css
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser()
    yield b
    b.close()


def open_kiosk(browser: Browser, url: str) -> None:
    browser.driver.get(url)
    browser.wait(lambda: browser.js("return document.documentElement.dataset.ready") == "1", 10)


def shown_jti(browser: Browser) -> str:
    return str(browser.js("return document.body.dataset.jti || ''"))


def logs_of(watch, jti: str) -> list[dict[str, Any]]:
    return [m for m in watch.of("displaylog") if m["jti"] == jti]


def test_a_signed_display_shows_within_2s_with_every_diacritic(make_unit, console, keys, browser, tmp_path):
    unit = eboard_unit(make_unit)
    watch = watch_board(console, unit)
    open_kiosk(browser, kiosk_url(unit))
    before = browser.screenshot()
    sent = time.monotonic()
    jti = watch.send(load_signing(keys / "signing.jwk"), "display",
                     {"text": unicodedata.normalize("NFD", VI), "title": "Ủy ban nhân dân xã", "duration_s": 4})
    browser.wait(lambda: browser.text("text") == unicodedata.normalize("NFC", VI), 2.0)
    took = time.monotonic() - sent  # from before the signed command was published to the text on the page
    assert took < 2.0, took
    assert browser.text("title") == "Ủy ban nhân dân xã"
    after = browser.screenshot()
    after.save(tmp_path / "display.png")
    text_box = tuple(int(v) for v in browser.js(
        "const r = document.getElementById('text').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]"))
    assert colours(after.crop(text_box)) > 10 and after.crop(text_box).tobytes() != before.crop(text_box).tobytes()
    fonts = browser.fonts_of("#text")
    assert [f["familyName"] for f in fonts] == ["DejaVu Sans"], fonts  # one font drew every glyph: no fallback
    cmap = TTFont(DEJAVU)["cmap"].getBestCmap()
    assert all(ord(c) in cmap for c in unicodedata.normalize("NFC", VI) if not c.isspace())
    assert watch.pump(8, lambda: logs_of(watch, jti)), watch.of("displaylog")
    log = logs_of(watch, jti)[0]
    assert (log["result"], log["content"], log["mode"]) == ("completed", "text", "page")
    assert 3.5 < log["duration_s"] < 5.0
    browser.wait(lambda: shown_jti(browser) == "", 2)  # its time is over: the board shows its clock again


def test_an_emergency_covers_a_normal_bulletin_and_ends_when_it_expires(make_unit, console, keys, browser, tmp_path):
    unit = eboard_unit(make_unit)
    watch = watch_board(console, unit)
    key = load_signing(keys / "signing.jwk")
    open_kiosk(browser, kiosk_url(unit))
    normal = watch.send(key, "display", {"text": "Lịch tiêm chủng mở rộng tháng này", "title": "Trạm y tế"})
    browser.wait(lambda: shown_jti(browser) == normal, 2)
    emergency = watch.send(key, "display", {"text": "Lũ quét: sơ tán ngay khỏi khu vực ven suối",
                                            "title": "CẢNH BÁO LŨ QUÉT", "priority": "emergency", "duration_s": 6})
    browser.wait(lambda: shown_jti(browser) == emergency, 2)
    shot = browser.screenshot()
    shot.save(tmp_path / "emergency.png")
    assert close_to(shot.getpixel((640, 650)), EMERGENCY_RED), shot.getpixel((640, 650))
    snap = watch.send(key, "snapshot", {})
    assert watch.wait_acks(snap, {"finished", "failed"}, timeout=15)[-1] == "finished", watch.acks(snap)
    watch.pump(3, lambda: watch.of("display"))
    answer = watch.of("display")[-1]
    image = Image.open(io.BytesIO(base64.b64decode(answer["data"]))).convert("RGB")
    image.save(tmp_path / "snapshot.png")
    assert (answer["jti"], answer["mime"], image.size, answer["showing"]) == (snap, "image/jpeg", (640, 360), emergency)
    assert len(json.dumps(answer, ensure_ascii=False).encode()) <= 16384
    pixel = image.getpixel((320, 325))
    assert isinstance(pixel, tuple), pixel  # an RGB image's pixel is a tuple
    assert close_to(pixel, EMERGENCY_RED, 30), pixel
    browser.wait(lambda: shown_jti(browser) == normal, 8)
    assert not close_to(browser.screenshot().getpixel((640, 650)), EMERGENCY_RED)
    assert watch.pump(3, lambda: len(watch.of("displaylog")) >= 2)
    assert [(m["jti"], m["result"]) for m in watch.of("displaylog")] == [(normal, "preempted"), (emergency, "completed")]
    watch.pump(3, lambda: len(watch.states(normal)) >= 4)
    assert watch.states(normal) == ["accepted", "started", "preempted", "started"]


def test_a_wrong_hash_shows_nothing_new_and_the_right_one_shows_the_image(make_unit, console, keys, browser,
                                                                          http_server):
    unit = eboard_unit(make_unit)
    watch = watch_board(console, unit)
    key = load_signing(keys / "signing.jwk")
    open_kiosk(browser, kiosk_url(unit))
    text = watch.send(key, "display", {"text": "Bản tin đang hiển thị"})
    browser.wait(lambda: shown_jti(browser) == text, 2)
    source = image_source(http_server, "map.png", png(64, 48, (0, 120, 255)))
    bad = watch.send(key, "display", {"image": source | {"sha256": "0" * 64}, "text": "giả mạo"})
    assert watch.wait_acks(bad, {"failed", "finished"}) == ["accepted", "failed"]
    assert watch.acks(bad)[-1]["code"] == "hash_mismatch"
    time.sleep(1.0)  # two polls of the page
    assert shown_jti(browser) == text and browser.text("text") == "Bản tin đang hiển thị"
    good = watch.send(key, "display", {"image": source, "text": "Bản đồ vùng ngập"})
    browser.wait(lambda: browser.js("const i = document.getElementById('image'); return i.complete && i.naturalWidth"), 3)
    assert browser.js("return document.getElementById('image').naturalWidth") == 64
    watch.pump(3, lambda: watch.states(text)[-1] == "stopped")
    assert shown_jti(browser) == good and watch.states(text)[-1] == "stopped"  # replaced by the newer standing one


def test_after_an_agent_restart_the_page_shows_the_last_content_again(make_unit, console, keys, browser):
    unit = eboard_unit(make_unit)
    watch = watch_board(console, unit)
    url = kiosk_url(unit)
    open_kiosk(browser, url)
    jti = watch.send(load_signing(keys / "signing.jwk"), "display",
                     {"text": "Nội dung cuối cùng trước khi mất điện", "mode": "ticker", "priority": "priority"})
    browser.wait(lambda: shown_jti(browser) == jti, 2)
    unit.stop(signal.SIGKILL)  # as a power cut would
    time.sleep(0.6)
    assert shown_jti(browser) == jti  # the page keeps the last content while the unit does not answer
    unit.start()
    watch.wait_online()  # after the last will of the killed agent
    assert kiosk_url(unit) == url  # the same boot and the same port: the board's browser needs no new URL
    browser.wait(lambda: shown_jti(browser) == jti and "offline" not in browser.js("return document.body.className"),
                 5)
    open_kiosk(browser, url)  # a fresh page load, as after the board's own reboot
    browser.wait(lambda: shown_jti(browser) == jti, 5)
    assert browser.text("ticker-text") == "Nội dung cuối cùng trước khi mất điện"
    assert browser.js("return document.body.classList.contains('mode-ticker')")


def test_the_kiosk_answers_only_under_its_secret_path(make_unit, browser):
    import urllib.error
    import urllib.request

    unit = eboard_unit(make_unit)
    url = kiosk_url(unit)
    root = url.split("/kiosk/")[0]
    for path in ("/", "/kiosk/", "/kiosk/" + "0" * 32 + "/state", "/kiosk/../state"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(root + path, timeout=5)
        assert refused.value.code == 404, path
    with urllib.request.urlopen(url + "state", timeout=5) as ok:
        assert json.load(ok)["showing"] is None


def test_the_idle_page_names_the_commune_and_shows_the_date_and_time_once(make_unit, browser):
    unit = eboard_unit(make_unit, device={"commune": "Xã Hòa An"})
    open_kiosk(browser, kiosk_url(unit))
    browser.wait(lambda: browser.text("idle-commune") == "Xã Hòa An", 5)
    shown = browser.js("return document.body.innerText")
    year = str(time.localtime().tm_year)
    assert shown.count(year) == 1, shown  # the date once
    clock = browser.js("return document.getElementById('idle-clock').textContent")
    assert clock and shown.count(clock[:5]) == 1, shown  # the time once (hh:mm), large on the idle page

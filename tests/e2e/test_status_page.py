"""The technician's status page end to end: a real agent serving it, a real Mosquitto, headless Chromium.
Login required (401 without a session, a wrong password refused), status shown after login, and the test-tone
button producing a play log on dev/<id>/playlog; the relay-test button pulses a relay."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agent.adapters.web import passwords
from province.localnet import free_port
from tests.conftest import Unit, wait_until
from tests.e2e.browser import Browser
from tests.e2e.eboard_helpers import watch_board
from tools.provision import STATUS_HASH

PASSWORD = "k7m2-xq9p-4hdt-r8wa"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser()
    yield b
    b.close()


def status_unit(make_unit: Callable[..., Unit], **sections: dict[str, Any]) -> tuple[Unit, str]:
    """A unit whose status page listens on a free port; its bundle's hash is for PASSWORD (as `loa provision`
    would write for a password it printed)."""
    port = free_port()
    unit = make_unit(start=False, web={"status_port": port}, audio={"output": "wav:wavs", "quiet_hours": "off",
                                                                      "warmup_s": 0.2, "tail_s": 0.3}, **sections)
    (unit.dir / STATUS_HASH).write_text(passwords.hash_password(PASSWORD) + "\n")
    unit.start()
    return unit, f"http://127.0.0.1:{port}"


def status_of(url: str, data: dict[str, str] | None = None, session: str = "") -> int:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    headers = {"Cookie": f"loa_session={session}"} if session else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def click(browser: Browser, element_id: str) -> None:
    """One script call: the page refreshes itself every 5 s, so a found element may be gone a moment later."""
    browser.js("document.getElementById(arguments[0]).click()", element_id)


def log_in(browser: Browser, base: str, password: str) -> None:
    browser.driver.get(base + "/login?lang=vi")
    browser.driver.find_element("id", "password").send_keys(password)
    browser.driver.find_element("id", "login").click()


def test_login_is_required_and_a_wrong_password_is_refused(make_unit, console, browser):
    unit, base = status_unit(make_unit)
    watch_board(console, unit)
    assert status_of(base + "/") == 401
    assert status_of(base + "/action", {"action": "test_tone", "zone": "0", "csrf": "x"}) == 403
    assert status_of(base + "/login", {"password": "wrong-password"}) == 401
    browser.driver.delete_all_cookies()
    browser.driver.get(base + "/?lang=vi")
    assert browser.driver.find_elements("id", "password") and not browser.driver.find_elements("id", "unit")
    log_in(browser, base, "sai-mat-khau")
    browser.wait(lambda: "Sai mật khẩu." in browser.driver.page_source, 3)
    assert not browser.driver.find_elements("id", "unit") and not browser.driver.get_cookie("loa_session")


def test_after_login_the_status_shows_and_the_test_tone_makes_a_play_log(make_unit, console, browser, tmp_path):
    unit, base = status_unit(make_unit)
    watch = watch_board(console, unit)
    browser.driver.delete_all_cookies()
    log_in(browser, base, PASSWORD)
    browser.wait(lambda: browser.driver.find_elements("id", "unit"), 3)
    cookie = browser.driver.get_cookie("loa_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page = browser.text("unit")
    assert unit.device_id in browser.driver.title and "cụm loa" in page and "đã kết nối" in page
    assert status_of(base + "/", session=cookie["value"]) == 200
    click(browser, "test_tone")
    browser.wait(lambda: "Đã yêu cầu phát âm thử" in browser.text("flash"), 3)
    assert watch.pump(20, lambda: watch.of("playlog")), unit.output()
    tone = watch.of("playlog")[0]
    assert tone["jti"].startswith("local-test_tone-") and tone["result"] == "completed" and tone["duration_s"] > 1
    assert (unit.dir / "wavs" / f"{tone['jti']}.wav").stat().st_size > 10_000  # espeak-ng spoke, libVLC played it
    click(browser, "relay_test-2")
    assert wait_until(lambda: any(j["zone"] == 2 and j["on"] for j in unit.relay_journal()), 5)
    browser.driver.get(base + "/?lang=en")
    browser.wait(lambda: "Phát âm thử (trang trạng thái)" in browser.text("playlogs"), 5)
    assert "Technician on the status page: test_tone" in browser.text("logs")
    browser.driver.save_screenshot(str(tmp_path / "status.png"))
    click(browser, "logout")
    browser.wait(lambda: browser.driver.find_elements("id", "password"), 3)
    assert status_of(base + "/", session=cookie["value"]) == 401  # the session is gone on the unit too

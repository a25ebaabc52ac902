"""`loa dashboard` end to end: real Mosquitto, real agent processes in two communes, the dashboard as a real process,
headless Chromium. Logged in, the page shows the units on a map and per commune, a play in "now playing" and then in
"last plays", and a stopped unit offline within 2 s; screenshots at desktop and phone width go to the test's tmp dir.
Without a login nothing is served: not the page, not its JSON."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.core.topics import Target
from agent.fakes.sysfs import FakeSysfs
from province.keys import load_signing
from tests.conftest import Broker, Unit, wait_until
from tests.e2e.browser import Browser
from tests.tools.dashboard.dash_helpers import PASSWORD, Running, request, start_dashboard

FAST_AUDIO = {"output": "wav:wavs", "quiet_hours": "off", "warmup_s": 0.2, "tail_s": 0.3, "stagger_s": 0.1}
PHONE = (390, 844)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser()
    yield b
    b.close()


@pytest.fixture
def dashboard(broker: Broker, tmp_path: Path) -> Iterator[Running]:
    running = start_dashboard(broker, tmp_path, "--lang", "en")
    yield running
    running.stop()


def fleet(make_unit: Callable[..., Unit], sysroot: Path) -> tuple[str, str, list[Unit]]:
    """Three units in two communes of their own (other tests' units share the broker), around Pleiku; the second
    one's board is too hot (its thermal zone, faked, reads 82 °C)."""
    tag = f"{os.getpid()}-{time.monotonic_ns() % 100000}"
    a, b = f"xa-ia-grai-{tag}", f"xa-chu-pah-{tag}"
    places = ((a, 13.9876, 107.9543), (a, 13.9721, 107.9810), (b, 14.0312, 107.9105))
    FakeSysfs(sysroot).temp_c(82.0)
    hot = {"hardware": {"monitor": "pi-basic", "sysfs_root": str(sysroot), "sensors_poll_s": 5},
           "reports": {"heartbeat_s": 5}}
    units = [make_unit(f"dash{i}-{tag}", groups=(commune, "province"), audio=FAST_AUDIO,
                       device={"location": [lat, lon]}, **(hot if i == 1 else {}))
             for i, (commune, lat, lon) in enumerate(places)]
    return a, b, units


def log_in(browser: Browser, base: str, password: str, lang: str) -> None:
    browser.driver.delete_all_cookies()
    browser.driver.get(f"{base}/login?lang={lang}")
    browser.driver.find_element("id", "password").send_keys(password)
    browser.driver.find_element("id", "login").click()


def row_online(browser: Browser, dev: str) -> str:
    return str(browser.js("const r = document.querySelector(`#units tr[data-dev='${arguments[0]}']`);"
                          "return r ? r.dataset.online : ''", dev))


def shows(browser: Browser, selector: str) -> bool:
    return bool(browser.js("return !!document.querySelector(arguments[0])", selector))


def set_width(browser: Browser, width: int, height: int, mobile: bool) -> None:
    browser.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def test_the_page_shows_the_fleet_live(broker, keys, make_unit, dashboard, browser, console, tmp_path):
    commune_a, commune_b, units = fleet(make_unit, tmp_path / "sysroot")
    log_in(browser, dashboard.base, PASSWORD, "vi")
    browser.wait(lambda: all(row_online(browser, u.device_id) == "true" for u in units), 20)
    assert "Cụm loa" in browser.text("summary") and "Đăng xuất" in browser.driver.page_source
    for u in (units[0], units[2]):
        assert shows(browser, f"#map g[data-dev='{u.device_id}'][data-state='ok'] circle")
    browser.wait(lambda: shows(browser, f"#faults li[data-dev='{units[1].device_id}'][data-fault='hot']"), 15)
    assert "bo mạch quá nóng (82\u00a0°C)" in browser.text("faults")
    assert shows(browser, f"#map g[data-dev='{units[1].device_id}'][data-state='fault']")
    communes = browser.js("return [...document.querySelectorAll('#communes li')].map(l => l.textContent)")
    assert f"{commune_a}trực tuyến 2 / 2" in communes and f"{commune_b}trực tuyến 1 / 1" in communes
    xs = browser.js("return [...document.querySelectorAll('#map g[data-dev] circle')].map(c => +c.getAttribute('cx'))")
    assert len(set(xs)) == len(xs)  # three places, three points
    fetched = browser.js("return performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched and all(url.startswith(dashboard.base + "/") for url in fetched)  # no tiles, no CDN

    title = "Bản tin thử nghiệm bảng theo dõi"
    key = load_signing(keys / "signing.jwk")
    console.send(key, Target("dev", units[0].device_id), "play",
                 {"source": {"tts": "Thử loa. Một, hai, ba, bốn, năm, sáu, bảy, tám, chín, mười.", "lang": "vi"},
                  "title": title})
    browser.wait(lambda: title in browser.text("playing"), 15)
    assert shows(browser, f"#map g[data-dev='{units[0].device_id}'] circle.ring")

    stopped = time.monotonic()
    units[2].stop()  # SIGTERM: the unit says goodbye, the broker passes its offline status on
    browser.wait(lambda: row_online(browser, units[2].device_id) == "false", 2.0)
    took = time.monotonic() - stopped
    assert took <= 2.0  # counted from the stop signal, the unit's own shutdown included
    assert shows(browser, f"#map g[data-dev='{units[2].device_id}'][data-state='offline']")
    assert f"{commune_b}trực tuyến 0 / 1" in browser.js(
        "return [...document.querySelectorAll('#communes li')].map(l => l.textContent)")
    browser.screenshot().save(tmp_path / "dashboard-desktop-vi.png")

    browser.wait(lambda: shows(browser, f"#plays tr[data-dev='{units[0].device_id}']"), 30)
    assert title in browser.text("plays") and "hoàn thành" in browser.text("plays")
    browser.wait(lambda: title not in browser.text("playing"), 5)
    browser.driver.get(dashboard.base + "/?lang=en")
    browser.wait(lambda: shows(browser, f"#plays tr[data-dev='{units[0].device_id}']"), 5)
    assert "completed" in browser.text("plays") and "Log out" in browser.driver.page_source
    set_width(browser, *PHONE, mobile=True)
    try:
        browser.driver.get(dashboard.base + "/?lang=vi")
        browser.wait(lambda: shows(browser, f"#plays tr[data-dev='{units[0].device_id}']"), 5)
        page_width = browser.js("return document.documentElement.scrollWidth")
        assert page_width <= PHONE[0]  # one column: nothing to scroll sideways but the tables' own boxes
        browser.screenshot().save(tmp_path / "dashboard-phone-vi.png")
        set_width(browser, PHONE[0], int(browser.js("return document.documentElement.scrollHeight")), mobile=True)
        browser.screenshot().save(tmp_path / "dashboard-phone-vi-full.png")  # the whole page, scrolled
    finally:
        set_width(browser, 1280, 720, mobile=False)
    print(f"offline shown {took:.2f} s after the stop signal; screenshots in {tmp_path}")


def test_without_a_login_nothing_is_served(make_unit, dashboard):
    unit = make_unit(audio=FAST_AUDIO, device={"location": [13.99, 107.95]})
    base = dashboard.base
    status, _, body = request(base + "/api/state")
    assert status == 401 and unit.device_id not in body
    status, _, body = request(base + "/", headers={"Accept-Language": "vi-VN,vi;q=0.9"})
    assert status == 401 and 'id="password"' in body and "Đăng nhập" in body and unit.device_id not in body
    assert request(base + "/api/state", headers={"Cookie": "loa_dash_session=guessed"})[0] == 401
    assert request(base + "/logout", {"csrf": "x"})[0] == 403
    assert request(base + "/login", {"password": "wrong"}, {"Accept-Language": "en"})[2].count("Wrong password.") == 1

    status, headers, _ = request(base + "/login", {"password": PASSWORD})
    cookie = headers["Set-Cookie"]
    assert status == 303 and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    session = {"Cookie": cookie.split(";")[0]}

    def sees_unit() -> bool:
        status, _, body = request(base + "/api/state", headers=session)
        return status == 200 and unit.device_id in body

    assert wait_until(sees_unit, 15)
    page = request(base + "/", headers=session)[2]
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    assert request(base + "/logout", {"csrf": csrf}, session)[0] == 303
    assert request(base + "/api/state", headers=session)[0] == 401


def test_failed_logins_are_braked(dashboard):
    answers = [request(dashboard.base + "/login", {"password": f"guess-{n}"})[0] for n in range(6)]
    assert answers[:4] == [401] * 4 and answers[-1] == 429
    # the right password from the locked address must wait too
    status, headers, _ = request(dashboard.base + "/login", {"password": PASSWORD})
    assert status == 429 and int(headers["Retry-After"]) > 0

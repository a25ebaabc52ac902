"""The emulated HTTTN's page in headless Chromium: the province's indicator "clusters connected / total", per
commune, the last pings and the bulletin logs, in Vietnamese; what clusters send is shown as text, never run."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.browser import Browser
from tests.tools.gateway.helpers import PASSWORD, PROFILES, USER, Htttn
from tools.gateway import profile as profiles


def test_the_page_shows_the_provinces_indicator_per_commune_and_the_logs(tmp_path: Path):
    htttn = Htttn(tmp_path, PROFILES["default"])
    htttn.start()
    profile = profiles.load(htttn.profile)
    status, reply = htttn.post(profile.http.login_path, {"Username": USER, "Password": PASSWORD})
    assert status == 200
    token = reply["NoiDung"]["Token"]
    hostile = "<img src=x onerror=document.title='pwned'>"
    for cluster, area in (("c1", "Xã Ia Grai"), ("c2", "Xã Ia Grai"), (hostile, "Xã Chư Păh")):
        assert htttn.post(profile.http.ping_path, {"CumLoaID": cluster, "DichID": area, "TenDich": area}, token)[0] == 200
    log = {"CumLoaID": "c1", "BanTinID": "BT-1", "TieuDe": "Thông báo tiêm phòng", "MucDoUuTien": 3}
    assert htttn.post(profile.http.bulletin_log_path, log, token)[0] == 200
    browser = Browser()
    try:
        browser.driver.get(htttn.url + "/")
        browser.wait(lambda: browser.text("connected") == "3", 10)
        assert browser.text("total") == "3"
        areas = browser.text("areas")
        assert "Xã Ia Grai2 / 2" in areas and "Xã Chư Păh1 / 1" in areas
        assert hostile in browser.text("clusters")  # shown as text
        assert "Thông báo tiêm phòng" in browser.text("logs")
        assert browser.js("return document.title") != "pwned"
        assert browser.js("return document.querySelectorAll('#clusters img').length") == 0
    finally:
        browser.close()
        htttn.stop()

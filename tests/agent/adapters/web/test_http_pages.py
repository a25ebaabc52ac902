"""The page server in-process over real sockets: the kiosk answers only under its token and only on 127.0.0.1,
serves only the image being shown; the status page needs a login, sets a strict session cookie, checks CSRF, brakes
failed logins, and turns a button into a LocalAction posted to the loop (never a direct call into the core)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.adapters.web import passwords
from agent.adapters.web.http_pages import PageServer, PageSettings
from agent.core.events import LocalAction

TOKEN = "a" * 32
PASSWORD = "abcd-efgh-jkmn-pqrs"
HASH = passwords.hash_password(PASSWORD, n=1 << 10)  # a cheap hash: these tests are about the server


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(url: str, form: dict[str, str] | None = None, cookie: str = "") -> tuple[int, dict[str, str], bytes]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {})
    try:
        with OPENER.open(request, timeout=5) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


@pytest.fixture
def server() -> Iterator[tuple[PageServer, list[Any]]]:
    posted: list[Any] = []
    settings = PageSettings(device_id="gl-0042", timezone="Asia/Ho_Chi_Minh", language="vi",
                            status_addr=("127.0.0.1", 0), password_hash=HASH, kiosk_port=0, kiosk_token=TOKEN)
    pages = PageServer(settings, posted.append)
    yield pages, posted
    pages.close()


def status_url(pages: PageServer, path: str) -> str:
    return f"http://127.0.0.1:{pages.status_port}{path}"


def login(pages: PageServer, password: str = PASSWORD, address: str = "") -> tuple[int, dict[str, str], bytes]:
    return call(status_url(pages, "/login"), {"password": password})


def test_the_kiosk_listens_on_loopback_only_and_only_under_its_token(server, tmp_path: Path) -> None:
    pages, _ = server
    assert pages.kiosk.server_address[0] == "127.0.0.1"
    base = pages.kiosk_url.split("/kiosk/")[0]
    for path in ("/", "/kiosk/" + "b" * 32 + "/", "/kiosk/" + TOKEN[:-1] + "/state", "/etc/passwd"):
        assert call(base + path)[0] == 404, path
    assert call(base + f"/kiosk/{TOKEN}")[0] == 303
    status, headers, body = call(pages.kiosk_url)
    assert status == 200 and b'src="kiosk.js"' in body and "script-src 'self'" in headers["Content-Security-Policy"]
    assert json.loads(call(pages.kiosk_url + "state")[2]) == {"dev": "gl-0042", "tz": "Asia/Ho_Chi_Minh",
                                                              "commune": "", "showing": None}


def test_the_kiosk_serves_only_the_verified_image_being_shown(server, tmp_path: Path) -> None:
    pages, _ = server
    (tmp_path / "img").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    (tmp_path / "page").write_bytes(b"<script>alert(1)</script>")
    shown = {"jti": "d1", "title": "", "priority": "normal", "mode": "page", "text": "",
             "image": {"sha256": "c" * 64, "file": str(tmp_path / "img")}}
    pages.publish({"board": {"version": 1, "showing": shown}})
    assert json.loads(call(pages.kiosk_url + "state")[2])["showing"]["image"] == "image/" + "c" * 64
    status, headers, _ = call(pages.kiosk_url + "image/" + "c" * 64)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert call(pages.kiosk_url + "image/" + "d" * 64)[0] == 404
    pages.publish({"board": {"version": 2, "showing": shown | {"image": {"sha256": "c" * 64,
                                                                          "file": str(tmp_path / "page")}}}})
    assert call(pages.kiosk_url + "image/" + "c" * 64)[0] == 415  # not an image: never served as one


def test_the_status_page_needs_a_login_with_the_right_password(server) -> None:
    pages, _ = server
    status, _, body = call(status_url(pages, "/"))
    assert status == 401 and 'type="password"' in body.decode()
    status, headers, body = login(pages, "wrong")
    assert status == 401 and "Set-Cookie" not in headers and "Sai mật khẩu." in body.decode()
    status, headers, _ = login(pages)
    assert status == 303 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, headers, body = call(status_url(pages, "/"), cookie=cookie.split(";")[0])
    assert status == 200 and "gl-0042" in body.decode() and headers["Cache-Control"] == "no-store"


def test_failed_logins_are_braked_even_for_the_right_password(server) -> None:
    pages, _ = server
    assert [login(pages, "guess")[0] for _ in range(5)] == [401, 401, 401, 401, 429]  # the 5th locks the address
    status, headers, _ = login(pages)
    assert status == 429 and int(headers["Retry-After"]) >= 59


def test_an_action_needs_the_session_and_its_csrf_token_and_is_posted_to_the_loop(server) -> None:
    pages, posted = server
    cookie = login(pages)[1]["Set-Cookie"].split(";")[0]
    page = call(status_url(pages, "/"), cookie=cookie)[2].decode()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    assert call(status_url(pages, "/action"), {"action": "test_tone", "zone": "0", "csrf": "x"}, cookie)[0] == 403
    assert call(status_url(pages, "/action"), {"action": "test_tone", "zone": "0", "csrf": csrf})[0] == 403
    assert call(status_url(pages, "/action"), {"action": "format", "zone": "0", "csrf": csrf}, cookie)[0] == 400
    assert not posted
    status, headers, _ = call(status_url(pages, "/action"), {"action": "relay_test", "zone": "2", "csrf": csrf}, cookie)
    assert status == 303 and headers["Location"] == "/?done=relay_test&zone=2"
    assert [make(7) for make in posted] == [LocalAction(7, "relay_test", 2)]


def test_a_status_page_on_a_taken_port_is_refused_and_leaves_nothing_open() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = PageSettings(device_id="d", timezone="UTC", language="en", kiosk_port=0, kiosk_token=TOKEN,
                                status_addr=("127.0.0.1", taken.getsockname()[1]), password_hash=HASH)
        with pytest.raises(OSError):
            PageServer(settings, lambda make: None)

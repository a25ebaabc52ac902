"""The page server against hostile and broken clients, over real sockets: a Content-Length that is not plainly
0..cap is refused at once, malformed requests and non-ASCII secrets get 400/403/404 (never a traceback), slow
clients are capped and cut off, and the login brake holds guessers back without locking the right password out."""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from agent.adapters.web import auth, passwords
from agent.adapters.web.http_pages import PageServer, PageSettings

TOKEN = "a" * 32
PASSWORD = "abcd-efgh-jkmn-pqrs"
HASH = passwords.hash_password(PASSWORD, n=1 << 10)
PER_ADDRESS = 8  # connections one client address may hold (agent.adapters.web.http_guard)


@pytest.fixture
def pages() -> Iterator[PageServer]:
    settings = PageSettings(device_id="gl-0042", timezone="Asia/Ho_Chi_Minh", language="vi",
                            status_addr=("127.0.0.1", 0), password_hash=HASH, kiosk_port=0, kiosk_token=TOKEN)
    server = PageServer(settings, lambda make: None)
    yield server
    server.close()


def raw(port: int, request: bytes, timeout: float = 3.0, source: str = "127.0.0.1") -> bytes:
    """Send bytes as they are and read the answer until the server closes (b"" if it never answers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading it all: its answer is still there to read
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return got


def status_line(answer: bytes) -> str:
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


def post(pages: PageServer, path: str, form: dict[str, str], cookie: str = "",
         source: str = "127.0.0.1") -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", pages.status_port, timeout=10, source_address=(source, 0))
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded", **({"Cookie": cookie} if cookie else {})}
        conn.request("POST", path, urllib.parse.urlencode(form), headers)
        answer = conn.getresponse()
        answer.read()
        return answer.status, dict(answer.getheaders())
    finally:
        conn.close()


@pytest.mark.parametrize("length", ["-1", "abc", "4097", "1e3", "+12", "12 34", "0x10", "٣", "99999999999999999999"])
def test_a_content_length_that_is_not_plainly_0_to_the_cap_is_refused_at_once(pages, capsys, length):
    started = time.monotonic()
    answer = raw(pages.status_port, f"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
    assert status_line(answer) == "HTTP/1.0 400 Bad Request", answer[:200]
    assert time.monotonic() - started < 2.0
    assert "Traceback" not in capsys.readouterr().err


def test_two_lengths_or_a_chunked_body_are_refused(pages):
    for extra in ("Content-Length: 5\r\nContent-Length: 6\r\n", "Transfer-Encoding: chunked\r\n"):
        request = f"POST /login HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()
        assert status_line(raw(pages.status_port, request)) == "HTTP/1.0 400 Bad Request", extra


def test_malformed_requests_and_non_ascii_secrets_get_an_answer_never_a_traceback(pages, capsys):
    kiosk = pages.kiosk.server_address[1]
    assert status_line(raw(kiosk, "GET /kiosk/é€🙂/state HTTP/1.0\r\n\r\n".encode())) == "HTTP/1.0 404 Not Found"
    assert status_line(raw(kiosk, f"GET /kiosk/{TOKEN}/image/é HTTP/1.0\r\n\r\n".encode())) == "HTTP/1.0 404 Not Found"
    assert status_line(raw(kiosk, b"GET /kiosk/\xff\xfe/ HTTP/1.0\r\n\r\n")) == "HTTP/1.0 404 Not Found"
    for garbage in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40) + b"\r\n\r\n", b"GET\r\n\r\n", b"GET / FTP/9\r\n\r\n",
                    b"GET / HTTP/1.0\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
                    b"GET / HTTP/1.0\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
                    b"GET / HTTP/1.0\r\nCookie: \xff\xfe=\x00;;;\r\n\r\n"):
        answer = raw(pages.status_port, garbage)  # (an answer to what reads as HTTP/0.9 has no status line)
        assert status_line(answer).startswith("HTTP/1.0 4") or b"Error code: 400" in answer, (garbage[:40], answer)
    status, headers = post(pages, "/login", {"password": PASSWORD})
    assert status == 303
    cookie = headers["Set-Cookie"].split(";")[0]
    assert post(pages, "/action", {"action": "test_tone", "zone": "0", "csrf": "é€🙂"}, cookie)[0] == 403
    assert post(pages, "/login", {"password": "mật khẩu 🙂"})[0] == 401
    body = "action=test_tone&zone=0&csrf=%FF%FE"
    request = (f"POST /action HTTP/1.0\r\nCookie: {cookie}\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()
    assert status_line(raw(pages.status_port, request)) == "HTTP/1.0 403 Forbidden"
    assert "Traceback" not in capsys.readouterr().err


def test_an_action_with_a_non_ascii_digit_zone_is_a_bad_request(pages, capsys):
    cookie = post(pages, "/login", {"password": PASSWORD})[1]["Set-Cookie"].split(";")[0]
    conn = http.client.HTTPConnection("127.0.0.1", pages.status_port, timeout=5)
    conn.request("GET", "/", headers={"Cookie": cookie})
    page = conn.getresponse().read().decode()
    conn.close()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    assert post(pages, "/action", {"action": "test_tone", "zone": "²", "csrf": csrf}, cookie)[0] == 400
    assert "Traceback" not in capsys.readouterr().err


def test_a_client_that_trickles_its_request_is_cut_off_at_the_deadline(pages):
    pages.status.request_s = 2.0
    with socket.create_connection(("127.0.0.1", pages.status_port), timeout=10) as s:
        started = time.monotonic()
        s.sendall(b"POST /login HTTP/1.0\r\n")
        closed_at = None
        for _ in range(12):  # one header byte a second: each read is well within any idle timeout
            time.sleep(1.0)
            try:
                s.sendall(b"X")
                s.settimeout(0.01)
                if s.recv(1024) == b"":
                    closed_at = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except OSError:
                closed_at = time.monotonic() - started
                break
            finally:
                s.settimeout(10)
    assert closed_at is not None and closed_at < 4.5, closed_at


def test_idle_connections_from_one_address_are_capped_and_others_are_still_served(pages):
    threads_before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", pages.status_port), source_address=("127.0.0.2", 0))
            for _ in range(40)]
    try:
        for s in idle:
            s.sendall(b"GET / HTTP/1.0\r\n")  # and never the rest
        time.sleep(0.5)
        assert threading.active_count() - threads_before <= PER_ADDRESS
        assert pages.status.open_connections() == pages.status.per_address == PER_ADDRESS
        busy = raw(pages.status_port, b"GET /login HTTP/1.0\r\n\r\n", source="127.0.0.2")
        assert status_line(busy) == "HTTP/1.0 503 Service Unavailable"
        started = time.monotonic()
        answer = raw(pages.status_port, b"GET /login HTTP/1.0\r\n\r\n")
        assert status_line(answer) == "HTTP/1.0 200 OK" and time.monotonic() - started < 1.0
    finally:
        for s in idle:
            s.close()


def test_failures_from_other_addresses_never_lock_the_right_password_out_of_a_new_one(pages):
    for i in range(20):  # 20 wrong tries from 5 other addresses, within a minute
        assert post(pages, "/login", {"password": "guess"}, source=f"127.0.0.{2 + i % 5}")[0] in (401, 429)
    status, headers = post(pages, "/login", {"password": PASSWORD}, source="127.0.0.9")
    assert status == 303 and "loa_session=" in headers["Set-Cookie"]
    assert post(pages, "/login", {"password": PASSWORD}, source="127.0.0.2")[0] == 429  # a guesser stays braked


def test_parallel_guesses_from_one_address_reach_the_hash_at_most_five_times(pages, monkeypatch):
    hashed: list[str] = []
    verify = passwords.verify

    def slow_verify(password: str, stored: str) -> bool:  # the real hash, as slow as on a Raspberry Pi
        hashed.append(password)
        time.sleep(0.2)
        return verify(password, stored)

    monkeypatch.setattr(passwords, "verify", slow_verify)  # the module auth calls into
    codes: list[Any] = []

    def guess() -> None:
        try:
            codes.append(post(pages, "/login", {"password": "guess"})[0])
        except ConnectionError:  # refused past the connection cap before the request was even sent
            codes.append(503)

    guesses = [threading.Thread(target=guess) for _ in range(12)]
    for t in guesses:
        t.start()
    for t in guesses:
        t.join(30)
    assert len(codes) == 12 and set(codes) <= {401, 429, 503}  # 503: past the per-address connection cap
    assert len(hashed) <= auth.PER_ADDRESS, len(hashed)

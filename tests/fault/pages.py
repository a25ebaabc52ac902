"""Hostile clients of a unit's status page, over raw sockets from several loopback addresses (the page caps
connections per address too): malformed and oversized requests, slow-loris clients, and floods of parallel
connections. Each outcome is a status code or `closed`; a malformed request must be refused or cut, never answered
as if it were good, never with a 500, and never left hanging.

Imports only the standard library.
"""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from collections import Counter

REFUSALS = frozenset({400, 403, 404, 408, 411, 413, 414, 431, 501, 503, 505})
ANSWER_S = 15.0  # the page's whole-request deadline is 10 s
SLOW_S = 12.0  # a slow client keeps sending for longer than that deadline
_ERROR_PAGE = re.compile(rb"<p>Error code: (\d{3})</p>")
SLOW_ADDRESS, FLOOD_ADDRESS, BAD_ADDRESS = "127.0.0.2", "127.0.0.3", "127.0.0.4"


def _post(length: str, body: bytes = b"", path: str = "/login", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: unit\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {length}\r\n{extra}\r\n").encode() + body


# name -> (request, streamed body bytes after it, must it be refused)
MALFORMED: dict[str, tuple[bytes, int, bool]] = {
    "negative_length": (_post("-1"), 1 << 20, True),
    "huge_length": (_post(str(32 << 20)), 1 << 20, True),
    "text_length": (_post("abc", b"user=a"), 0, True),
    "float_length": (_post("1e3", b"user=a"), 0, True),
    "hex_length": (_post("0x10", b"user=a"), 0, True),
    "two_lengths": (_post("5", b"a=b&c", extra="Content-Length: 900\r\n"), 0, True),
    "spaced_length": (_post("1 0", b"a=b&c=d12"), 0, True),
    "unicode_digits": ("POST /login HTTP/1.1\r\nContent-Length: \u0661\u0662\r\n\r\nabcdefghijkl".encode(), 0, True),
    "no_colon_header": (b"GET /login HTTP/1.1\r\nthis line is no header\r\n\r\n", 0, False),
    "binary_header": (b"GET /login HTTP/1.1\r\nX-Junk: \xff\xfe\x00\x01\r\n\r\n", 0, False),
    "non_ascii_cookie": ("GET / HTTP/1.1\r\nCookie: session=đường; lang=vi\r\n\r\n".encode(), 0, False),
    "non_ascii_csrf": ("POST /action HTTP/1.1\r\nCookie: session=đường\r\nContent-Length: 14\r\n\r\n"
                       "csrf=đường".encode(), 0, True),
    "non_ascii_login": (_post("31", b"user=admin&password=%C4%91%C6%B0"), 0, False),
    "non_ascii_path": ("GET /kiosk/đường/status HTTP/1.1\r\n\r\n".encode(), 0, True),
    "long_header": (b"GET /login HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", 0, True),
    "many_headers": (b"GET /login HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n", 0, True),
    "long_path": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 0, True),
    "bad_version": (b"GET /login HTTP/9.9\r\n\r\n", 0, True),
    "bad_method": (b"BREW /login HTTP/1.1\r\n\r\n", 0, True),
    "garbage": (bytes(range(256)) * 4, 0, True),
    "half_line": (b"GET /log", 0, True),
}


def _connect(port: int, source: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(ANSWER_S)
    sock.connect(("127.0.0.1", port))
    return sock


def _status(sock: socket.socket) -> str:
    """The answer's status code, `closed` (cut without an answer), or `hung` (nothing within ANSWER_S). A request
    line the standard library cannot parse gets its error page without a status line (HTTP/0.9 style): the code is
    then read from the page."""
    try:
        head = sock.recv(64)
        if head and not head.startswith(b"HTTP/"):
            head += _rest(sock, 4096)
    except TimeoutError:
        return "hung"
    except ConnectionError:
        return "closed"
    if not head:
        return "closed"
    if not head.startswith(b"HTTP/"):
        match = _ERROR_PAGE.search(head)
        return match.group(1).decode() if match else f"junk {head[:20]!r}"
    parts = head.split(b" ", 2)
    return parts[1].decode("latin-1") if len(parts) > 1 else f"junk {head[:20]!r}"


def _rest(sock: socket.socket, limit: int) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = sock.recv(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data


def request(port: int, raw: bytes, body_bytes: int = 0, source: str = BAD_ADDRESS) -> str:
    try:
        sock = _connect(port, source)
    except OSError as exc:
        return f"connect failed: {exc}"
    with sock:
        try:
            sock.sendall(raw)
            for _ in range(body_bytes // 65536):  # a body the page must not read: it answers (or cuts) first
                sock.sendall(b"x" * 65536)
        except OSError:
            pass  # the page stopped reading: what it said (if anything) is still there
        return _status(sock)


def good_request(port: int, timeout_s: float) -> str | int:
    """GET /login from the technician's own address, retried while the page says busy (503)."""
    deadline, last = time.monotonic() + timeout_s, "none"
    while time.monotonic() < deadline:
        last = request(port, b"GET /login HTTP/1.1\r\nHost: unit\r\n\r\n", source="127.0.0.1")
        if last == "200":
            return 200
        time.sleep(0.5)
    return last


def _slow(port: int, seconds: float) -> str:
    """A slow-loris client: a header byte every half second, for longer than the page's request deadline."""
    try:
        sock = _connect(port, SLOW_ADDRESS)
    except OSError:
        return "closed"
    with sock:
        try:
            sock.sendall(b"POST /login HTTP/1.1\r\nHost: unit\r\nX-Slow: ")
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                sock.sendall(b"a")
                time.sleep(0.5)
        except OSError:
            return "closed"
        return _status(sock)


def attack(port: int, rng: random.Random, seconds: float, outcomes: Counter[str], problems: list[str]) -> None:
    """Slow clients and a flood in threads, malformed requests from this one, all for about `seconds` (the slow
    clients for longer than the page's own deadline). Fills `outcomes` (kind -> count) and `problems`."""
    lock = threading.Lock()

    def note(kind: str, outcome: str, refused: bool) -> None:
        with lock:
            outcomes[kind] += 1
            outcomes[f"answer_{outcome if outcome.isdigit() or outcome == 'closed' else 'other'}"] += 1
            if wrong(outcome, refused):
                problems.append(f"page request {kind} got {outcome}")

    def slow() -> None:
        outcome = _slow(port, SLOW_S)
        note("slow", outcome, True)

    def flood() -> None:
        note("flood", request(port, b"GET /login HTTP/1.1\r\n\r\n", source=FLOOD_ADDRESS), False)

    threads = [threading.Thread(target=slow, daemon=True) for _ in range(rng.randrange(4, 12))]
    threads += [threading.Thread(target=flood, daemon=True) for _ in range(rng.randrange(20, 60))]
    for t in threads:
        t.start()
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        name = rng.choice(sorted(MALFORMED))
        raw, body, refused = MALFORMED[name]
        note(name, request(port, raw, body), refused)
    for t in threads:
        t.join(40)


def wrong(outcome: str, refused: bool) -> bool:
    """A page fault: no answer in time, not HTTP, a server error other than busy or the standard library's own
    refusals, or (for a malformed request) anything but a refusal or a cut connection."""
    if outcome == "hung" or outcome.startswith(("junk", "connect failed")):
        return True
    if outcome.startswith("5") and outcome not in ("501", "503", "505"):
        return True
    return refused and outcome != "closed" and not (outcome.isdigit() and int(outcome) in REFUSALS)

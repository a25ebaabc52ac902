"""The status page of a real agent process under 1,000 malformed requests: every one is answered (4xx) or cut off at
once, the agent keeps serving the page, and its memory stays flat (a `Content-Length: -1` with 32 MiB behind it
once made it read the whole body)."""

from __future__ import annotations

import socket
from pathlib import Path

from agent.adapters.web import passwords
from province.localnet import free_port
from tests.conftest import wait_until
from tools.provision import STATUS_HASH

MALFORMED = [
    b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
    b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    "POST /action HTTP/1.0\r\nContent-Length: 38\r\n\r\naction=test_tone&zone=0&csrf=é€🙂xx".encode(),
    b"GET / HTTP/1.0\r\nCookie: \xff\xfe=\x00;;;\r\n\r\n",
    b"GET / HTTP/1.0\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
    b"GET\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def exchange(port: int, request: bytes, body_after: int = 0) -> bytes:
    """Send a request, read the answer, then (if asked) push `body_after` more bytes as a client that ignores it."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before reading it all (a header line over the limit)
        try:
            answer = s.recv(65536)
        except TimeoutError:
            return b""  # no answer within 3 s
        except ConnectionResetError:
            return b"reset"
        try:
            chunk = bytes(1 << 20)
            for _ in range(body_after >> 20):
                s.sendall(chunk)
        except OSError:
            pass  # the server closed: exactly what it should do
        return answer


def serving(port: int) -> bool:
    try:
        return exchange(port, b"GET /login HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200")
    except OSError:
        return False


def test_a_thousand_malformed_requests_leave_the_agent_serving_and_its_memory_flat(make_unit):
    port = free_port()
    unit = make_unit(start=False, web={"status_port": port})
    (unit.dir / STATUS_HASH).write_text(passwords.hash_password("k7m2-xq9p-4hdt-r8wa") + "\n")
    unit.start()
    assert unit.proc is not None
    assert wait_until(lambda: serving(port), 20), unit.output()
    for request in MALFORMED * 20:  # warm up: first-use allocations (thread stacks, malloc arenas) are not growth
        exchange(port, request)
    before = rss_kib(unit.proc.pid)
    answers = [exchange(port, MALFORMED[i % len(MALFORMED)], (32 << 20) if i == 0 else 0) for i in range(1000)]
    after = rss_kib(unit.proc.pid)
    print(f"agent RSS before {before} KiB, after 1,000 malformed requests {after} KiB ({after - before:+d} KiB)")
    assert answers[0].startswith(b"HTTP/1.0 400 "), answers[0][:100]  # Content-Length: -1, at once
    assert all(a.startswith(b"HTTP/1.0 4") or b"Error code: 400" in a for a in answers), [
        a[:60] for a in answers if not a.startswith(b"HTTP/1.0 4")][:5]
    assert unit.proc.poll() is None
    assert serving(port)
    assert after - before < 4096, (before, after)
    assert "Traceback" not in unit.output()

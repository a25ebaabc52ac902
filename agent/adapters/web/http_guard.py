"""Limits that keep hostile or broken HTTP clients from starving the unit through its pages: a cap on connections
(in all and per client address, refused with a 503 without a thread), one deadline for reading a whole request
(a client that trickles bytes is cut off), a strict Content-Length, and comparisons of secrets that accept any
text. The pages run in the process that drives the relays, so every request must cost little and end soon.
Imports only the standard library; must not import the core, the runtime or other adapters.
"""

from __future__ import annotations

import hmac
import io
import logging
import socket
import sys
import threading
import time
from email.message import Message
from http.server import ThreadingHTTPServer
from typing import Any

log = logging.getLogger("loa.web")

MAX_CONNECTIONS = 32  # threads serving pages at once, per listener
PER_ADDRESS = 8  # of which one client address may hold
REQUEST_S = 10.0  # to send a whole request (line, headers, body)
BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 5\r\nConnection: close\r\n\r\nbusy\n")


class GuardedServer(ThreadingHTTPServer):
    """A thread per connection, but only so many: past the caps a connection gets a 503 from the accepting thread
    (one non-blocking send) and is closed."""

    daemon_threads = True
    max_connections, per_address, request_s = MAX_CONNECTIONS, PER_ADDRESS, REQUEST_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open: dict[str, int] = {}
        self._count_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        address = str(client_address[0])
        if not self._take(address):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._give(address)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._give(str(client_address[0]))

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line, never a traceback: a request we could not serve says nothing about the unit's health."""
        exc = sys.exc_info()[1]
        log.warning("page request from %s ended: %s: %s", client_address[0], type(exc).__name__, exc)

    def _take(self, address: str) -> bool:
        with self._count_lock:
            if sum(self._open.values()) >= self.max_connections or self._open.get(address, 0) >= self.per_address:
                return False
            self._open[address] = self._open.get(address, 0) + 1
            return True

    def _give(self, address: str) -> None:
        with self._count_lock:
            left = self._open.get(address, 1) - 1
            if left > 0:
                self._open[address] = left
            else:
                self._open.pop(address, None)

    def open_connections(self) -> int:
        with self._count_lock:
            return sum(self._open.values())


def _refuse_busy(request: socket.socket) -> None:
    try:
        request.setblocking(False)
        request.send(BUSY)
    except OSError:
        pass


class DeadlineReader(io.RawIOBase):
    """The socket's bytes, until a deadline for the whole request: each read waits only for the time left."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took too long to arrive")
        self.sock.settimeout(left)
        return self.sock.recv_into(buffer)


def reader(sock: socket.socket, seconds: float) -> io.BufferedReader:
    return io.BufferedReader(DeadlineReader(sock, time.monotonic() + seconds))


def body_length(headers: Message, cap: int) -> int | None:
    """The body's length when the headers state one plainly (digits, 0..cap, one value, no Transfer-Encoding);
    None for anything else, which the caller refuses before reading a byte."""
    values = headers.get_all("Content-Length") or ["0"]
    raw = {v.strip() for v in values}
    if len(raw) != 1 or headers.get("Transfer-Encoding") is not None:
        return None
    text = raw.pop()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        return None
    length = int(text)
    return length if length <= cap else None


def same(given: str, secret: str) -> bool:
    """Constant-time equality for any text a client sends (compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass"))

"""A non-blocking TCP probe on the loop: does the broker's address accept a connection, within a time limit?

The MQTT link probes before it lets paho connect (paho's connect blocks), so an unreachable broker never holds up
the loop's timers. Must not import paho or the core.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable

from agent.runtime.loop import Loop, TimerHandle

Outcome = Callable[[str], None]  # "" when the address accepted the connection, else why not


class TcpProbe:
    """One attempt: a socket in non-blocking connect, watched by the loop until it turns writable or time is up.
    The outcome is reported once, on the loop; the socket is always closed (paho opens its own)."""

    def __init__(self, loop: Loop, address: tuple[str, int], timeout_s: float, outcome: Outcome) -> None:
        self.loop, self.outcome = loop, outcome
        self.sock: socket.socket | None = None
        self.timer: TimerHandle | None = None
        try:
            self.sock = _start(address)
        except OSError as exc:  # no such name, no route: reported on the loop, never inside connect()
            reason = _reason(exc)
            loop.post(lambda: outcome(reason))
            return
        loop.add_writer(self.sock, self._writable)
        self.timer = loop.call_later(timeout_s, lambda: self._finish(f"TimeoutError: no answer from "
                                                                     f"{address[0]}:{address[1]} in {timeout_s:g} s"))

    def _writable(self) -> None:
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if self.sock else 0
        self._finish("" if code == 0 else _reason(OSError(code, os.strerror(code))))

    def _finish(self, reason: str) -> None:
        if self.cancel():
            self.outcome(reason)

    def cancel(self) -> bool:
        """Stop watching and close the socket; False if the probe had already ended."""
        sock, self.sock = self.sock, None
        if self.timer is not None:
            self.timer.cancel()
        if sock is None:
            return False
        self.loop.forget(sock.fileno())
        sock.close()
        return True


def _start(address: tuple[str, int]) -> socket.socket:
    """The address's first IPv4/IPv6 entry, connecting. A name lookup is the one step that can still block (the
    standard library has no non-blocking resolver); an IP address in the URL needs none."""
    family, kind, proto, _name, target = socket.getaddrinfo(*address, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        code = sock.connect_ex(target)
        if code not in (0, errno.EINPROGRESS):
            raise OSError(code, os.strerror(code))
    except OSError:
        sock.close()
        raise
    return sock


def _reason(exc: OSError) -> str:
    return f"{exc.__class__.__name__}: {exc}"

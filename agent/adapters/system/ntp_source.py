"""The agent's own SNTP queries (RFC 4330, unprivileged: an ordinary UDP socket) to `[time] ntp_servers`, on a
thread of their own, reported to the agent's clock as the `ntp` source.

The agent never sets the system clock; a reading is the server's time at the moment its answer arrived, with an
error bound of half the round trip plus the server's own distance to its reference (root delay / 2 + root
dispersion). DNS lookups and timeouts only ever block this thread. A server that says it is unsynchronised (leap
indicator 3, stratum 0 or 16+) gives no reading. Its one library is ntplib; must not import the core.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import ntplib

from agent.errors import TimeSourceError

NTP = "ntp"
CLOSE_WAIT_S = 0.5
log = logging.getLogger("loa.agent")


class TimeObserver(Protocol):
    """The part of agent.ports.Clock a time source talks to."""

    def observe(self, source: str, true_ms: int, error_ms: int = 1000) -> None: ...
    def synced(self) -> bool: ...


@dataclass(frozen=True)
class NtpReading:
    true_ms: int  # the server's time when its answer arrived (ms since the epoch)
    error_ms: int


def split_server(name: str) -> tuple[str, int]:
    """"host", "host:port", "[v6]:port" or a bare IPv6 address -> (host, port); port 123 unless given."""
    if name.startswith("["):
        host, _, rest = name[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 123
    if name.count(":") == 1:
        host, port = name.split(":")
        return host, int(port)
    return name, 123


def query(server: str, timeout_s: float) -> NtpReading:
    """One SNTP exchange; TimeSourceError (with the library's or the socket's message) when it gives no time."""
    host, port = split_server(server)
    try:
        answer = ntplib.NTPClient().request(host, version=4, port=port, timeout=timeout_s)
    except (ntplib.NTPException, OSError, ValueError) as exc:
        raise TimeSourceError(f"ntp {server}: {exc}") from None
    if int(answer.leap) == 3 or not 0 < int(answer.stratum) < 16:
        raise TimeSourceError(f"ntp {server}: not synchronised (leap {answer.leap}, stratum {answer.stratum})")
    offset_s, delay_s = float(answer.offset), max(0.0, float(answer.delay))
    error_s = delay_s / 2 + float(answer.root_delay) / 2 + float(answer.root_dispersion)
    return NtpReading(time.time_ns() // 1_000_000 + round(offset_s * 1000), max(1, round(error_s * 1000)))


class NtpPoller:
    """Asks the servers in turn until one answers, every `poll_s` while the agent's time is trusted and every
    `untrusted_poll_s` while it is not. close() does not wait for a query in flight (a DNS lookup may hang): the
    thread is a daemon and tells nothing more once stopped."""

    def __init__(self, servers: tuple[str, ...], clock: TimeObserver, *, poll_s: float, untrusted_poll_s: float,
                 timeout_s: float, ask: Callable[[str, float], NtpReading] = query) -> None:
        self.servers, self.clock, self._ask = servers, clock, ask
        self.poll_s, self.untrusted_poll_s, self.timeout_s = poll_s, untrusted_poll_s, timeout_s
        self._stop = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="ntp", daemon=True)

    def start(self) -> NtpPoller:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(CLOSE_WAIT_S)

    def poll_once(self) -> bool:
        """One round over the servers; True when one of them gave a reading."""
        problems = []
        for server in self.servers:
            if self._stop.is_set():
                return False
            try:
                reading = self._ask(server, self.timeout_s)
            except TimeSourceError as exc:
                problems.append(str(exc))
                continue
            if self._stop.is_set():
                return False
            self.clock.observe(NTP, reading.true_ms, reading.error_ms)
            self._failing = False
            return True
        if not self._failing:  # said once until a server answers again: an unreachable pool is no news every 15 s
            log.warning("no NTP server answered: %s", "; ".join(problems))
            self._failing = True
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.poll_s if self.clock.synced() else self.untrusted_poll_s)

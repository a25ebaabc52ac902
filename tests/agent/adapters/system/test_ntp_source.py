"""The agent's own SNTP queries against a real chronyd: a reading is the server's time with an honest error bound,
an absent or unsynchronised server gives none, and the poller hands readings to the clock from its own thread,
faster while the time is not trusted."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.adapters.system.ntp_source import NtpPoller, NtpReading, query, split_server
from agent.errors import TimeSourceError
from tests.chrony import Chronyd, free_udp_port


class Recorder:
    def __init__(self, synced: bool = False) -> None:
        self.readings: list[tuple[str, int, int]] = []
        self.trusted = synced
        self.got = threading.Event()

    def observe(self, source: str, true_ms: int, error_ms: int = 1000) -> None:
        self.readings.append((source, true_ms, error_ms))
        self.got.set()

    def synced(self) -> bool:
        return self.trusted


@pytest.fixture
def chronyd(tmp_path: Path) -> Iterator[Chronyd]:
    with Chronyd(tmp_path / "chrony") as server:
        yield server


def test_server_names() -> None:
    assert split_server("0.vn.pool.ntp.org") == ("0.vn.pool.ntp.org", 123)
    assert split_server("127.0.0.1:1234") == ("127.0.0.1", 1234)
    assert split_server("[::1]:1234") == ("::1", 1234) and split_server("[::1]") == ("::1", 123)
    assert split_server("2001:db8::1") == ("2001:db8::1", 123)


def test_a_reading_from_a_real_chronyd_is_the_true_time_within_its_error(chronyd: Chronyd) -> None:
    reading = query(chronyd.server, 2.0)
    assert abs(reading.true_ms - time.time() * 1000) < 200
    assert 1 <= reading.error_ms < 200


def test_no_server_there_is_no_reading_and_it_never_waits_past_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(TimeSourceError, match=r"ntp 127\.0\.0\.1:\d+: "):
        query(f"127.0.0.1:{free_udp_port()}", 0.5)
    assert time.monotonic() - started < 2


def test_a_name_that_does_not_resolve_is_no_reading() -> None:
    """How long a failing DNS lookup takes is the resolver's business: it only ever holds the NTP thread."""
    with pytest.raises(TimeSourceError, match="ntp no-such-host.invalid"):
        query("no-such-host.invalid", 0.5)


def test_a_server_that_says_it_is_unsynchronised_gives_no_reading() -> None:
    """A server answering with leap indicator 3 (alarm) and stratum 0: what an unsynchronised server sends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3)

    def answer() -> None:
        data, peer = sock.recvfrom(512)
        reply = bytearray(48)
        reply[0] = (3 << 6) | (4 << 3) | 4  # LI 3, version 4, mode 4 (server)
        reply[24:32] = data[40:48]  # originate = the client's transmit
        sock.sendto(bytes(reply), peer)

    threading.Thread(target=answer, daemon=True).start()
    try:
        with pytest.raises(TimeSourceError, match="not synchronised"):
            query(f"127.0.0.1:{sock.getsockname()[1]}", 2.0)
    finally:
        sock.close()


def test_the_poller_reports_ntp_readings_to_the_clock_from_its_own_thread(chronyd: Chronyd) -> None:
    clock = Recorder()
    dead = f"127.0.0.1:{free_udp_port()}"  # the first server does not answer: the next one is asked
    poller = NtpPoller((dead, chronyd.server), clock, poll_s=300, untrusted_poll_s=2, timeout_s=0.3).start()
    try:
        assert clock.got.wait(5)
        source, true_ms, error_ms = clock.readings[0]
        assert source == "ntp" and abs(true_ms - time.time() * 1000) < 500 and error_ms < 200
    finally:
        poller.close()


def test_the_poller_asks_faster_while_the_time_is_untrusted() -> None:
    asked: list[float] = []

    def ask(server: str, timeout_s: float) -> NtpReading:
        asked.append(time.monotonic())
        raise TimeSourceError("ntp x: timed out")

    untrusted = NtpPoller(("x",), Recorder(synced=False), poll_s=60, untrusted_poll_s=0.2, timeout_s=0.1, ask=ask)
    untrusted.start()
    time.sleep(1.1)
    untrusted.close()
    count_untrusted, asked[:] = len(asked), []
    trusted = NtpPoller(("x",), Recorder(synced=True), poll_s=60, untrusted_poll_s=0.2, timeout_s=0.1, ask=ask)
    trusted.start()
    time.sleep(1.1)
    trusted.close()
    assert count_untrusted >= 3 and len(asked) == 1

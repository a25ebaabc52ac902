"""The real agent process under systemd's notify protocol, with the test standing in for systemd: a datagram socket
as NOTIFY_SOCKET and a 2 s WATCHDOG_USEC. READY=1 comes before any broker is reachable (a unit plays its schedule
offline), STATUS= follows the link, WATCHDOG=1 comes from the loop (so it stops while the process is stopped and
resumes after), and STOPPING=1 comes on SIGTERM."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from province import broker as broker_tool
from province.localnet import free_port
from tests.conftest import REPO, Broker
from tools.provision import UnitSpec, dev_clock, provision

WATCHDOG_USEC = 2_000_000  # pings every 1 s (half of it)
START_S = 30.0  # a loaded 2-core machine: imports, libVLC, the store


class Systemd:
    """The notify socket, and every datagram the agent sent to it with its arrival time."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.path = path
        self.got: list[tuple[float, str]] = []

    def read(self, seconds: float, until: str = "") -> list[tuple[float, str]]:
        """Datagrams for `seconds` (or until one contains `until`); they are also kept in self.got."""
        new: list[tuple[float, str]] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096).decode()
            except TimeoutError:
                break
            new.append((time.monotonic(), data))
            if until and until in data:
                break
        self.got += new
        return new

    def close(self) -> None:
        self.sock.close()


def pings(got: list[tuple[float, str]]) -> list[float]:
    return [t for t, text in got if "WATCHDOG=1" in text.splitlines()]


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[Systemd]:
    s = Systemd(tmp_path / "notify")
    yield s
    s.close()


@pytest.fixture
def late_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker with the unit's credentials that is not running yet."""
    b = Broker(tmp_path / "broker", free_port())
    broker_tool.init(b.dir, b.port)
    yield b
    b.stop()


def start_agent(tmp_path: Path, keys: Path, broker: Broker, notify: Path) -> subprocess.Popen[bytes]:
    config = provision(UnitSpec(device_id="sd1", trust=keys / "trust.jwks", broker_url=broker.url,
                                out=tmp_path / "sd1", broker_dir=broker.dir,
                                extra=dev_clock({"mqtt": {"reconnect_min_s": 0.2, "reconnect_max_s": 2.0}})))
    env = dict(os.environ, NOTIFY_SOCKET=str(notify), WATCHDOG_USEC=str(WATCHDOG_USEC))
    env.pop("WATCHDOG_PID", None)
    log = (tmp_path / "agent.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "agent", "--config", str(config)], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)


def test_ready_before_the_broker_status_watchdog_from_the_loop_and_stopping(
        tmp_path: Path, keys: Path, systemd: Systemd, late_broker: Broker) -> None:
    agent = start_agent(tmp_path, keys, late_broker, systemd.path)

    def output() -> str:
        return (tmp_path / "agent.log").read_text(errors="replace")[-3000:]

    try:
        first = systemd.read(START_S, until="READY=1")
        assert first and "READY=1" in first[-1][1].splitlines(), (first, output())
        assert "STATUS=offline" in first[-1][1].splitlines(), first  # no broker yet: ready anyway
        assert agent.poll() is None
        offline = systemd.read(10, until="STATUS=offline: ")
        assert any("STATUS=offline: " in text for _, text in offline), (offline, output())

        late_broker.start()  # the broker comes up after the unit: the status line follows the link
        online = systemd.read(20, until="STATUS=online")
        assert any("STATUS=online" in text.splitlines() for _, text in online), (online, output())

        beats = pings(systemd.read(4.5))
        assert len(beats) >= 3, systemd.got
        assert max(b - a for a, b in itertools.pairwise(beats)) < 1.8, beats  # every 1 s: half of WATCHDOG_USEC

        agent.send_signal(signal.SIGSTOP)  # a stuck loop
        systemd.read(0.3)  # a ping already on its way
        frozen = systemd.read(3.5)
        assert pings(frozen) == [], frozen
        agent.send_signal(signal.SIGCONT)
        resumed = pings(systemd.read(3.0))
        assert len(resumed) >= 2, systemd.got

        agent.send_signal(signal.SIGTERM)
        last = systemd.read(15, until="STOPPING=1")
        assert any("STOPPING=1" in text.splitlines() for _, text in last), (last, output())
        assert agent.wait(20) == 0, output()
    finally:
        if agent.poll() is None:
            agent.send_signal(signal.SIGCONT)
            agent.kill()
            agent.wait(10)

"""End to end: the agent's codec over a real pySerial `socket://` port talks to the real firmware logic
running in firmware.host; when the host stops heart-beating or is killed, the relays go off within 3 s.
CPython only.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import serial

from agent.adapters.relays import coproc_frames as cf
from firmware.host import HostBoard, HostServer

REPLY_TIMEOUT_S = 2.0


class Host:
    """What the agent's serial adapter will do: one request at a time, wait for its reply."""

    def __init__(self, url: str, first_seq: int = 0) -> None:
        self.port = serial.serial_for_url(url, timeout=0.02)
        self.reader = cf.FrameReader()
        self.seq = first_seq

    def call(self, cmd: cf.Command, payload: bytes = b"") -> cf.Reply:
        self.seq = cf.next_seq(self.seq)
        sent = cf.request(cmd, self.seq, payload)
        self.port.write(cf.encode_frame(sent))
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while time.monotonic() < deadline:
            for frame in self.reader.feed(self.port.read(64)):
                if cf.is_reply_to(frame, sent):
                    return cf.parse_reply(frame)
        raise TimeoutError(f"no reply to {sent}")

    def close(self) -> None:
        self.port.close()


@pytest.fixture
def server() -> Iterator[HostServer]:
    srv = HostServer(0, HostBoard(relay_count=4, sensor_count=2, heartbeat_timeout_ms=2000)).start()
    yield srv
    srv.stop()


def relays_off_after(server: HostServer, since: float, limit_s: float = 5.0) -> float:
    """Seconds from `since` until every relay pin reads off."""
    while time.monotonic() - since < limit_s:
        if server.board.node.relays.readback() == 0:
            return time.monotonic() - since
        time.sleep(0.01)
    return float("inf")


def switched_on(server: HostServer, mask: int) -> tuple[Host, float]:
    host = Host(server.url)
    assert host.call(cf.Command.HEARTBEAT) == cf.HeartbeatAck(2000)
    last_beat = time.monotonic()
    assert host.call(cf.Command.SET_RELAYS, bytes((mask,))) == cf.RelayState(mask, mask)
    return host, last_beat


def test_relays_are_set_and_read_back_over_the_socket(server: HostServer) -> None:
    host, _ = switched_on(server, 0b0101)
    assert host.call(cf.Command.GET_RELAYS) == cf.RelayState(0b0101, 0b0101)
    assert [pin.value() for pin in server.board.pins] == [1, 0, 1, 0]
    assert host.call(cf.Command.GET_VERSION) == cf.Version(1, (1, 0, 0), 4, 2)
    host.close()


def test_killed_agent_relays_off_within_3_s(server: HostServer) -> None:
    host, last_beat = switched_on(server, 0b1111)
    host.close()  # the agent process dies: its end of the serial link goes quiet
    elapsed = relays_off_after(server, last_beat)
    assert 1.5 <= elapsed <= 3.0, elapsed  # the heartbeat timeout (2 s) cut them, nothing sooner


def test_silent_agent_relays_off_within_3_s(server: HostServer) -> None:
    host, last_beat = switched_on(server, 0b0011)
    for _ in range(3):  # beats keep them on ...
        time.sleep(0.5)
        host.call(cf.Command.HEARTBEAT)
        last_beat = time.monotonic()
    assert server.board.node.relays.readback() == 0b0011
    elapsed = relays_off_after(server, last_beat)  # ... then the agent hangs with the port open
    assert 1.5 <= elapsed <= 3.0, elapsed  # the heartbeat timeout (2 s) cut them, nothing sooner
    stats = host.call(cf.Command.GET_STATS)
    assert isinstance(stats, cf.Stats) and stats.as_dict()["heartbeat_trips"] == 1
    host.close()


def test_a_restarted_agent_takes_over_with_its_own_numbering(server: HostServer) -> None:
    first, _ = switched_on(server, 0b0001)
    first.close()
    assert relays_off_after(server, time.monotonic()) <= 3.0
    second = Host(server.url, first_seq=200)
    assert second.call(cf.Command.HEARTBEAT) == cf.HeartbeatAck(2000)
    assert second.call(cf.Command.SET_RELAYS, b"\x01") == cf.RelayState(1, 1)
    second.close()


def test_proof_of_play_level_follows_the_relay(server: HostServer) -> None:
    host, _ = switched_on(server, 0b0001)
    deadline = time.monotonic() + 2.0
    levels = host.call(cf.Command.READ_SENSORS)
    while levels != cf.SensorLevels((-1204, cf.FLOOR_CDBFS)) and time.monotonic() < deadline:
        time.sleep(0.1)  # a level covers a window of 64 loop passes (~0.3 s); the first may predate the relay
        levels = host.call(cf.Command.READ_SENSORS)
    assert levels == cf.SensorLevels((-1204, cf.FLOOR_CDBFS))  # tone on amplifier 0, silence on amplifier 1
    host.close()


def test_host_cli_serves_until_interrupted() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "firmware.host", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]  # "firmware host: socket://127.0.0.1:<free port>"
        host = Host(url)
        assert host.call(cf.Command.GET_VERSION) == cf.Version(1, (1, 0, 0), 4, 2)
        host.close()
    finally:
        proc.terminate()
        proc.wait(5)

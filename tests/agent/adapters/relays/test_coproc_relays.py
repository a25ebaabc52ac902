"""The co-processor adapter end to end against the real firmware logic served by firmware/host.py over
socket://: relays set and read back from the pins, fail-safe when the agent stops beating or is killed,
levels, emergency renewals, counters, sequence resynchronisation, and a stuck relay reaching the core."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import serial

from agent.adapters.relays.coproc_frames import Command, FrameReader, encode_frame, request
from agent.adapters.relays.coproc_relays import CoprocRelays
from agent.app.hardware import open_coproc
from agent.catalog.boards import load_board
from agent.core.effects import Publish
from agent.core.events import RelayObserved
from agent.errors import ConfigError, HardwareError
from firmware.host import HostBoard, HostServer
from province.localnet import free_port
from tests.agent.core.device_helpers import T0, arrive, make_device
from tests.conftest import REPO, wait_until

BOARD = "pico-coproc"  # the board's data, as a unit reads it
CUT_S = 3.0  # the design's promise: relays off within 3 s of the last heartbeat


@pytest.fixture
def host() -> Iterator[HostServer]:
    server = HostServer(board=HostBoard(relay_count=4, sensor_count=2)).start()
    yield server
    server.stop()


@pytest.fixture
def relays(host: HostServer) -> Iterator[CoprocRelays]:
    r = open_coproc(BOARD, host.url)
    yield r
    r.close()


def pin(host: HostServer, bit: int) -> int:
    return host.board.pins[bit].value()


def test_opening_checks_the_firmware_and_leaves_every_relay_off(host: HostServer, relays: CoprocRelays) -> None:
    assert relays.version.protocol == 1 and relays.version.relay_count == 4
    assert [pin(host, b) for b in range(4)] == [0, 0, 0, 0] and relays.state().commanded == 0


def test_zones_switch_the_pins_of_the_board_data_and_read_back(host: HostServer, relays: CoprocRelays) -> None:
    relays.set(3, True)
    relays.set(1, True)
    assert [pin(host, b) for b in range(4)] == [1, 0, 1, 0] and relays.read(3) and not relays.read(2)
    relays.set(3, False)
    assert [pin(host, b) for b in range(4)] == [1, 0, 0, 0] and relays.state().commanded == 0b0001


def test_a_stuck_relay_reads_back_against_its_command(host: HostServer, relays: CoprocRelays) -> None:
    host.board.pins[1].stuck = 1  # fault injection in the firmware's fake pin: contact welded shut
    relays.set(2, True)
    relays.set(2, False)
    assert relays.read(2) is True and relays.state().commanded == 0


def test_the_stuck_relay_becomes_a_relay_stuck_event_in_the_core(host: HostServer, relays: CoprocRelays) -> None:
    host.board.pins[0].stuck = 0  # zone 1 never closes
    device = make_device()
    arrive(device, "relay", {"zone": 1, "on": True, "for_s": 5}, "r", T0 + 1000)
    relays.set(1, True)
    effects = device.handle(RelayObserved(T0 + 1100, 1, relays.read(1)))  # as the runtime posts it after a set
    events = [json.loads(e.payload) for e in effects if isinstance(e, Publish) and e.topic.endswith("/event")]
    assert [(e["event"], e["detail"]) for e in events] == [("relay_stuck", {"zone": 1, "commanded": True,
                                                                             "actual": False})]


def off_after(host: HostServer, bit: int, since: float) -> float:
    assert wait_until(lambda: pin(host, bit) == 0, CUT_S + 1, step=0.01), "relay still on"
    return time.monotonic() - since


def test_relays_go_off_within_3_s_when_heartbeats_stop(host: HostServer, relays: CoprocRelays) -> None:
    relays.heartbeat()
    last_beat = time.monotonic()
    relays.set(2, True)
    elapsed = off_after(host, 1, last_beat)
    assert 1.9 < elapsed < CUT_S  # the firmware's 2000 ms timeout, not earlier
    assert relays.read(2) is False and relays.stats()["heartbeat_trips"] == 1


def test_a_late_heartbeat_does_not_switch_them_back_on(host: HostServer, relays: CoprocRelays) -> None:
    relays.set(1, True)
    off_after(host, 0, time.monotonic())
    relays.heartbeat()
    assert relays.read(1) is False and relays.state().commanded == 0
    relays.set(2, True)  # the next set builds on the co-processor's mask: zone 1 stays off
    assert [pin(host, b) for b in range(4)] == [0, 1, 0, 0]


AGENT = """
import sys, time
from agent.app.hardware import open_coproc
relays = open_coproc("pico-coproc", sys.argv[1])
relays.set(1, True)
print("on", flush=True)
while True:
    relays.heartbeat()
    print("beat", flush=True)
    time.sleep(0.5)
"""


def test_a_killed_agent_process_leaves_the_relays_off_within_3_s(host: HostServer) -> None:
    agent = subprocess.Popen([sys.executable, "-c", AGENT, host.url], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert agent.stdout is not None and agent.stdout.readline().strip() == "on"
        assert agent.stdout.readline().strip() == "beat" and pin(host, 0) == 1
        last_beat = time.monotonic()  # an upper bound: the beat was sent before it was printed
        agent.kill()  # SIGKILL: no close(), no finally, the socket simply drops
        agent.wait(5)
        assert off_after(host, 0, last_beat) < CUT_S
    finally:
        agent.kill()
        agent.wait(5)


def test_levels_follow_the_amplifier_and_silence_reads_the_floor(host: HostServer, relays: CoprocRelays) -> None:
    relays.set(1, True)
    time.sleep(0.7)  # two 64-sample windows of the 5 ms loop
    levels = relays.levels()
    assert levels[0] == pytest.approx(-12.04, abs=0.6) and levels[1] == -100.0  # relay 2 off: silence


def test_emergency_renewal_names_only_the_zones_that_are_on(relays: CoprocRelays) -> None:
    relays.set(2, True)
    assert relays.emergency_renew() == [2]
    assert relays.emergency_renew([1, 2]) == [2]


def test_an_agent_restarted_mid_sequence_resynchronises(host: HostServer) -> None:
    with serial.serial_for_url(host.url, timeout=0.5) as port:  # an earlier agent got to SEQ 100
        port.write(encode_frame(request(Command.HEARTBEAT, 100)))
        assert FrameReader().feed(port.read(8))[0].seq == 100
    relays = open_coproc(BOARD, host.url)  # starts at SEQ 1, 157 behind: refused as a replay, then resynchronised
    relays.set(1, True)
    assert relays.read(1) is True and relays.stats()["bad_seq"] >= 1
    relays.close()


def test_an_absent_coprocessor_is_a_hardware_error() -> None:
    with pytest.raises(HardwareError, match=r"coproc socket://127\.0\.0\.1:\d+: open: Could not open port"):
        open_coproc(BOARD, f"socket://127.0.0.1:{free_port()}")


def test_stats_carry_the_firmware_counters_and_this_side_s(relays: CoprocRelays) -> None:
    stats = relays.stats()
    assert stats["bad_crc"] == 0 and stats["agent_bad_crc"] == 0 and "agent_stale_replies" in stats


def test_a_board_of_another_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'lcus-1' is a serial board, not a co-processor"):
        open_coproc(load_board("lcus-1"), "socket://127.0.0.1:1")

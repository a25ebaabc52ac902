"""LCUS USB serial relay modules over real pySerial (socket://) against the module simulator in agent/fakes."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from agent.adapters.relays.serial_relays import LcusCodes, lcus_frame
from agent.app.hardware import open_relays
from agent.catalog.boards import load_board
from agent.errors import HardwareError
from agent.fakes.lcus_module import LcusModuleSim
from province.localnet import free_port
from tests.conftest import wait_until


@pytest.fixture
def module() -> Iterator[LcusModuleSim]:
    sim = LcusModuleSim(relays=2).start()
    yield sim
    sim.stop()


@pytest.mark.parametrize(("relay", "on", "frame"), [
    (1, True, "a0 01 01 a2"), (1, False, "a0 01 00 a1"),  # the LCUS-1 datasheet's own examples
    (2, True, "a0 02 01 a3"), (2, False, "a0 02 00 a2"),
])
def test_frames_match_the_module_documentation(relay: int, on: bool, frame: str) -> None:
    assert lcus_frame(LcusCodes(), relay, on).hex(" ") == frame


def test_set_switches_the_module_and_close_switches_all_off(module: LcusModuleSim) -> None:
    relays = open_relays("lcus-2", serial_url=module.url)
    relays.set(2, True)
    assert wait_until(lambda: module.module.states[2], 2)
    assert relays.read(2) is True and module.module.states[1] is False
    relays.close()
    assert wait_until(lambda: not any(module.module.states.values()), 2)
    assert module.module.history == [(1, False), (2, False), (2, True), (1, False), (2, False)]


def test_read_is_the_last_command_because_the_module_cannot_report(module: LcusModuleSim) -> None:
    assert load_board("lcus-2").read_back == "none"
    relays = open_relays("lcus-2", serial_url=module.url)
    module.module.stick(1, False)
    relays.set(1, True)
    assert wait_until(lambda: len(module.module.history) == 3, 2)
    assert relays.read(1) is True and module.module.states[1] is False  # a stuck relay goes unseen here
    relays.close()


def test_the_simulator_rejects_a_corrupted_frame_and_resynchronises(module: LcusModuleSim) -> None:
    host, port = module.url.removeprefix("socket://").split(":")
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(bytes.fromhex("a0 01 01 a3") + b"\x55" + bytes.fromhex("a0 02 01 a3"))
        assert wait_until(lambda: module.module.states[2], 2)
    assert module.module.states[1] is False
    assert module.module.dropped_bytes == 5  # the bad-sum frame (its start byte, then 3 non-start bytes) and 0x55


def test_an_unreachable_port_is_a_hardware_error_keeping_pyserial_s_message() -> None:
    with pytest.raises(HardwareError, match=r"serial relay socket://127\.0\.0\.1:\d+: open: Could not open port"):
        open_relays("lcus-1", serial_url=f"socket://127.0.0.1:{free_port()}")

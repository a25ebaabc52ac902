"""Modbus RTU relay boards through pymodbus's serial client over socket://, against pymodbus's own server
(agent/fakes/modbus_relay_board.py) speaking RTU frames."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from agent.adapters.relays.modbus_relays import ModbusOptions, ModbusRelays
from agent.adapters.relays.serial_boundary import PortSettings
from agent.app.hardware import open_relays
from agent.catalog.boards import load_board
from agent.errors import HardwareError
from agent.fakes.modbus_relay_board import ModbusRelayBoardSim

BOARD = "waveshare-modbus-rtu-relay-8ch"


@pytest.fixture(scope="module")
def board() -> Iterator[ModbusRelayBoardSim]:
    sim = ModbusRelayBoardSim(coils=8).start()
    yield sim
    sim.stop()


@pytest.fixture(autouse=True)
def unstuck(board: ModbusRelayBoardSim) -> None:
    board.stuck.clear()


def test_set_read_back_and_close(board: ModbusRelayBoardSim) -> None:
    relays = open_relays(BOARD, zones=[1, 2, 8], serial_url=board.url)
    relays.set(8, True)
    assert board.coils() == [False] * 7 + [True] and relays.read(8) is True and relays.read(1) is False
    relays.close()
    assert board.coils() == [False] * 8


def test_frames_on_the_wire_match_the_board_protocol_manual(board: ModbusRelayBoardSim) -> None:
    relays = open_relays(BOARD, zones=[1], serial_url=board.url)
    board.requests.clear()
    relays.set(1, True)
    relays.set(1, False)
    relays.close()
    # "Open Relay 0: 01 05 00 00 FF 00 8C 3A", "Close Relay 0: 01 05 00 00 00 00 CD CA" (Waveshare protocol manual)
    assert [r.hex(" ") for r in board.requests] == ["01 05 00 00 ff 00 8c 3a", "01 05 00 00 00 00 cd ca",
                                                    "01 05 00 00 00 00 cd ca"]  # the last one: close()


def test_a_stuck_coil_reads_back_against_its_command(board: ModbusRelayBoardSim) -> None:
    assert load_board(BOARD).read_back == "coil"
    relays = open_relays(BOARD, zones=[3], serial_url=board.url)
    board.stick(2, False)
    relays.set(3, True)  # acknowledged like any write
    assert relays.read(3) is False
    relays.close()


def test_an_exception_reply_keeps_its_modbus_code(board: ModbusRelayBoardSim) -> None:
    link = PortSettings(baudrate=9600, timeout_s=0.5)
    with pytest.raises(HardwareError, match=r"write coil 40 off \(function 05\): exception code 2 \(illegal_address\)"):
        ModbusRelays(board.url, {1: 40}, link=link, settings=ModbusOptions())


@pytest.fixture
def mute_port() -> Iterator[int]:
    """A TCP port that accepts and reads but never answers (a board with the wrong address or baud rate)."""
    listener = socket.create_server(("127.0.0.1", 0))
    conns: list[socket.socket] = []

    def accept() -> None:
        try:
            conns.append(listener.accept()[0])
        except OSError:
            pass
    threading.Thread(target=accept, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()
    for c in conns:
        c.close()


def test_a_board_that_never_answers_is_a_hardware_error_within_its_timeout(mute_port: int) -> None:
    link = PortSettings(baudrate=9600, timeout_s=0.3)
    start = time.monotonic()
    with pytest.raises(HardwareError, match=r"modbus socket://127\.0\.0\.1:\d+ device 1: write coil 0 off"):
        ModbusRelays(f"socket://127.0.0.1:{mute_port}", {1: 0}, link=link, settings=ModbusOptions(retries=0))
    assert time.monotonic() - start < 2.0

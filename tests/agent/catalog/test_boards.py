"""hw/ as data: every description loads and checks, the co-processor's data agrees with the firmware, bad files
are reported with every problem at once, and agent.catalog.boards pulls in no hardware library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.app.hardware import open_relays
from agent.catalog import boards as hw_boards
from agent.catalog.boards import load_audio, load_board, load_modem, names
from agent.errors import ConfigError
from firmware import config as firmware_config

REPO = Path(__file__).resolve().parents[3]


def test_every_description_loads_and_cites_its_sources() -> None:
    boards = [load_board(n) for n in names("boards")]
    modems = [load_modem(n) for n in names("modems")]
    audio = [load_audio(n) for n in names("audio")]
    assert {b.kind for b in boards} == {"gpio", "serial", "modbus", "coproc"}
    assert len(modems) >= 1 and len(audio) >= 2
    assert all(b.sources for b in boards) and all(m.sources for m in modems) and all(a.sources for a in audio)


def test_zones_map_to_channels_from_the_data() -> None:
    waveshare = load_board("waveshare-rpi-relay-board")
    assert {z: c.address for z, c in waveshare.wiring().items()} == {1: 26, 2: 20, 3: 21}
    assert waveshare.gpio is not None and waveshare.gpio.active_high is False
    modbus = load_board("waveshare-modbus-rtu-relay-8ch")
    assert [c.address for c in modbus.wiring([1, 8]).values()] == [0, 7]


def test_the_coprocessor_board_matches_the_firmware_pin_map() -> None:
    pico = load_board("pico-coproc")
    assert [c.label for c in pico.channels] == [f"GP{pin}" for pin in firmware_config.RELAY_PINS]
    assert [c.address for c in pico.channels] == list(range(len(firmware_config.RELAY_PINS)))
    assert pico.serial is not None and pico.serial.baudrate == firmware_config.UART_BAUD
    assert [f"GP{pin}" in s.label for s, pin in zip(pico.sensors, firmware_config.SENSOR_ADC_PINS)] == [True, True]
    assert not firmware_config.RELAY_ACTIVE_LOW
    assert pico.coproc is not None and pico.coproc.heartbeat_interval_s * 3 < firmware_config.HEARTBEAT_TIMEOUT_MS / 1000


def test_an_unwired_zone_is_a_config_error_naming_the_board() -> None:
    with pytest.raises(ConfigError, match=r"zone\(s\) \[4\] are not wired on board 'waveshare-rpi-relay-board'"):
        load_board("waveshare-rpi-relay-board").wiring([1, 4])


def test_an_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'waveshare-rpi-relay-board'"):
        load_board("waveshare-rpi-relay")


def test_a_serial_board_needs_a_serial_url() -> None:
    with pytest.raises(ConfigError, match="hardware.serial_url: board 'lcus-1' is a serial board"):
        open_relays("lcus-1")


BAD_BOARD = """
name = "bad"
kind = "gpio"
read_back = "contact"
[gpio]
active_high = "no"
polarity = "low"
[[channels]]
number = 1
bcm = 40
[[channels]]
number = 1
bcm = 20
[zones]
1 = 1
2 = 9
"""


def test_every_problem_of_a_bad_board_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "boards").mkdir()
    (tmp_path / "boards" / "bad.toml").write_text(BAD_BOARD)
    with pytest.raises(ConfigError) as err:
        load_board("bad", hw_dir=tmp_path)
    message = str(err.value)
    for problem in ("read_back: must be one of", "gpio.active_high: must be bool", "gpio.polarity: unknown key",
                    "channels[0].bcm: 40 is outside 0..27", "channels: number [1] used more than once",
                    "zones.2: 9 is not a channel"):
        assert problem in message


def test_a_kind_missing_its_settings_table_is_named(tmp_path: Path) -> None:
    (tmp_path / "boards").mkdir()
    text = 'kind = "modbus"\nread_back = "coil"\n[[channels]]\nnumber = 1\ncoil = 0\n[zones]\n1 = 1\n'
    (tmp_path / "boards" / "m.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"\[serial\]: missing .*\[modbus\]: missing"):
        load_board("m", hw_dir=tmp_path)


def test_loading_boards_imports_no_hardware_library() -> None:
    code = ("import sys, agent.catalog.boards as h; [h.load_board(n) for n in h.names('boards')]; "
            "print(sorted(m for m in ('gpiozero', 'serial', 'pymodbus') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert hw_boards.HW_DIR == REPO / "hw"


def test_the_wiring_sheet_names_every_board_and_the_gpio_pins_of_its_data() -> None:
    sheet = (REPO / "hw" / "WIRING.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in sheet for name in names("boards"))
    for board in (load_board(n) for n in names("boards")):
        if board.kind == "gpio":
            rows = [f"| {zone} | {c.label} | {c.address} |" for zone, c in board.wiring().items()]
            assert [row in sheet for row in rows] == [True] * len(rows), board.name

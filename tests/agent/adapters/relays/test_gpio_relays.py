"""GPIO relays on gpiozero's own mock backend (MockFactory): both polarities, pins from hw/ data, pin history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from agent.app.hardware import open_relays
from agent.catalog.boards import load_board
from agent.errors import HardwareError


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory()
    yield f
    f.reset()


def levels(factory: MockFactory, bcm: int) -> list[bool]:
    return [s.state for s in factory.pin(bcm).states]


def test_active_low_board_drives_its_pin_low_for_on(factory: MockFactory) -> None:
    relays = open_relays("waveshare-rpi-relay-board", pin_factory=factory)
    assert [factory.pin(b).state for b in (26, 20, 21)] == [True, True, True]  # opened: all driven high = off
    relays.set(1, True)
    assert factory.pin(26).state is False and relays.read(1) is True
    relays.set(1, False)
    assert levels(factory, 26) == [False, True, False, True]  # floating input, off, on, off
    assert levels(factory, 20) == [False, True]


def test_active_high_board_drives_its_pin_high_for_on(factory: MockFactory) -> None:
    relays = open_relays("pimoroni-automation-hat", pin_factory=factory)
    relays.set(3, True)
    assert factory.pin(16).state is True and relays.read(3) is True
    relays.set(3, False)
    assert levels(factory, 16) == [False, True, False]
    assert levels(factory, 13) == [False]  # never switched on


def test_every_zone_switches_the_pin_its_board_data_names(factory: MockFactory) -> None:
    board = load_board("waveshare-rpi-relay-board")
    relays = open_relays(board, pin_factory=factory)
    for zone, channel in board.wiring().items():
        relays.set(zone, True)
        assert [b for b in (26, 20, 21) if factory.pin(b).state is False] == [channel.address]
        relays.set(zone, False)


def test_read_back_is_the_pin_level_not_the_last_command(factory: MockFactory) -> None:
    relays = open_relays("pimoroni-automation-hat", zones=[1], pin_factory=factory)
    relays.set(1, True)
    factory.pin(13).state = False  # something else drove the pin (a shared pin, a second process)
    assert relays.read(1) is False


def test_close_switches_off_then_releases_the_pins(factory: MockFactory) -> None:
    relays = open_relays("waveshare-rpi-relay-board", zones=[1, 2], pin_factory=factory)
    relays.set(2, True)
    relays.close()
    assert factory.pin(20).state is True and factory.pin(20).function == "input"  # last driven level: off


def test_a_pin_already_in_use_is_a_hardware_error_with_gpiozero_s_name(factory: MockFactory) -> None:
    first = open_relays("waveshare-rpi-relay-board", pin_factory=factory)
    with pytest.raises(HardwareError, match="GPIOPinInUse"):
        open_relays("waveshare-rpi-relay-board", pin_factory=factory)
    first.set(1, True)  # the first owner keeps its pins
    assert factory.pin(26).state is False


def test_a_zone_without_a_relay_is_a_hardware_error(factory: MockFactory) -> None:
    relays = open_relays("waveshare-rpi-relay-board", zones=[1], pin_factory=factory)
    with pytest.raises(HardwareError, match="zone 2 has no relay"):
        relays.set(2, True)

"""Relays on GPIO pins through gpiozero: one OutputDevice per zone, polarity from the board's data.

The only module that imports gpiozero. The pin factory is an argument (gpiozero's MockFactory in tests, its
default chain on a Pi). read() is the level the pin is driven at, not the contact. Must not import the core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from gpiozero import GPIOZeroError, OutputDevice

from agent.errors import HardwareError

T = TypeVar("T")


@contextmanager
def _boundary(what: str) -> Iterator[None]:
    """gpiozero's errors become HardwareError, keeping gpiozero's class name and message."""
    try:
        yield
    except GPIOZeroError as exc:
        raise HardwareError(f"gpio: {what}: {type(exc).__name__}: {exc}") from exc


class GpioRelays:
    """`pins` maps zone -> BCM pin; every relay is driven off before the constructor returns."""

    def __init__(self, pins: Mapping[int, int], *, active_high: bool, pin_factory: Any = None) -> None:
        self._devices: dict[int, OutputDevice] = {}
        try:
            for zone, pin in pins.items():
                self._devices[zone] = self._open(zone, pin, active_high, pin_factory)
        except HardwareError:
            self.close()
            raise

    @staticmethod
    def _open(zone: int, pin: int, active_high: bool, pin_factory: Any) -> OutputDevice:
        with _boundary(f"zone {zone} on BCM {pin}"):
            return OutputDevice(pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)

    def set(self, zone: int, on: bool) -> None:
        device = self._device(zone)
        with _boundary(f"switch zone {zone} {'on' if on else 'off'}"):
            device.value = on

    def read(self, zone: int) -> bool:
        device = self._device(zone)
        return _call(f"read zone {zone}", lambda: bool(device.value))

    def close(self) -> None:
        """All off, then the pins are released (gpiozero leaves a closed pin as an input)."""
        for zone, device in self._devices.items():
            _call(f"switch zone {zone} off", device.off)
            device.close()
        self._devices.clear()

    def _device(self, zone: int) -> OutputDevice:
        try:
            return self._devices[zone]
        except KeyError:
            raise HardwareError(f"gpio: zone {zone} has no relay (zones {sorted(self._devices)})") from None


def _call(what: str, fn: Callable[[], T]) -> T:
    with _boundary(what):
        return fn()

"""Mains present, from a GPIO input driven by an isolated mains detector (hw/monitors: [mains] kind = "gpio").

The only module of the unit's sensors that imports gpiozero; the pin factory is an argument (gpiozero's
MockFactory in tests). Must not import the core or the runtime.
"""

from __future__ import annotations

from typing import Any

from gpiozero import DigitalInputDevice, GPIOZeroError

from agent.errors import HardwareError


class GpioMains:
    def __init__(self, bcm: int, *, active_high: bool, pin_factory: Any = None) -> None:
        try:
            self._input = DigitalInputDevice(bcm, pull_up=None, active_state=active_high, pin_factory=pin_factory)
        except GPIOZeroError as exc:
            raise HardwareError(f"mains sensor on BCM {bcm}: {exc} ({type(exc).__name__})") from exc

    def __call__(self) -> bool | None:
        try:
            return bool(self._input.value)
        except GPIOZeroError:
            return None

    def close(self) -> None:
        self._input.close()

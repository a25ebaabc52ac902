"""Relays on a USB serial relay module (the LC Technology LCUS family) through a pySerial URL.

Byte protocol, from the board's data: `start, relay, on|off, (start + relay + state) & 0xFF`, write-only. The
modules answer nothing, so read() is the last commanded state. Its one library is pySerial; must not import
the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

import serial

from agent.adapters.relays.serial_boundary import PortSettings, serial_boundary
from agent.errors import HardwareError


@dataclass(frozen=True)
class LcusCodes:
    """The bytes of the module's command frame."""

    start_byte: int = 0xA0
    on_byte: int = 0x01
    off_byte: int = 0x00


def lcus_frame(protocol: LcusCodes, relay: int, on: bool) -> bytes:
    """The 4-byte command that switches one relay; e.g. A0 01 01 A2 switches relay 1 on."""
    body = bytes((protocol.start_byte, relay, protocol.on_byte if on else protocol.off_byte))
    return body + bytes((sum(body) & 0xFF,))


def _boundary(url: str, what: str) -> AbstractContextManager[None]:
    return serial_boundary("serial relay", url, what)


class SerialRelays:
    """`relays` maps zone -> relay number on the module; all relays are switched off on opening."""

    def __init__(self, url: str, relays: Mapping[int, int], *, link: PortSettings, protocol: LcusCodes) -> None:
        self._url = url
        self._relays = dict(relays)
        self._protocol = protocol
        self._states = {zone: False for zone in relays}
        with _boundary(url, "open"):
            self._port = serial.serial_for_url(url, baudrate=link.baudrate, bytesize=link.bytesize,
                                               parity=link.parity, stopbits=link.stopbits,
                                               timeout=link.timeout_s, write_timeout=link.timeout_s)
        for zone in self._relays:
            self.set(zone, False)

    def set(self, zone: int, on: bool) -> None:
        frame = lcus_frame(self._protocol, self._relay(zone), on)
        with _boundary(self._url, f"switch zone {zone} {'on' if on else 'off'}"):
            self._port.write(frame)
            self._port.flush()
        self._states[zone] = on

    def read(self, zone: int) -> bool:
        self._relay(zone)
        return self._states[zone]  # no read-back on this module: the last commanded state

    def close(self) -> None:
        try:
            for zone in self._relays:
                self.set(zone, False)
        finally:
            self._port.close()

    def _relay(self, zone: int) -> int:
        try:
            return self._relays[zone]
        except KeyError:
            raise HardwareError(f"serial relay {self._url}: zone {zone} has no relay "
                                f"(zones {sorted(self._relays)})") from None

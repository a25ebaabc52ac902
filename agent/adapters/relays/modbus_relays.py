"""Relays on a Modbus RTU relay board (e.g. Waveshare Modbus RTU Relay) through pymodbus, over a pySerial URL.

Function 05 (write single coil) switches a relay, function 01 (read coils) reads the board's coil back, so a
relay the board did not switch shows up in read(). The only module that imports pymodbus; must not import
the core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pymodbus import ModbusException
from pymodbus.client import ModbusSerialClient
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType

from agent.adapters.relays.serial_boundary import PortSettings
from agent.errors import HardwareError


@dataclass(frozen=True)
class ModbusOptions:
    device_id: int = 1  # the board's Modbus address
    retries: int = 1


def _exception_name(code: int) -> str:
    try:
        return ExcCodes(code).name.lower()
    except ValueError:
        return "unknown"


class ModbusRelays:
    """`coils` maps zone -> coil address; all coils are written off on opening."""

    def __init__(self, url: str, coils: Mapping[int, int], *, link: PortSettings, settings: ModbusOptions) -> None:
        self._url = url
        self._coils = dict(coils)
        self._device_id = settings.device_id
        self._client = ModbusSerialClient(url, framer=FramerType.RTU, baudrate=link.baudrate, bytesize=link.bytesize,
                                          parity=link.parity, stopbits=link.stopbits, timeout=link.timeout_s,
                                          retries=settings.retries)
        if not self._client.connect():
            raise HardwareError(f"modbus {url}: cannot open the port (pymodbus logged the reason)")
        for zone in self._coils:
            self.set(zone, False)

    def set(self, zone: int, on: bool) -> None:
        coil = self._coil(zone)
        self._call(f"write coil {coil} {'on' if on else 'off'} (function 05)",
                   lambda: self._client.write_coil(coil, on, device_id=self._device_id))

    def read(self, zone: int) -> bool:
        coil = self._coil(zone)
        reply = self._call(f"read coil {coil} (function 01)",
                           lambda: self._client.read_coils(coil, count=1, device_id=self._device_id))
        return bool(reply.bits[0])

    def close(self) -> None:
        try:
            for zone in self._coils:
                self.set(zone, False)
        finally:
            self._client.close()  # type: ignore[no-untyped-call]  # pymodbus leaves it unannotated

    def _call(self, what: str, request: Callable[[], Any]) -> Any:
        """One request; a library exception or a Modbus exception reply becomes HardwareError with its code."""
        where = f"modbus {self._url} device {self._device_id}: {what}"
        try:
            reply = request()
        except ModbusException as exc:
            raise HardwareError(f"{where}: {exc}") from exc
        if reply.isError():
            code = getattr(reply, "exception_code", 0)
            raise HardwareError(f"{where}: exception code {code} ({_exception_name(code)})")
        return reply

    def _coil(self, zone: int) -> int:
        try:
            return self._coils[zone]
        except KeyError:
            raise HardwareError(f"modbus {self._url}: zone {zone} has no coil (zones {sorted(self._coils)})") from None

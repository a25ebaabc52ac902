"""A simulated Modbus RTU relay board (hw/boards/waveshare-modbus-rtu-relay-8ch.toml) on pymodbus's own server:
RTU frames over TCP, reachable as socket://127.0.0.1:PORT, so the agent's serial client talks to it unchanged.

Coils 0..n-1 are the relays. A stuck coil acknowledges writes (the echo a real board sends) but reads back the
stuck value: what a board that reports its real output would show. Every raw request is recorded.
Imports pymodbus; the agent must not import this module.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import cast

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator.simdata import SimData
from pymodbus.simulator.simdevice import SimDevice
from pymodbus.simulator.simutils import DataType

READ_COILS = 1


class ModbusRelayBoardSim:
    """The board as device `device_id` on 127.0.0.1:port (0 picks a free one), served from a daemon thread."""

    def __init__(self, coils: int = 8, device_id: int = 1) -> None:
        self.stuck: dict[int, bool] = {}
        self.requests: list[bytes] = []  # raw RTU frames received, CRC included
        self._coils = coils
        self._registers: list[int] = []
        self._device = SimDevice(device_id, simdata=self._blocks(coils), action=self._action)
        self._loop = asyncio.new_event_loop()
        self._server: ModbusTcpServer | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="modbus-sim", daemon=True)
        self.port = 0

    @staticmethod
    def _blocks(coils: int) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        bits = [SimData(0, count=coils, values=False, datatype=DataType.BITS)]
        return bits, [SimData(0, values=False, datatype=DataType.BITS)], [SimData(0, values=0)], [SimData(0, values=0)]

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def start(self) -> ModbusRelayBoardSim:
        self._thread.start()
        self.port = self._call(self._listen()).result(5)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._call(self._server.shutdown()).result(5)  # type: ignore[no-untyped-call]  # pymodbus leaves it unannotated
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def coils(self) -> list[bool]:
        """What the board drives now (stuck coils included)."""
        driven = [bool(self._registers[i // 16] >> (i % 16) & 1) if self._registers else False
                  for i in range(self._coils)]
        return [self.stuck.get(i, on) for i, on in enumerate(driven)]

    def stick(self, coil: int, on: bool) -> None:
        """Fault injection: from now on the coil reads back `on` whatever it is told."""
        self.stuck[coil] = on

    def _call(self, coro: object) -> Future[int]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]  # pymodbus's untyped coroutines

    async def _listen(self) -> int:
        self._server = ModbusTcpServer(self._device, framer=FramerType.RTU, address=("127.0.0.1", 0),
                                       trace_packet=self._trace)
        await self._server.serve_forever(background=True)
        listener = cast(asyncio.Server, self._server.transport)  # a TCP server's transport is its listener
        return int(listener.sockets[0].getsockname()[1])

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self.requests.append(bytes(data))
        return data

    async def _action(self, function_code: int, start: int, address: int, count: int, registers: list[int],
                      values: list[int] | list[bool] | None) -> ExcCodes | None:
        self._registers = registers
        if function_code == READ_COILS:
            for coil, on in self.stuck.items():
                registers[coil // 16] = registers[coil // 16] & ~(1 << coil % 16) | (on << coil % 16)
        return None

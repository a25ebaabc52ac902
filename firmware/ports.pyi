"""What the firmware needs from its hardware, as typing protocols (type checking only; never imported at run time).

machine.Pin, machine.ADC, machine.UART and machine.WDT satisfy these on the board, and firmware/fakes.py on a PC.
"""

from typing import Any, Protocol, overload

class PinLike(Protocol):
    # machine.Pin.value is overloaded the same way: read with no argument, write with one.
    @overload
    def value(self) -> int: ...
    @overload
    def value(self, x: int, /) -> Any: ...

class AdcLike(Protocol):
    def read_u16(self) -> int: ...

class UartLike(Protocol):
    def read(self) -> bytes | None: ...
    def write(self, buf: bytes, /) -> int | None: ...

class WatchdogLike(Protocol):
    def feed(self) -> None: ...

class TicksMs(Protocol):
    def __call__(self) -> int: ...

"""What the serial adapters (relay modules, the co-processor, AT modems) share: their port settings, and the pySerial
error boundary (library errors become HardwareError, keeping the library's message and errno).

Must not import the core or the runtime.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import serial

from agent.errors import HardwareError


@dataclass(frozen=True)
class PortSettings:
    """How to talk on the port: framing and how long one exchange may take."""

    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1
    timeout_s: float = 0.5


@contextmanager
def serial_boundary(label: str, url: str, what: str, *also: type[Exception]) -> Iterator[None]:
    try:
        yield
    except HardwareError:
        raise  # already translated (HardwareError is an OSError too)
    except (serial.SerialException, OSError, *also) as exc:
        raise HardwareError(f"{label} {url}: {what}: {exc}") from exc

"""The pySerial error boundary shared by the serial adapters (relay modules, the co-processor, AT modems):
library errors become HardwareError, keeping the library's message and errno.

Must not import the core or the runtime.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import serial

from agent.errors import HardwareError


@contextmanager
def serial_boundary(label: str, url: str, what: str, *also: type[Exception]) -> Iterator[None]:
    try:
        yield
    except HardwareError:
        raise  # already translated (HardwareError is an OSError too)
    except (serial.SerialException, OSError, *also) as exc:
        raise HardwareError(f"{label} {url}: {what}: {exc}") from exc

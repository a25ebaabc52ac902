"""Fake hardware for running the firmware logic off the board: pins, ADCs, UART, watchdog and clock.

Used by firmware/host.py and the tests, on CPython and on MicroPython. Fakes record their history and accept
faults (a stuck pin). Must not import machine or the agent.
"""

from firmware.ticks import TICKS_PERIOD

TYPE_CHECKING = False
if TYPE_CHECKING:
    from firmware.ports import PinLike, TicksMs


class FakeClock:
    """A ticks_ms that moves only when told to; wraps like the board's."""

    def __init__(self, start_ms: int = 0) -> None:
        self.now_ms = start_ms

    def __call__(self) -> int:
        return self.now_ms % TICKS_PERIOD

    def advance(self, ms: int) -> None:
        self.now_ms += ms


class FakePin:
    """An output pin; history holds (ticks, level) of every write. stuck=0/1 makes reads show that level."""

    def __init__(self, ticks_ms: "TicksMs | None" = None, level: int = 0) -> None:
        self._ticks_ms = ticks_ms
        self._level = level
        self.stuck = -1
        self.history: list[tuple[int, int]] = []

    def value(self, level: int = -1) -> int:
        if level < 0:
            return self._level if self.stuck < 0 else self.stuck
        self._level = 1 if level else 0
        self.history.append((self._ticks_ms() if self._ticks_ms else 0, self._level))
        return self._level


class FakeADC:
    """Returns the given samples in a loop (default: silence at mid-rail)."""

    def __init__(self, samples: "tuple[int, ...]" = (32768,)) -> None:
        self.samples = samples
        self.reads = 0

    def read_u16(self) -> int:
        sample = self.samples[self.reads % len(self.samples)]
        self.reads += 1
        return sample


class ToneADC:
    """Hears a square wave of the given amplitude while its relay pin is on, silence otherwise."""

    def __init__(self, pin: "PinLike", amplitude: int = 8192, on_level: int = 1) -> None:
        self._pin = pin
        self._amplitude = amplitude
        self._on_level = on_level
        self._phase = 0

    def read_u16(self) -> int:
        self._phase ^= 1
        if self._pin.value() != self._on_level:
            return 32768
        return 32768 + self._amplitude if self._phase else 32768 - self._amplitude


class FakeUART:
    """machine.UART's read()/write(): read() gives everything injected so far, or None."""

    def __init__(self) -> None:
        self._rx = b""
        self.tx = b""

    def inject(self, data: bytes) -> None:
        self._rx += data

    def read(self) -> "bytes | None":
        data, self._rx = self._rx, b""
        return data or None

    def write(self, data: bytes) -> int:
        self.tx += data
        return len(data)

    def take_tx(self) -> bytes:
        data, self.tx = self.tx, b""
        return data


class FakeWatchdog:
    def __init__(self) -> None:
        self.feeds = 0

    def feed(self) -> None:
        self.feeds += 1

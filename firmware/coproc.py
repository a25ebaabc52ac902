"""The co-processor's whole behaviour: request frames in, reply frames out, fail-safe enforced, watchdog fed.

Every piece of hardware (UART, relay pins, ADCs, watchdog) and the clock (a ticks_ms function) is an argument,
so the same logic runs on the board, on a PC behind a socket (firmware/host.py) and in tests with a fake clock.
Must not import machine or the agent.
"""

from firmware import replies
from firmware.counters import Counters
from firmware.failsafe import Failsafe
from firmware.frames import Deframer, encode
from firmware.relays import RelayBank
from firmware.sensors import LevelMeter
from firmware.sequence import SeqGuard
from firmware.wire import (
    C_HEARTBEAT_TRIPS,
    C_MAX_ON_TRIPS,
    C_WATCHDOG_RESETS,
    COUNTER_NAMES,
    EMERGENCY_RENEW,
    GET_RELAYS,
    GET_STATS,
    GET_VERSION,
    HEARTBEAT,
    NAK,
    NAK_BAD_ARG,
    NAK_BAD_PAYLOAD,
    NAK_BAD_SEQ,
    NAK_COUNTER,
    NAK_LINK_DOWN,
    NAK_UNKNOWN_COMMAND,
    READ_SENSORS,
    REPLY_BIT,
    REQUEST_PAYLOAD_LEN,
    SET_RELAYS,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from firmware.ports import AdcLike, PinLike, TicksMs, UartLike, WatchdogLike


class CoProcessor:
    def __init__(
        self,
        uart: "UartLike",
        relay_pins: "Sequence[PinLike]",
        adcs: "Sequence[AdcLike]",
        wdt: "WatchdogLike",
        ticks_ms: "TicksMs",
        heartbeat_timeout_ms: int = 2000,
        max_on_ms: int = 15 * 60 * 1000,
        active_low: bool = False,
        frame_timeout_ms: int = 100,
        sensor_window: int = 64,
        reset_by_watchdog: bool = False,
    ) -> None:
        self.relays = RelayBank(relay_pins, active_low)  # first of all: every relay off
        self.failsafe = Failsafe(self.relays.count, heartbeat_timeout_ms, max_on_ms)
        self.counters = Counters(len(COUNTER_NAMES))
        self.meter = LevelMeter(adcs, sensor_window)
        self._deframer = Deframer(self.counters, frame_timeout_ms)
        self._seq = SeqGuard()
        self._uart = uart
        self._wdt = wdt
        self._ticks_ms = ticks_ms
        self._handlers = {
            GET_VERSION: self._get_version,
            HEARTBEAT: self._heartbeat,
            SET_RELAYS: self._set_relays,
            GET_RELAYS: self._get_relays,
            READ_SENSORS: self._read_sensors,
            EMERGENCY_RENEW: self._renew,
            GET_STATS: self._get_stats,
        }
        if reset_by_watchdog:
            self.counters.bump(C_WATCHDOG_RESETS)

    def step(self) -> None:
        """One pass of the main loop. The watchdog is fed last: a pass that hangs or raises never feeds it."""
        now = self._ticks_ms()
        self._enforce(now)  # before reading: a heartbeat that arrives late still counts as missed
        frames = self._deframer.feed(self._uart.read() or b"", now) + self._deframer.poll(now)
        for frame in frames:
            self._uart.write(self.handle(frame, now))
        self.meter.sample()
        self._wdt.feed()

    def handle(self, frame: "tuple[int, int, bytes]", now: int) -> bytes:
        """The reply frame to one CRC-valid request frame."""
        seq, cmd, payload = frame
        reason = self._admit(seq, cmd, payload)
        if reason:
            return self._nak(seq, cmd, reason)
        reason, reply = self._handlers[cmd](payload, now)
        if reason:
            return self._nak(seq, cmd, reason)
        self._seq.accept(seq)
        return encode(seq, cmd | REPLY_BIT, reply)

    def _admit(self, seq: int, cmd: int, payload: bytes) -> int:
        expected = REQUEST_PAYLOAD_LEN.get(cmd)
        if expected is None:
            return NAK_UNKNOWN_COMMAND
        if len(payload) != expected:
            return NAK_BAD_PAYLOAD
        if not self._seq.is_fresh(seq):
            return NAK_BAD_SEQ
        return 0

    def _nak(self, seq: int, cmd: int, reason: int) -> bytes:
        self.counters.bump(NAK_COUNTER[reason])
        info = self._seq.last() if reason == NAK_BAD_SEQ else 0
        return encode(seq, NAK, replies.nak(reason, cmd, info))

    def _enforce(self, now: int) -> None:
        if self.failsafe.link_lost(now):
            self.counters.bump(C_HEARTBEAT_TRIPS)
            self._seq.forget()  # the next host may be a restarted one with its own numbering
            self._switch(0, now)
            return
        overdue = self.failsafe.overdue(now)
        if overdue:
            self.counters.bump(C_MAX_ON_TRIPS)
            self._switch(self.relays.commanded() & ~overdue, now)

    def _switch(self, mask: int, now: int) -> None:
        self.relays.set_mask(mask)
        self.failsafe.switched(mask, now)

    def _relay_state(self) -> bytes:
        return replies.relays(self.relays.commanded(), self.relays.readback())

    def _get_version(self, payload: bytes, now: int) -> "tuple[int, bytes]":
        return 0, replies.version(self.relays.count, self.meter.count)

    def _heartbeat(self, payload: bytes, now: int) -> "tuple[int, bytes]":
        self.failsafe.beat(now)
        return 0, replies.heartbeat(self.failsafe.heartbeat_timeout_ms)

    def _set_relays(self, payload: bytes, now: int) -> "tuple[int, bytes]":
        mask = payload[0]
        if mask & ~self.relays.all_bits:
            return NAK_BAD_ARG, b""
        if mask and not self.failsafe.link_alive(now):
            return NAK_LINK_DOWN, b""  # no relay comes on without a live host heartbeat
        self._switch(mask, now)
        return 0, self._relay_state()

    def _get_relays(self, payload: bytes, now: int) -> "tuple[int, bytes]":
        return 0, self._relay_state()

    def _read_sensors(self, payload: bytes, now: int) -> "tuple[int, bytes]":
        return 0, replies.sensors(self.meter.levels())

    def _renew(self, payload: bytes, now: int) -> "tuple[int, bytes]":
        if payload[0] & ~self.relays.all_bits:
            return NAK_BAD_ARG, b""
        return 0, replies.renewed(self.failsafe.renew(payload[0], now))

    def _get_stats(self, payload: bytes, now: int) -> "tuple[int, bytes]":
        return 0, replies.stats(self.counters.values())

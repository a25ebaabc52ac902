"""Relays behind Loa's relay co-processor (firmware/): the framed protocol of agent.adapters.relays.coproc_frames over a pySerial
URL (/dev/ttyAMA0 on a unit, socket://127.0.0.1:PORT for the firmware running on a PC).

The co-processor owns the relays: it cuts them when heartbeat() stops arriving, so the runtime must call
heartbeat() every wiring.heartbeat_interval_s (0.5 s); and it cuts any relay on for its maximum on-time unless
emergency_renew() renews it, which the runtime does when the core says (agent.core.on_time). read() is the mask read
back from its pins.
Its one library is pySerial; must not import firmware/ or the core.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TypeVar

import serial

from agent.adapters.relays.coproc_frames import (
    Command,
    Frame,
    FrameReader,
    HeartbeatAck,
    Nak,
    NakReason,
    RelayState,
    Renewed,
    Reply,
    SensorLevels,
    Stats,
    Version,
    encode_frame,
    is_reply_to,
    next_seq,
    parse_reply,
    request,
)
from agent.adapters.relays.serial_boundary import PortSettings, serial_boundary
from agent.errors import FrameError, HardwareError

POLL_S = 0.005  # serial read timeout while waiting for a reply
R = TypeVar("R", bound=Reply)


def _boundary(url: str, what: str) -> AbstractContextManager[None]:
    return serial_boundary("coproc", url, what, FrameError)


@dataclass(frozen=True)
class CoprocWiring:
    """What the adapter needs to know of the board: the relay bit of each zone, which zone each level sensor listens
    to (in the firmware's sensor order by index; None: no zone in use), and the protocol's settings."""

    bits: Mapping[int, int]  # zone -> relay bit of the co-processor's mask
    port: PortSettings
    sensors: tuple[tuple[int, int | None], ...] = ()  # (sensor index, zone)
    protocol: int = 1
    heartbeat_interval_s: float = 0.5


class FramedPort:
    """One request, one reply: writes a frame and waits for the frame that answers it (same SEQ, reply code)."""

    def __init__(self, url: str, link: PortSettings) -> None:
        self.url = url
        self._timeout_s = link.timeout_s
        self.reader = FrameReader()
        self.stale_replies = 0  # valid frames that answered nothing we were waiting for (a late reply)
        with _boundary(url, "open"):
            self._port = serial.serial_for_url(url, baudrate=link.baudrate, bytesize=link.bytesize,
                                               parity=link.parity, stopbits=link.stopbits, timeout=POLL_S,
                                               write_timeout=link.timeout_s)

    def exchange(self, sent: Frame) -> Frame:
        name = Command(sent.cmd).name
        with _boundary(self.url, name):
            self._port.write(encode_frame(sent))
            reply = self._await(sent, time.monotonic() + self._timeout_s)
        if reply is None:
            raise HardwareError(f"coproc {self.url}: no reply to {name} (seq {sent.seq}) within {self._timeout_s} s")
        return reply

    def _await(self, sent: Frame, deadline: float) -> Frame | None:
        while time.monotonic() < deadline:
            reply = self._pick(sent, self.reader.feed(self._port.read(self._port.in_waiting or 1)))
            if reply is not None:
                return reply
        return self._pick(sent, self.reader.flush())

    def _pick(self, sent: Frame, frames: list[Frame]) -> Frame | None:
        for frame in frames:
            if is_reply_to(frame, sent):
                return frame
            self.stale_replies += 1
        return None

    def close(self) -> None:
        self._port.close()


class CoprocRelays:
    """Zones map to co-processor relay bits through the wiring (from the board's data, hw/boards/pico-coproc.toml).

    Opening checks the protocol version and the relay count, beats once and switches every relay off.
    """

    def __init__(self, serial_url: str, wiring: CoprocWiring) -> None:
        self.wiring = wiring
        self._protocol = wiring.protocol
        self._bits = dict(wiring.bits)
        self._port = FramedPort(serial_url, wiring.port)
        self._seq = 0
        try:
            self.version = self._check_version()
            self.heartbeat()
            self._set_mask(0)
        except HardwareError:
            self._port.close()
            raise

    # ---- the Relays port -------------------------------------------------------------------------------------

    def set(self, zone: int, on: bool) -> None:
        """Changes one bit of the mask the co-processor holds (not a cached one: after a fail-safe cut the
        other relays stay off until asked again)."""
        bit = 1 << self._bit(zone)
        commanded = self.state().commanded
        self._set_mask(commanded | bit if on else commanded & ~bit)

    def read(self, zone: int) -> bool:
        """The relay's actual state, read back from the co-processor's pin."""
        return bool(self.state().actual >> self._bit(zone) & 1)

    def close(self) -> None:
        """All off, then the port is closed (even if the co-processor did not answer)."""
        try:
            self._set_mask(0)
        finally:
            self._port.close()

    # ---- the co-processor's own duties -----------------------------------------------------------------------

    def heartbeat(self) -> int:
        """Keeps the relays allowed; returns the co-processor's heartbeat timeout in ms."""
        return self._expect(Command.HEARTBEAT, b"", HeartbeatAck).timeout_ms

    def emergency_renew(self, zones: Iterable[int] | None = None) -> list[int]:
        """Restarts the maximum on-time of these zones' relays (all zones when None); returns those renewed."""
        wanted = list(self._bits) if zones is None else list(zones)
        mask = sum(1 << self._bit(zone) for zone in set(wanted))
        renewed = self._expect(Command.EMERGENCY_RENEW, bytes((mask,)), Renewed).mask
        return [zone for zone in wanted if renewed >> self._bits[zone] & 1]

    def state(self) -> RelayState:
        return self._expect(Command.GET_RELAYS, b"", RelayState)

    def levels(self) -> list[float | None]:
        """Output level in dBFS for each sensor of the board's data, in its order; silence reads -100.0 (the
        firmware's floor, a measurement); None for a sensor the co-processor does not report."""
        measured = self._expect(Command.READ_SENSORS, b"", SensorLevels).levels_cdbfs
        return [measured[index] / 100 if index < len(measured) else None for index, _ in self.wiring.sensors]

    def stats(self) -> dict[str, int]:
        """The co-processor's counters, plus this side's rejected bytes and frames (prefixed agent_)."""
        counters = self._expect(Command.GET_STATS, b"", Stats).as_dict()
        mine = {f"agent_{name}": count for name, count in self._port.reader.rejected.items()}
        return counters | mine | {"agent_stale_replies": self._port.stale_replies}

    # ---- requests --------------------------------------------------------------------------------------------

    def _check_version(self) -> Version:
        version = self._expect(Command.GET_VERSION, b"", Version)
        if version.protocol != self._protocol:
            raise HardwareError(f"coproc {self._port.url}: protocol {version.protocol}, "
                                f"this agent speaks {self._protocol}")
        if max(self._bits.values(), default=-1) >= version.relay_count:
            raise HardwareError(f"coproc {self._port.url}: has {version.relay_count} relays, "
                                f"the board data wires bits {sorted(self._bits.values())}")
        return version

    def _set_mask(self, mask: int) -> RelayState:
        reply = self._request(Command.SET_RELAYS, bytes((mask,)))
        if isinstance(reply, Nak) and reply.reason == NakReason.LINK_DOWN:
            self.heartbeat()  # the runtime's heartbeat may not have started yet
            reply = self._request(Command.SET_RELAYS, bytes((mask,)))
        return self._typed(Command.SET_RELAYS, reply, RelayState)

    def _expect(self, cmd: Command, payload: bytes, kind: type[R]) -> R:
        return self._typed(cmd, self._request(cmd, payload), kind)

    def _typed(self, cmd: Command, reply: Reply, kind: type[R]) -> R:
        if isinstance(reply, kind):
            return reply
        if isinstance(reply, Nak):
            raise HardwareError(f"coproc {self._port.url}: {cmd.name} refused: {reply.reason.name.lower()} "
                                f"(info {reply.info})")
        raise HardwareError(f"coproc {self._port.url}: {cmd.name} answered with {type(reply).__name__}")

    def _request(self, cmd: Command, payload: bytes) -> Reply:
        """One request; a bad_seq NAK (e.g. after an agent restart) resynchronises on the SEQ it names, once."""
        reply = self._send(cmd, payload)
        if isinstance(reply, Nak) and reply.reason == NakReason.BAD_SEQ:
            self._seq = reply.info
            reply = self._send(cmd, payload)
        return reply

    def _send(self, cmd: Command, payload: bytes) -> Reply:
        self._seq = next_seq(self._seq)
        frame = self._port.exchange(request(cmd, self._seq, payload))
        with _boundary(self._port.url, f"reply to {cmd.name}"):
            return parse_reply(frame)

    def _bit(self, zone: int) -> int:
        try:
            return self._bits[zone]
        except KeyError:
            raise HardwareError(f"coproc {self._port.url}: zone {zone} has no relay (zones {sorted(self._bits)})"
                                ) from None

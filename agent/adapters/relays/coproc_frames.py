"""The agent's codec of the relay co-processor's framed serial protocol (spec: firmware/README.md).

Frame: SOF 0xA5, LEN, SEQ, CMD, PAYLOAD[LEN], CRC-16/CCITT-FALSE big-endian over LEN..PAYLOAD. Requests are
built as `Frame`s, replies parsed into small value objects; a malformed frame raises FrameError and is never
guessed at. Pure and stdlib-only: no serial I/O, no clock. Must not import firmware/ (the two codecs meet only in
tests/golden/coproc_frames.json).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from agent.errors import FrameError

SOF = 0xA5
MAX_PAYLOAD = 32
OVERHEAD = 6  # SOF, LEN, SEQ, CMD and two CRC bytes
PROTOCOL_VERSION = 1
REPLY_BIT = 0x80
FLOOR_CDBFS = -10000  # a sensor level this low means "no signal"

# Reasons a frame is rejected; FrameError messages start with one, FrameReader counts them by name.
NO_START = "no_start"
TRUNCATED = "truncated"
BAD_LENGTH = "bad_length"
BAD_CRC = "bad_crc"
DROPPED_BYTES = "dropped_bytes"
UNKNOWN_COMMAND = "unknown_command"
BAD_PAYLOAD = "bad_payload"

COUNTER_NAMES = (
    "bad_crc", "bad_length", "truncated", "dropped_bytes", "unknown_command", "bad_payload",
    "bad_seq", "bad_arg", "link_down", "heartbeat_trips", "max_on_trips", "watchdog_resets",
)


class Command(IntEnum):
    """Requests the host may send; the co-processor answers each with `code | REPLY_BIT` or a NAK."""

    GET_VERSION = 0x01
    HEARTBEAT = 0x02
    SET_RELAYS = 0x03
    GET_RELAYS = 0x04
    READ_SENSORS = 0x05
    EMERGENCY_RENEW = 0x06
    GET_STATS = 0x07


NAK_CODE = 0xFF


class NakReason(IntEnum):
    UNKNOWN_COMMAND = 1
    BAD_PAYLOAD = 2  # wrong payload length for the command
    BAD_SEQ = 3  # replayed or out-of-order sequence number; info = last accepted number
    BAD_ARG = 4  # relay bits the board does not have
    LINK_DOWN = 5  # relays asked on without a live heartbeat


@dataclass(frozen=True)
class Frame:
    seq: int
    cmd: int
    payload: bytes = b""


@dataclass(frozen=True)
class Version:
    protocol: int
    firmware: tuple[int, int, int]
    relay_count: int
    sensor_count: int


@dataclass(frozen=True)
class HeartbeatAck:
    timeout_ms: int  # the co-processor cuts the relays this long after the last heartbeat


@dataclass(frozen=True)
class RelayState:
    commanded: int
    actual: int  # read back from the pins

    @property
    def confirmed(self) -> bool:
        return self.commanded == self.actual


@dataclass(frozen=True)
class SensorLevels:
    levels_cdbfs: tuple[int, ...]

    def dbfs(self, channel: int) -> float:
        return self.levels_cdbfs[channel] / 100


@dataclass(frozen=True)
class Renewed:
    mask: int  # relays whose on-time budget was renewed (those that were on)


@dataclass(frozen=True)
class Stats:
    counters: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, int]:
        return dict(self.counters)


@dataclass(frozen=True)
class Nak:
    reason: NakReason
    command: int
    info: int


Reply = Version | HeartbeatAck | RelayState | SensorLevels | Renewed | Stats | Nak


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR); check("123456789") = 0x29B1."""
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ byte]
    return crc


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def encode_frame(frame: Frame) -> bytes:
    if len(frame.payload) > MAX_PAYLOAD or not (0 <= frame.seq <= 0xFF and 0 <= frame.cmd <= 0xFF):
        raise ValueError(f"frame out of range: {frame!r}")
    body = bytes((len(frame.payload), frame.seq, frame.cmd)) + frame.payload
    return bytes((SOF,)) + body + crc16_ccitt_false(body).to_bytes(2, "big")


def _scan(buf: bytes | bytearray) -> tuple[str, int]:
    """Classify the frame starting at buf[0] (a start byte): ("ok", size), (TRUNCATED, 0) or (error, 0)."""
    if len(buf) < 2:
        return TRUNCATED, 0
    if buf[1] > MAX_PAYLOAD:
        return BAD_LENGTH, 0
    size = buf[1] + OVERHEAD
    if len(buf) < size:
        return TRUNCATED, 0
    if crc16_ccitt_false(bytes(buf[1 : size - 2])) != int.from_bytes(buf[size - 2 : size], "big"):
        return BAD_CRC, 0
    return "ok", size


def _fields(frame: bytes | bytearray) -> Frame:
    return Frame(frame[2], frame[3], bytes(frame[4:-2]))


def decode_frame(data: bytes) -> Frame:
    """The one frame that data holds exactly; FrameError("<reason>: ...") otherwise."""
    if not data or data[0] != SOF:
        reason = NO_START if data else TRUNCATED
        raise FrameError(f"{reason}: frame must begin with 0x{SOF:02X}")
    status, size = _scan(data)
    if status != "ok":
        raise FrameError(f"{status}: {data.hex()}")
    if size != len(data):
        raise FrameError(f"{BAD_LENGTH}: {len(data) - size} bytes after the CRC")
    return _fields(data)


class FrameReader:
    """Cuts the serial byte stream into valid frames; counts each rejected frame and each stray byte by reason.

    Bad frames lose only their start byte, so the parser resynchronises on the next one. Call flush() when the
    serial read times out: a partial frame left then is truncated.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.rejected: dict[str, int] = {BAD_CRC: 0, BAD_LENGTH: 0, TRUNCATED: 0, DROPPED_BYTES: 0}

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while self._step(frames):
            pass
        return frames

    def flush(self) -> list[Frame]:
        """Give up on a partial frame; frames hidden behind its start byte are still returned."""
        if not self._buf:
            return []
        self.rejected[TRUNCATED] += 1
        del self._buf[:1]
        frames = self.feed(b"")
        self._buf.clear()
        return frames

    def _step(self, frames: list[Frame]) -> bool:
        start = self._buf.find(SOF)
        self._drop(len(self._buf) if start < 0 else start)
        if not self._buf:
            return False
        status, size = _scan(self._buf)
        if status == TRUNCATED:
            return False
        if status == "ok":
            frames.append(_fields(self._buf[:size]))
        else:
            self.rejected[status] += 1
        del self._buf[: size or 1]
        return True

    def _drop(self, count: int) -> None:
        self.rejected[DROPPED_BYTES] += count
        del self._buf[:count]


def next_seq(seq: int) -> int:
    return (seq + 1) & 0xFF


def request(cmd: Command, seq: int, payload: bytes = b"") -> Frame:
    return Frame(seq & 0xFF, int(cmd), payload)


def set_relays(seq: int, mask: int) -> Frame:
    return request(Command.SET_RELAYS, seq, bytes((mask,)))


def emergency_renew(seq: int, mask: int) -> Frame:
    return request(Command.EMERGENCY_RENEW, seq, bytes((mask,)))


def is_reply_to(reply: Frame, sent: Frame) -> bool:
    """Replies echo the request's sequence number and carry its code | REPLY_BIT, or NAK."""
    return reply.seq == sent.seq and reply.cmd in (sent.cmd | REPLY_BIT, NAK_CODE)


def parse_reply(frame: Frame) -> Reply:
    """The meaning of a reply frame; FrameError for a code or payload the protocol does not define."""
    if frame.cmd == NAK_CODE:
        return _parse_nak(frame.payload)
    parser = _REPLY_PARSERS.get(frame.cmd)
    if parser is None:
        raise FrameError(f"{UNKNOWN_COMMAND}: reply code 0x{frame.cmd:02X}")
    return parser(frame.payload)


def _need(payload: bytes, size: int, what: str) -> bytes:
    if len(payload) != size:
        raise FrameError(f"{BAD_PAYLOAD}: {what} needs {size} bytes, got {len(payload)}")
    return payload


def _parse_version(payload: bytes) -> Version:
    p = _need(payload, 6, "version")
    return Version(p[0], (p[1], p[2], p[3]), p[4], p[5])


def _parse_heartbeat(payload: bytes) -> HeartbeatAck:
    return HeartbeatAck(int.from_bytes(_need(payload, 2, "heartbeat ack"), "big"))


def _parse_relays(payload: bytes) -> RelayState:
    p = _need(payload, 2, "relay state")
    return RelayState(p[0], p[1])


def _counted(payload: bytes, item_size: int, what: str) -> int:
    """Item count of a payload laid out as count u8 + count items, checked against its length."""
    if not payload:
        raise FrameError(f"{BAD_PAYLOAD}: {what} is empty")
    _need(payload, 1 + payload[0] * item_size, what)
    return payload[0]


def _parse_sensors(payload: bytes) -> SensorLevels:
    count = _counted(payload, 2, "sensor levels")
    return SensorLevels(struct.unpack_from(f">{count}h", payload, 1))


def _parse_renewed(payload: bytes) -> Renewed:
    return Renewed(_need(payload, 1, "renewed mask")[0])


def _parse_stats(payload: bytes) -> Stats:
    count = _counted(payload, 2, "stats")
    values = struct.unpack_from(f">{count}H", payload, 1)
    names = COUNTER_NAMES + tuple(f"counter_{i}" for i in range(len(COUNTER_NAMES), count))
    return Stats(tuple(zip(names, values)))  # a newer firmware's extra counters keep a neutral name


def _parse_nak(payload: bytes) -> Nak:
    p = _need(payload, 3, "nak")
    try:
        return Nak(NakReason(p[0]), p[1], p[2])
    except ValueError:
        raise FrameError(f"{BAD_PAYLOAD}: unknown NAK reason {p[0]}") from None


_REPLY_PARSERS: dict[int, Callable[[bytes], Reply]] = {
    Command.GET_VERSION | REPLY_BIT: _parse_version,
    Command.HEARTBEAT | REPLY_BIT: _parse_heartbeat,
    Command.SET_RELAYS | REPLY_BIT: _parse_relays,
    Command.GET_RELAYS | REPLY_BIT: _parse_relays,
    Command.READ_SENSORS | REPLY_BIT: _parse_sensors,
    Command.EMERGENCY_RENEW | REPLY_BIT: _parse_renewed,
    Command.GET_STATS | REPLY_BIT: _parse_stats,
}

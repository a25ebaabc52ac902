"""The firmware's codec of the wire format: encode a frame, decode exactly one, or deframe a byte stream.

Frame: SOF(0xA5) LEN SEQ CMD PAYLOAD[LEN] CRC16-hi CRC16-lo; the CRC covers LEN..PAYLOAD. A bad frame is dropped,
counted and never repaired: the stream parser drops its start byte and resynchronises on the next one.
Imports only firmware.crc16, .counters, .ticks and .wire; must not import machine or the agent.
"""

from firmware.counters import Counters
from firmware.crc16 import crc16
from firmware.ticks import ticks_diff
from firmware.wire import C_BAD_CRC, C_BAD_LENGTH, C_DROPPED_BYTES, C_TRUNCATED, MAX_PAYLOAD, OVERHEAD, SOF

# Results of scan(); the error ones name the reason strings that both codecs use.
OK = "ok"
NEED_MORE = "truncated"
BAD_LENGTH = "bad_length"
BAD_CRC = "bad_crc"
NO_START = "no_start"

_SOF_BYTES = bytes((SOF,))
_SCAN_COUNTER = {BAD_LENGTH: C_BAD_LENGTH, BAD_CRC: C_BAD_CRC}


class FrameError(ValueError):
    """A frame is malformed; `reason` is one of no_start, truncated, bad_length, bad_crc."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(seq: int, cmd: int, payload: bytes = b"") -> bytes:
    """The bytes of one frame."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload too long")
    body = bytes((len(payload), seq & 0xFF, cmd & 0xFF)) + bytes(payload)
    crc = crc16(body)
    return _SOF_BYTES + body + bytes((crc >> 8, crc & 0xFF))


def scan(buf: bytes) -> "tuple[str, int]":
    """Classify the frame that starts at buf[0] (a start byte): (OK, size), (NEED_MORE, 0) or (error, 0)."""
    if len(buf) < 2:
        return NEED_MORE, 0
    if buf[1] > MAX_PAYLOAD:
        return BAD_LENGTH, 0
    size = buf[1] + OVERHEAD
    if len(buf) < size:
        return NEED_MORE, 0
    if crc16(buf, 1, size - 2) != (buf[size - 2] << 8) | buf[size - 1]:
        return BAD_CRC, 0
    return OK, size


def fields(frame: bytes) -> "tuple[int, int, bytes]":
    """(seq, cmd, payload) of a frame that scan() accepted."""
    return frame[2], frame[3], bytes(frame[4 : len(frame) - 2])


def decode(data: bytes) -> "tuple[int, int, bytes]":
    """(seq, cmd, payload) of data holding exactly one frame; otherwise FrameError."""
    if not data or data[0] != SOF:
        raise FrameError(NO_START if data else NEED_MORE)
    status, size = scan(data)
    if status != OK:
        raise FrameError(status)
    if size != len(data):
        raise FrameError(BAD_LENGTH)  # bytes after the CRC: the length byte disagrees with the frame
    return fields(data)


class Deframer:
    """Cuts a byte stream into valid frames; counts every rejected frame and every byte dropped between frames."""

    def __init__(self, counters: Counters, timeout_ms: int = 100) -> None:
        self._counters = counters
        self._timeout_ms = timeout_ms  # a partial frame silent this long is truncated
        self._buf = b""
        self._last_ms = 0

    def feed(self, data: bytes, now_ms: int) -> "list[tuple[int, int, bytes]]":
        """Frames completed by data, in order."""
        if data:
            self._buf += bytes(data)
            self._last_ms = now_ms
        frames: list[tuple[int, int, bytes]] = []
        while self._step(frames):
            pass
        return frames

    def poll(self, now_ms: int) -> "list[tuple[int, int, bytes]]":
        """Expire a partial frame nobody finished; frames hidden behind it are still delivered."""
        if not self._buf or ticks_diff(now_ms, self._last_ms) < self._timeout_ms:
            return []
        self._counters.bump(C_TRUNCATED)
        self._buf = self._buf[1:]
        frames = self.feed(b"", now_ms)
        self._buf = b""  # what is still incomplete has gone silent too
        return frames

    def pending(self) -> int:
        return len(self._buf)

    def _step(self, frames: "list[tuple[int, int, bytes]]") -> bool:
        start = self._buf.find(_SOF_BYTES)
        self._drop(len(self._buf) if start < 0 else start)
        if not self._buf:
            return False
        status, size = scan(self._buf)
        if status == NEED_MORE:
            return False
        if status == OK:
            frames.append(fields(self._buf[:size]))
            self._buf = self._buf[size:]
            return True
        self._counters.bump(_SCAN_COUNTER[status])
        self._buf = self._buf[1:]  # only the start byte: the real next frame may begin inside this one
        return True

    def _drop(self, count: int) -> None:
        if count:
            self._counters.bump(C_DROPPED_BYTES, count)
            self._buf = self._buf[count:]

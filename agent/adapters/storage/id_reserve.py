"""Room set aside for command ids while the disk is full, so that no command runs twice after a restart.

A command id must be on disk before the command is carried out: a unit restarted while the broker still holds the
command (no PUBACK yet), or a province re-sending the same token, must find the id and refuse the replay. On a full
disk SQLite cannot write (its WAL must grow), so the store falls back to this file: a fixed number of slots written
in full at start-up, while there is room, and afterwards only overwritten in place — overwriting blocks a file already
owns needs no free space. Each slot carries a CRC, so a slot torn by a power cut reads as empty.

Must not import the core, paho or sqlite3.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from agent.adapters.storage.durable_files import write_atomically
from agent.errors import StoreError

JTI_MAX_BYTES = 512  # the verifier takes ids of up to 128 characters: 512 bytes of UTF-8 at most
HEAD = struct.Struct(">IqH")  # crc32 of the rest, keep_until_s, length of the id in bytes
SLOT_BYTES = HEAD.size + JTI_MAX_BYTES
SLOTS = 1024  # more ids than a unit receives in the hour an id is kept; 0.5 MiB on the card


class IdReserve:
    """A file of SLOTS fixed slots; a slot is reused once its id has expired."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():  # written through (not sparse) and renamed into place: all its blocks, or no file
            write_atomically(path, bytes(SLOT_BYTES * SLOTS))
        self._fd = os.open(path, os.O_RDWR)
        data = os.pread(self._fd, SLOT_BYTES * SLOTS, 0)
        self._slots = [_decode(data[i * SLOT_BYTES:(i + 1) * SLOT_BYTES]) for i in range(SLOTS)]

    def remember(self, jti: str, keep_until_s: int, now_s: int) -> None:
        raw = jti.encode()
        if len(raw) > JTI_MAX_BYTES:
            raise StoreError(f"command id of {len(raw)} bytes does not fit the reserve {self.path}")
        free = next((i for i, slot in enumerate(self._slots) if slot is None or slot[1] < now_s), None)
        if free is None:
            raise StoreError(f"the reserve for command ids {self.path} is full ({SLOTS} ids not yet expired)")
        body = HEAD.pack(0, keep_until_s, len(raw))[4:] + raw
        slot = struct.pack(">I", zlib.crc32(body)) + body
        try:
            os.pwrite(self._fd, slot.ljust(SLOT_BYTES, b"\0"), free * SLOT_BYTES)
            os.fdatasync(self._fd)
        except OSError as exc:
            raise StoreError(f"cannot write the reserve for command ids {self.path}: {exc}") from exc
        self._slots[free] = (jti, keep_until_s)

    def ids(self, now_s: int) -> dict[str, int]:
        return {slot[0]: slot[1] for slot in self._slots if slot is not None and slot[1] >= now_s}

    def close(self) -> None:
        os.close(self._fd)


def _decode(slot: bytes) -> tuple[str, int] | None:
    if len(slot) < SLOT_BYTES:
        return None
    crc, keep_until_s, length = HEAD.unpack_from(slot)
    if length > JTI_MAX_BYTES or zlib.crc32(slot[4:HEAD.size + length]) != crc:
        return None  # never written, or torn
    try:
        return slot[HEAD.size:HEAD.size + length].decode(), keep_until_s
    except UnicodeDecodeError:
        return None

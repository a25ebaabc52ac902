"""Log lines for systemd's journal. Under systemd (JOURNAL_STREAM names this process's stderr) each line goes to
journald's native socket with its priority and structured fields (LOA_UNIT: the unit's id, LOA_KEY: the staff
message key, LOGGER), and no timestamp of its own (the journal stamps it); if that socket cannot take a line, it goes
to stderr with an sd-daemon `<N>` priority prefix, which journald reads too. Elsewhere: timestamped lines on stderr.

`journalctl -u loa-agent -p warning` then shows refusals and faults only; `journalctl LOA_KEY=command_rejected`
finds every refusal. Only this file speaks the journal's protocol. Must not import the core or the runtime.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
from collections.abc import Iterable, Mapping
from typing import TextIO

SOCKET = "/run/systemd/journal/socket"
SOCKET_ENV = "LOA_JOURNAL_SOCKET"  # another journal socket (tests stand in for journald with their own)
KEY_ATTR = "loa_key"  # a record's staff message key: logger.log(level, text, extra={KEY_ATTR: key})
IDENTIFIER = "loa-agent"  # the unit file's SyslogIdentifier: native lines carry their own
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def priority(levelno: int) -> int:
    """syslog priorities: 2 critical, 3 error, 4 warning, 6 info (routine), 7 debug."""
    for floor, prio in ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6)):
        if levelno >= floor:
            return prio
    return 7


def under_journal(stream: TextIO, env: Mapping[str, str]) -> bool:
    """systemd connects stderr to the journal and says so in JOURNAL_STREAM=<device>:<inode> (a child whose stderr
    was redirected inherits the variable, so the stream itself is compared)."""
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return False
    return bool(env.get("JOURNAL_STREAM")) and env["JOURNAL_STREAM"] == f"{st.st_dev}:{st.st_ino}"


def error_prefix(stream: TextIO = sys.stderr, env: Mapping[str, str] = os.environ) -> str:
    """For a line printed before logging is set up (a config error that stops the agent): an error to the journal."""
    return f"<{priority(logging.ERROR)}>" if under_journal(stream, env) else ""


def encode(fields: Iterable[tuple[str, str]]) -> bytes:
    """The native protocol: KEY=value lines; a value with a newline as KEY, its length (64-bit LE) and the bytes."""
    out = bytearray()
    for key, value in fields:
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out)


class PrefixFormatter(logging.Formatter):
    """`<N>message` on every line (sd-daemon(3)), so journald files even a continuation line at its priority."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


class JournalHandler(logging.Handler):
    """Sends each record to journald as one datagram; falls back to prefixed stderr when the socket refuses it."""

    def __init__(self, unit_id: str, path: str, fallback: TextIO) -> None:
        super().__init__()
        self.unit_id, self.path = unit_id, path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.fallback = logging.StreamHandler(fallback)
        self.fallback.setFormatter(PrefixFormatter("%(message)s"))
        self.setFormatter(logging.Formatter("%(message)s"))

    def fields(self, record: logging.LogRecord) -> list[tuple[str, str]]:
        out = [("MESSAGE", self.format(record)), ("PRIORITY", str(priority(record.levelno))),
               ("SYSLOG_IDENTIFIER", IDENTIFIER), ("LOGGER", record.name)]
        if self.unit_id:
            out.append(("LOA_UNIT", self.unit_id))
        if key := getattr(record, KEY_ATTR, None):
            out.append(("LOA_KEY", str(key)))
        return out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sock.sendto(encode(self.fields(record)), self.path)
        except OSError:  # no journald there, or a line too long for one datagram
            self.fallback.emit(record)

    def close(self) -> None:
        self.sock.close()
        super().close()


def handler_for(unit_id: str, stream: TextIO = sys.stderr, env: Mapping[str, str] = os.environ) -> logging.Handler:
    if not under_journal(stream, env):
        plain = logging.StreamHandler(stream)
        plain.setFormatter(logging.Formatter(PLAIN_FORMAT))
        return plain
    return JournalHandler(unit_id, env.get(SOCKET_ENV, SOCKET), stream)


def setup(unit_id: str = "") -> None:
    """The process's logging: INFO and above, to the journal under systemd, else to stderr with a timestamp."""
    logging.basicConfig(level=logging.INFO, handlers=[handler_for(unit_id)], force=True)

"""The journal's side of logging: priorities, the native protocol read back by a datagram socket standing in for
journald, the `<N>` fallback on stderr, and no second timestamp under systemd."""

from __future__ import annotations

import io
import logging
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.adapters.system import journal
from tests.conftest import REPO


def decode(data: bytes) -> dict[str, str]:
    """journald's reading of a native datagram (the inverse of journal.encode)."""
    fields: dict[str, str] = {}
    while data:
        line, _, rest = data.partition(b"\n")
        if b"=" in line:
            key, _, value = line.partition(b"=")
            fields[key.decode()] = value.decode()
            data = rest
        else:
            (size,) = struct.unpack("<Q", rest[:8])
            fields[line.decode()] = rest[8:8 + size].decode()
            data = rest[8 + size + 1:]
    return fields


@pytest.fixture
def journald(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "journal.socket"))
    sock.settimeout(2)
    yield sock
    sock.close()


def stream_env(path: Path) -> tuple[io.TextIOWrapper, dict[str, str]]:
    stream = path.open("w", encoding="utf-8")
    st = os.fstat(stream.fileno())
    return stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


def record(level: int, text: str, key: str = "") -> logging.LogRecord:
    rec = logging.LogRecord("loa.agent", level, __file__, 1, text, None, None)
    if key:
        setattr(rec, journal.KEY_ATTR, key)
    return rec


def test_levels_map_to_syslog_priorities() -> None:
    levels = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
    assert [journal.priority(lv) for lv in levels] == [7, 6, 4, 3, 2]


def test_under_journal_only_when_journal_stream_names_this_stderr(tmp_path: Path) -> None:
    stream, env = stream_env(tmp_path / "err")
    other, _ = stream_env(tmp_path / "other")
    assert journal.under_journal(stream, env)
    assert not journal.under_journal(other, env)  # inherited by a child whose stderr went elsewhere
    assert not journal.under_journal(stream, {})


def test_native_lines_carry_priority_unit_key_and_no_timestamp(tmp_path: Path, journald: socket.socket) -> None:
    stream, env = stream_env(tmp_path / "err")
    handler = journal.handler_for("dev-042", stream, env | {journal.SOCKET_ENV: journald.getsockname()})
    handler.handle(record(logging.WARNING, "Lệnh bị từ chối: bad_signature", "command_rejected"))
    handler.handle(record(logging.INFO, "Đã kết nối", "link_up"))
    handler.handle(record(logging.ERROR, "two\nlines"))
    got = [decode(journald.recv(65536)) for _ in range(3)]
    assert got[0] == {"MESSAGE": "Lệnh bị từ chối: bad_signature", "PRIORITY": "4", "SYSLOG_IDENTIFIER": "loa-agent",
                      "LOGGER": "loa.agent", "LOA_UNIT": "dev-042", "LOA_KEY": "command_rejected"}
    assert (got[1]["PRIORITY"], got[1]["LOA_KEY"]) == ("6", "link_up")
    assert (got[2]["MESSAGE"], got[2]["PRIORITY"]) == ("two\nlines", "3") and "LOA_KEY" not in got[2]
    handler.close()
    stream.close()
    assert (tmp_path / "err").read_text() == ""  # nothing twice


def test_without_the_socket_lines_go_to_stderr_with_a_priority_prefix(tmp_path: Path) -> None:
    stream, env = stream_env(tmp_path / "err")
    handler = journal.handler_for("dev-042", stream, env | {journal.SOCKET_ENV: str(tmp_path / "none")})
    handler.handle(record(logging.WARNING, "refused\nsecond line", "command_rejected"))
    handler.handle(record(logging.INFO, "routine"))
    handler.close()
    stream.close()
    assert (tmp_path / "err").read_text() == "<4>refused\n<4>second line\n<6>routine\n"


def test_outside_systemd_lines_keep_their_timestamp(tmp_path: Path) -> None:
    stream, _ = stream_env(tmp_path / "err")
    handler = journal.handler_for("dev-042", stream, {})
    handler.handle(record(logging.WARNING, "refused"))
    stream.close()
    line = (tmp_path / "err").read_text()
    assert line.endswith(" WARNING refused\n") and line[:4].isdigit()


def test_a_config_error_that_stops_the_agent_is_an_error_in_the_journal(tmp_path: Path) -> None:
    stream, env = stream_env(tmp_path / "err")
    done = subprocess.run([sys.executable, "-m", "agent", "--config", str(tmp_path / "missing.toml")],
                          stderr=stream, env=os.environ | env, cwd=REPO, check=False)
    stream.close()
    lines = (tmp_path / "err").read_text().splitlines()
    assert done.returncode == 2 and lines and all(line.startswith("<3>loa agent: ") for line in lines), lines

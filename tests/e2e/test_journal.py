"""The real agent process under systemd's journal, with the test standing in for journald: JOURNAL_STREAM names the
agent's stderr and LOA_JOURNAL_SOCKET a datagram socket. Every staff line arrives there with its priority, the
unit's id and its message key, without a timestamp of its own; what `journalctl -p warning` would show (priority 4
or more urgent) is the forged command's refusal, not the routine start and connection lines. The same holds in a
real journal: a journald namespace instance of the test's own, read back with journalctl."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.adapters.system import journal
from province.console import Console
from tests.agent.adapters.system.test_journal import decode
from tests.conftest import REPO, Broker, wait_until
from tools.provision import UnitSpec, provision

START_S = 30.0
JOURNALD = "/lib/systemd/systemd-journald"  # Debian's systemd package


def read_until(sock: socket.socket, seconds: float, key: str, got: list[dict[str, str]]) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            got.append(decode(sock.recv(65536)))
        except TimeoutError:
            return
        if got[-1].get("LOA_KEY") == key:
            return


def test_refusals_are_warnings_routine_lines_are_info_with_unit_and_key(
        tmp_path: Path, keys: Path, broker: Broker, console: Console) -> None:
    config = provision(UnitSpec(device_id="jr1", trust=keys / "trust.jwks", broker_url=broker.url,
                                out=tmp_path / "jr1", broker_dir=broker.dir))
    journald = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journald.bind(str(tmp_path / "journal.socket"))
    err = (tmp_path / "agent.err").open("wb")
    st = os.fstat(err.fileno())
    env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}", **{journal.SOCKET_ENV: str(tmp_path / "journal.socket")})
    agent = subprocess.Popen([sys.executable, "-m", "agent", "--config", str(config)], env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=err)
    got: list[dict[str, str]] = []
    try:
        read_until(journald, START_S, "link_up", got)
        keyed = [g["LOA_KEY"] for g in got if "LOA_KEY" in g]  # lines of libraries (no key) may come between
        assert "agent_started" in keyed and keyed[-1] == "link_up", got
        for _ in range(15):  # sent again until refused: the unit may still be subscribing as it says link_up
            console.publish(console.topics.device_command("jr1"), b"forged: not a signed command")
            read_until(journald, 1, "command_rejected", got)
            if got and got[-1].get("LOA_KEY") == "command_rejected":
                break
    finally:
        agent.terminate()
        agent.wait(20)
        journald.close()
    by_key = {g["LOA_KEY"]: g for g in got if "LOA_KEY" in g}
    assert by_key["command_rejected"]["PRIORITY"] == "4" and "bad_token" in by_key["command_rejected"]["MESSAGE"]
    assert {by_key[k]["PRIORITY"] for k in ("agent_started", "link_up")} == {"6"}
    assert {g["LOA_UNIT"] for g in got} == {"jr1"} and {g["SYSLOG_IDENTIFIER"] for g in got} == {"loa-agent"}
    warnings = [g.get("LOA_KEY", g["MESSAGE"]) for g in got if int(g["PRIORITY"]) <= 4]
    assert warnings[-1] == "command_rejected" and "agent_started" not in warnings and "link_up" not in warnings
    assert not any(g["MESSAGE"][:4].isdigit() for g in got)  # the journal stamps the time: no second timestamp
    assert (tmp_path / "agent.err").read_bytes() == b""  # nothing written twice


@pytest.fixture
def real_journal(tmp_path: Path) -> Iterator[str]:
    """A journald of our own: a namespace instance (its socket in /run/systemd/journal.<ns>/), stopped and removed
    afterwards; `journalctl --namespace=<ns>` reads it as staff would read a unit's journal."""
    ns = f"loa-test-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
    proc = subprocess.Popen([JOURNALD, ns], stdout=subprocess.DEVNULL, stderr=(tmp_path / "journald.log").open("wb"))
    socket_path = Path(f"/run/systemd/journal.{ns}/socket")
    try:
        assert wait_until(socket_path.exists, 10), (tmp_path / "journald.log").read_text()
        yield ns
    finally:
        proc.terminate()
        proc.wait(10)
        machine = Path("/etc/machine-id").read_text().strip()
        for folder in (Path(f"/run/systemd/journal.{ns}"), Path(f"/var/log/journal/{machine}.{ns}"),
                       Path(f"/run/log/journal/{machine}.{ns}")):
            shutil.rmtree(folder, ignore_errors=True)


def journal_lines(ns: str, *args: str) -> list[dict[str, Any]]:
    out = subprocess.run(["journalctl", f"--namespace={ns}", "-o", "json", "--no-pager", *args],
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_journalctl_priority_warning_shows_the_refusal_not_the_routine_lines(
        tmp_path: Path, keys: Path, broker: Broker, console: Console, real_journal: str) -> None:
    config = provision(UnitSpec(device_id="jr2", trust=keys / "trust.jwks", broker_url=broker.url,
                                out=tmp_path / "jr2", broker_dir=broker.dir))
    err = (tmp_path / "agent.err").open("wb")
    st = os.fstat(err.fileno())
    env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}",
               **{journal.SOCKET_ENV: f"/run/systemd/journal.{real_journal}/socket"})
    agent = subprocess.Popen([sys.executable, "-m", "agent", "--config", str(config)], env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=err)
    try:
        assert wait_until(lambda: any(e.get("LOA_KEY") == "link_up" for e in journal_lines(real_journal)), START_S, 0.3)
        for _ in range(15):  # sent again until refused: the unit may still be subscribing as it says link_up
            console.publish(console.topics.device_command("jr2"), b"forged: not a signed command")
            if wait_until(lambda: journal_lines(real_journal, "LOA_KEY=command_rejected"), 1, 0.3):
                break
    finally:
        agent.terminate()
        agent.wait(20)
    warnings = journal_lines(real_journal, "-p", "warning", "LOA_UNIT=jr2")
    keys_shown = [e.get("LOA_KEY") for e in warnings]
    assert "command_rejected" in keys_shown and "link_up" not in keys_shown and "agent_started" not in keys_shown
    started = journal_lines(real_journal, "LOA_KEY=agent_started")
    assert started[0]["PRIORITY"] == "6" and started[0]["SYSLOG_IDENTIFIER"] == "loa-agent"
    assert not started[0]["MESSAGE"][:4].isdigit()  # one timestamp: the journal's

"""The real agent process under systemd's journal, with the test standing in for journald: JOURNAL_STREAM names the
agent's stderr and LOA_JOURNAL_SOCKET a datagram socket. Every staff line arrives there with its priority, the
unit's id and its message key, without a timestamp of its own; what `journalctl -p warning` would show (priority 4
or more urgent) is the forged command's refusal, not the routine start and connection lines."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from agent.adapters.system import journal
from province.console import Console
from tests.agent.adapters.system.test_journal import decode
from tests.conftest import REPO, Broker
from tools.provision import UnitSpec, provision

START_S = 30.0


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
        assert [g.get("LOA_KEY") for g in got][-2:] == ["agent_started", "link_up"], got
        console.publish(console.topics.device_command("jr1"), b"forged: not a signed command")
        read_until(journald, 15, "command_rejected", got)
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

"""`loa dashboard password FILE` writes a scrypt hash (0600) of the password; `loa dashboard` refuses to start
without one (no default password), and serves HTTPS with Secure cookies when given a certificate."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from pathlib import Path

from agent.adapters.web import passwords
from province import broker as broker_tool
from province import ca as ca_tool
from tests.conftest import REPO, Broker
from tests.tools.dashboard.dash_helpers import PASSWORD, request, start_dashboard


def loa(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": "/nonexistent"}  # no profile of this machine's
    return subprocess.run([sys.executable, "-m", "tools.cli", *argv], check=False, input=stdin, capture_output=True,
                          text=True, cwd=REPO, timeout=60, env=env)


def test_the_password_command_writes_a_private_hash_of_the_password(tmp_path: Path) -> None:
    target = tmp_path / "dash.hash"
    done = loa("dashboard", "password", str(target), "--lang", "vi", stdin="mật-khẩu-tỉnh-2026\n")
    assert done.returncode == 0 and "quyền 0600" in done.stdout, done.stderr
    assert target.stat().st_mode & 0o777 == 0o600
    assert passwords.verify("mật-khẩu-tỉnh-2026", target.read_text())
    assert not passwords.verify("mật-khẩu-tỉnh-2025", target.read_text())


def test_a_generated_password_is_printed_once_and_hashed(tmp_path: Path) -> None:
    done = loa("dashboard", "password", str(tmp_path / "dash.hash"), "--generate")
    printed = done.stdout.split("keep it safe): ")[1].split()[0]
    assert done.returncode == 0 and passwords.verify(printed, (tmp_path / "dash.hash").read_text())


def test_a_short_password_or_no_hash_is_one_line_and_exit_2(tmp_path: Path) -> None:
    short = loa("dashboard", "password", str(tmp_path / "dash.hash"), stdin="abc\n")
    assert short.returncode == 2 and "at least 10 characters" in short.stdout and not (tmp_path / "dash.hash").exists()
    for argv in (["dashboard", "--broker", "mqtt://127.0.0.1:1"],
                 ["dashboard", "--broker", "mqtt://127.0.0.1:1", "--password-hash", str(tmp_path / "none")],
                 ["dashboard", "--broker", "mqtt://127.0.0.1:1", "--password-hash", str(REPO / "README.md")]):
        done = loa(*argv)
        assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr, done
        assert len(done.stdout.strip().splitlines()) == 1 and done.stdout.startswith("loa:")
    assert "no default password" in loa("dashboard", "--broker", "mqtt://127.0.0.1:1").stdout


def test_with_a_certificate_it_serves_https_and_secure_cookies(broker: Broker, tmp_path: Path) -> None:
    authority = ca_tool.init(tmp_path / "ca")
    ca_tool.issue(authority, "dashboard", "server", tmp_path / "d.key", tmp_path / "d.pem", hosts=("127.0.0.1",))
    running = start_dashboard(broker, tmp_path, "--tls-cert", str(tmp_path / "d.pem"), "--tls-key",
                              str(tmp_path / "d.key"))
    try:
        base = running.base.replace("http://", "https://")
        context = ssl.create_default_context(cafile=str(tmp_path / "ca" / ca_tool.CA_CERT))
        status, headers, _ = request(base + "/login", {"password": PASSWORD}, context=context)
        assert status == 303 and "Secure" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]
        assert request(base + "/api/state", context=context)[0] == 401
    finally:
        running.stop()



def test_a_taken_port_is_one_line_and_exit_2(broker: Broker, tmp_path: Path) -> None:
    (tmp_path / "dash.hash").write_text(passwords.hash_password(PASSWORD) + "\n")
    access = broker.console_access()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = loa("dashboard", "--password-hash", str(tmp_path / "dash.hash"), "--port", str(taken.getsockname()[1]),
                   "--broker", access.url, "--username", access.username, "--password-file",
                   str(broker_tool.BrokerDir(broker.dir).password_file(access.username)))
    assert done.returncode == 2 and "cannot listen on 127.0.0.1:" in done.stdout, done
    assert "Traceback" not in done.stdout + done.stderr

"""Helpers for the dashboard's tests: `loa dashboard` as a real process on a free port, logged in over plain HTTP."""

from __future__ import annotations

import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from agent.adapters.web import passwords
from province import broker as broker_tool
from province.localnet import accepting, free_port
from tests.conftest import REPO, Broker, wait_until

PASSWORD = "bảng-theo-dõi-7k2m"  # not ASCII on purpose: staff type Vietnamese


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def start_dashboard(broker: Broker, tmp_path: Path, *extra: str) -> Running:
    hashed = tmp_path / "dashboard.hash"
    hashed.write_text(passwords.hash_password(PASSWORD) + "\n")
    access = broker.console_access()
    port = free_port()
    pw = broker_tool.BrokerDir(broker.dir).password_file(access.username)
    log = tmp_path / "dashboard.log"
    argv = [sys.executable, "-m", "tools.cli", "dashboard", "--password-hash", str(hashed), "--port", str(port),
            "--broker", access.url, "--username", access.username, "--password-file", str(pw), *extra]
    proc = subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=REPO,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)})
    if not wait_until(lambda: accepting(port) or proc.poll() is not None, 15) or proc.poll() is not None:
        raise AssertionError(f"loa dashboard did not start: {log.read_text(errors='replace')}")
    return Running(proc, f"http://127.0.0.1:{port}", log)


def request(url: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None,
            context: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) without following redirects."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(urllib.request.Request(url, data=body, headers=headers or {}), timeout=10) as answer:
            return int(answer.status), dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None

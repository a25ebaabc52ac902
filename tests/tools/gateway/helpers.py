"""The HTTTN emulator and the gateway as real processes (`loa gateway emulate`, `loa gateway`), for the gateway's
end-to-end tests: over real HTTP on 127.0.0.1, with the session's real Mosquitto and real agents."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from province import broker as broker_tool
from province.localnet import accepting, free_port
from tests.conftest import REPO, Broker, wait_until
from tools.gateway import profile as profiles

HERE = Path(__file__).resolve().parent
PROFILES = {"default": profiles.DEFAULT, "renamed": HERE / "renamed.toml"}
USER, PASSWORD = "loa-gw", "mật-khẩu-thử-9"


@dataclass
class Process:
    args: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "--lang", "en", *self.args],
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO)

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(15)
        return self.proc.returncode if self.proc else None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Htttn:
    """The emulated HTTTN: a `loa gateway emulate` process that can be stopped and started again on its port."""

    dir: Path
    profile: Path
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> None:
        """`extra`: more arguments, e.g. the gateway the emulator sends the HTTTN's calls to."""
        users = self.dir / "users.toml"
        users.write_text(f'"{USER}" = "{PASSWORD}"\n', encoding="utf-8")
        self.process = Process(["gateway", "emulate", "--htttn-profile", str(self.profile), "--port", str(self.port),
                                "--users", str(users), "--db", str(self.dir / "htttn.sqlite"), *extra],
                               self.dir / "emulator.log")
        self.process.start()
        assert wait_until(lambda: accepting(self.port), 10), self.process.output()

    def stop(self) -> None:
        assert self.process is not None
        assert self.process.stop() == 0, self.process.output()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return json.loads(r.read())

    def text(self, path: str) -> str:
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return str(r.read().decode())

    def post(self, path: str, body: Any, token: str = "") -> tuple[int, Any]:
        """A raw call as anyone would make it: (HTTP status, JSON reply), errors included."""
        loaded = profiles.load(self.profile).login
        headers = {"Content-Type": "application/json", loaded.header: f"{loaded.scheme} {token}"}
        req = urllib.request.Request(self.url + path, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def logs(self) -> list[dict[str, Any]]:
        return list(self.get("/emulator/logs"))


def gateway_config(tmp: Path, broker: Broker, htttn: Htttn, identity: dict[str, str] | None = None,
                   **pace: Any) -> Path:
    """A gateway.toml for the emulator and the broker: by default the session broker's console password listener;
    `identity` gives the [broker] table instead (e.g. the gateway's own certificate on a TLS broker)."""
    password = broker_tool.BrokerDir(broker.dir).password_file(broker_tool.CONSOLE)
    (tmp / "htttn.pw").write_text(PASSWORD + "\n", encoding="utf-8")
    settings = {"ping_s": 1, "concurrency": 4, "backoff_base_s": 0.2, "backoff_cap_s": 1.0, **pace}
    identity = identity or {"url": broker.console_url, "username": "console", "password_file": str(password),
                            "client_id": f"gw-{tmp.name}"}
    lines = ["[htttn]", f'profile = "{htttn.profile}"', f'url = "{htttn.url}"', f'username = "{USER}"',
             'password_file = "htttn.pw"', "", "[broker]", *(f"{k} = {json.dumps(v)}" for k, v in identity.items()),
             "", "[gateway]", 'outbox = "outbox.sqlite"', *(f"{k} = {json.dumps(v)}" for k, v in settings.items())]
    path = tmp / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start_gateway(tmp: Path, config: Path, *extra: str) -> Process:
    gateway = Process(["gateway", "--config", str(config), *extra], tmp / "gateway.log")
    gateway.start()
    assert wait_until(lambda: "Gateway running" in gateway.output(), 15), gateway.output()
    return gateway

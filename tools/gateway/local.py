"""An emulated HTTTN (`loa gateway emulate`) and the real gateway (`loa gateway --config`) as child processes on this
machine, on a `loa broker` folder: what the province-scale benchmark and `loa demo --htttn` run. Also reads what
each has stored (the emulator's and the outbox's SQLite, read-only) without adding load to their HTTP side.

Must not import the gateway's service modules: it drives the real processes as a province would.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from province import broker
from province.localnet import accepting, free_port
from tools.gateway import profile as profiles

USER = "loa-platform"


@dataclass
class Child:
    """A `loa` subcommand whose output goes to a log file (or to `echo`, one line at a time)."""

    args: list[str]
    log: Path
    lang: str = "en"
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "--lang", self.lang, *self.args],
                                         stdout=out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it is still there after 20 s; its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


@dataclass
class LocalHtttn:
    """The emulated HTTTN and the gateway between it and a broker folder, in `folder`."""

    folder: Path
    broker_root: Path
    profile: Path = profiles.DEFAULT
    ping_s: int = 60
    lang: str = "en"
    port: int = field(default_factory=free_port)
    emulator: Child | None = None
    gateway: Child | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        password = "pw-" + time.strftime("%H%M%S") + str(self.port)
        (self.folder / "users.toml").write_text(f'"{USER}" = "{password}"\n', encoding="utf-8")
        (self.folder / "htttn.pw").write_text(password + "\n", encoding="utf-8")
        self.folder.joinpath("htttn.pw").chmod(0o600)
        self.emulator = Child(["gateway", "emulate", "--htttn-profile", str(self.profile), "--port", str(self.port),
                               "--users", str(self.folder / "users.toml"), "--db", str(self.emulator_db)],
                              self.folder / "emulator.log", self.lang)
        self.emulator.start()
        if not wait_for(lambda: accepting(self.port), timeout_s):
            raise RuntimeError(f"the HTTTN emulator did not start: {self.emulator.output()[-2000:]}")
        self.gateway = Child(["gateway", "--config", str(self._config())], self.folder / "gateway.log", self.lang)
        self.gateway.start()
        if not wait_for(lambda: self.outbox_db.exists() and self._running(), timeout_s):
            raise RuntimeError(f"the gateway did not start: {self.gateway.output()[-2000:]}")

    def _running(self) -> bool:
        """The gateway's started line (it names the HTTTN's URL, in either language) comes once it has subscribed."""
        assert self.gateway is not None
        return self.gateway.proc is not None and self.gateway.proc.poll() is None and self.url in self.gateway.output()

    def _config(self) -> Path:
        access = broker.console_access(self.broker_root)
        pw = broker.BrokerDir(self.broker_root).password_file(broker.CONSOLE)
        path = self.folder / "gateway.toml"
        path.write_text("\n".join([
            "[htttn]", f"profile = {json.dumps(str(self.profile))}", f'url = "{self.url}"', f'username = "{USER}"',
            'password_file = "htttn.pw"', "", "[broker]", f'url = "{access.url}"', f'username = "{access.username}"',
            f"password_file = {json.dumps(str(pw))}", f'client_id = "loa-gateway-{self.port}"', "", "[gateway]",
            'outbox = "outbox.sqlite"', f"ping_s = {self.ping_s}", ""]), encoding="utf-8")
        return path

    def stop(self) -> dict[str, int | None]:
        """Gateway first (what it has not sent stays in its outbox), then the emulator; their exit codes."""
        return {"gateway": self.gateway.stop() if self.gateway else None,
                "emulator": self.emulator.stop() if self.emulator else None}

    # ---- what each has stored -------------------------------------------------------------------------------------

    @property
    def emulator_db(self) -> Path:
        return self.folder / "htttn.sqlite"

    @property
    def outbox_db(self) -> Path:
        return self.folder / "outbox.sqlite"

    def indicator(self) -> dict[str, Any]:
        """The emulator's own "connected / total" (over HTTP, as its page computes it)."""
        with urllib.request.urlopen(self.url + "/emulator/indicator", timeout=30) as r:
            data = json.loads(r.read())
        return {"connected": data["connected"], "total": data["total"], "areas": len(data["areas"])}

    def pings(self, within_s: float) -> tuple[int, int, int]:
        """(clusters that ever pinged, clusters whose last ping is younger than within_s, pings taken in all)."""
        since = int((time.time() - within_s) * 1000)
        row = _one(self.emulator_db, "SELECT COUNT(*), COALESCE(SUM(last_ms >= ?), 0), COALESCE(SUM(pings), 0) "
                   "FROM clusters", (since,))
        return int(row[0]), int(row[1]), int(row[2])

    def logs_since(self, n: int) -> list[tuple[int, str, int, dict[str, Any]]]:
        """The bulletin and display logs the emulator took after row n: (n, cluster, at_ms, body)."""
        rows = _all(self.emulator_db, "SELECT n, cluster, at_ms, body FROM logs WHERE n > ? ORDER BY n", (n,))
        return [(int(r[0]), str(r[1]), int(r[2]), json.loads(r[3])) for r in rows]

    def last_log(self) -> int:
        return int(_one(self.emulator_db, "SELECT COALESCE(MAX(n), 0) FROM logs", ())[0])

    def backlog(self) -> int:
        """Items in the gateway's outbox still waiting to be taken by the HTTTN."""
        return int(_one(self.outbox_db, "SELECT COUNT(*) FROM outbox WHERE state = 'due'", ())[0])


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def _one(path: Path, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
    rows = _all(path, sql, params)
    return rows[0] if rows else (0, 0, 0)


def _all(path: Path, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    if not path.exists():
        return []
    db = _connect(path)
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # the table is not made yet
        return []
    finally:
        db.close()


def wait_for(done: Callable[[], bool], timeout_s: float) -> bool:
    """True once `done()` holds, polled every 0.1 s; False when the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.1)
    return done()


def field_from(profile: profiles.Profile, body: str, source: str) -> str:
    """The HTTTN field a body fills from this Loa source (e.g. where the bulletin's origin goes), from the profile;
    "" where the profile does not send it."""
    for name, spec in profile.bodies[body].items():
        sources = [spec] if isinstance(spec, str) else spec.get("from", [])
        if source in ([sources] if isinstance(sources, str) else sources):
            return str(name)
    return ""

"""One unit of the fault campaign: provisioned against the campaign's broker (through a forwarder that can be cut,
or from inside a network namespace), its state folder on a small tmpfs (a disk that can be filled), a clock offset
file (agent.adapters.system.system_clock's test hook), and a sampler that watches its outbox and its memory.

Imports the agent only through tools (provisioning).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from province.localnet import free_port
from tests.fault.netcut import Forwarder, Netns
from tests.fault.rig import Rig
from tools.provision import UnitSpec, dev_clock, provision

REPO = Path(__file__).resolve().parents[2]
CLOCK_ENV = "LOA_TEST_CLOCK_OFFSET_FILE"
ZONES = (1, 2)
POWER = {"warmup_s": 0.2, "tail_s": 0.3, "stagger_s": 0.1}


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class FaultUnit:
    def __init__(self, rig: Rig, device_id: str, *, netns: Netns | None = None, tmpfs_mb: int = 24,
                 extra: dict[str, Any] | None = None, status_page: bool = False) -> None:
        """`extra`: config sections merged over the campaign's; `status_page`: the technician's page on a free port
        of 127.0.0.1 (`status_port`, password in `status_password`)."""
        self.rig, self.device_id, self.netns = rig, device_id, netns
        self.status_port = free_port() if status_page else 0
        self.status_password = "fault-campaign-status"
        self.dir = rig.root / "units" / device_id
        self.state = self.dir / "state"
        self.state.mkdir(parents=True, exist_ok=True)
        self.tmpfs = self._mount(tmpfs_mb)
        host = netns.host_ip if netns else "127.0.0.1"
        self.mqtt_proxy = Forwarder(rig.broker_port, host)
        self.http_proxy = Forwarder(rig.http.server_address[1], host) if netns else None
        self.clock_file = self.dir / "clock-offset"
        self.clock_file.write_text("0")
        self.journal = self.dir / "fake-relays.jsonl"  # off the tmpfs: the fake hardware's record is not the unit's disk
        self.journal.touch()
        (self.state / "fake-relays.jsonl").symlink_to(self.journal)
        provision(self._spec(f"mqtt://{host}:{self.mqtt_proxy.port}", extra or {}))
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self.outbox_seen: dict[tuple[str, bytes], float] = {}
        self.rss_max_kb = 0
        self.filler: Path | None = None
        self._sampling, self._closed = threading.Event(), False
        self._sampler = threading.Thread(target=self._sample_forever, daemon=True)
        self._sampler.start()

    def _spec(self, url: str, extra: dict[str, Any]) -> UnitSpec:
        return UnitSpec(device_id=self.device_id, trust=self.rig.keys / "trust.jwks", broker_url=url, out=self.dir,
                        groups=("commune-f", "province"), broker_dir=self.rig.broker_dir, extra=dev_clock({
                            "device": {"language": "en"},
                            "mqtt": {"reconnect_min_s": 0.1, "reconnect_max_s": 1.0, "keepalive_s": 5},
                            "audio": {"output": "null", "quiet_hours": "off", "cache_quota_mb": 8, **POWER},
                            "reports": {"outbox_rate_per_s": 200, "heartbeat_s": 5},
                            "hardware": {"zones": list(ZONES)}, **extra}),
                        status_port=self.status_port, status_password=self.status_password)

    def _mount(self, size_mb: int) -> bool:
        """The state folder on its own small tmpfs (a disk that can be filled); False where mounting is refused."""
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(self.state)],
                              capture_output=True, check=False)
        return done.returncode == 0

    def url(self, name: str) -> str:
        """A file's URL as the unit reaches the campaign's HTTP server."""
        if self.http_proxy is None or self.netns is None:
            return self.rig.url(name)
        return f"http://{self.netns.host_ip}:{self.http_proxy.port}/files/{name}"

    # ---- the agent process ---------------------------------------------------------------------------------

    def start(self) -> None:
        out = self.dir / f"agent-{len(self.logs)}.log"
        self.logs.append(out)
        argv = [sys.executable, "-P", "-m", "agent", "--config", str(self.dir / "config.toml")]
        env = dict(os.environ, **{CLOCK_ENV: str(self.clock_file), "LOA_LANG": "en"})
        self.proc = subprocess.Popen([*(self.netns.prefix() if self.netns else []), *argv], env=env, cwd=REPO,
                                     stdout=out.open("wb"), stderr=subprocess.STDOUT)
        self._sampling.set()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int | None:
        if not self.alive():
            return self.proc.returncode if self.proc else None
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None

    def output(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs)

    # ---- faults --------------------------------------------------------------------------------------------

    def set_clock(self, offset_s: float) -> None:
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(repr(offset_s))
        tmp.replace(self.clock_file)

    def fill_disk(self) -> None:
        """Fill the unit's disk to the last byte (tmpfs), or forbid the agent any file growth (RLIMIT_FSIZE)."""
        if not self.tmpfs:
            if self.alive():
                assert self.proc is not None
                resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (0, 0))
            return
        self.filler = self.state / "filler.bin"
        with contextlib.suppress(OSError), self.filler.open("wb") as f:
            while True:
                f.write(b"\0" * (1 << 20))
        with contextlib.suppress(OSError), self.filler.open("ab") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()

    def free_disk(self) -> None:
        if self.filler is not None:
            self.filler.unlink(missing_ok=True)
            self.filler = None
        elif self.alive():
            assert self.proc is not None
            resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    def fail_relays(self, failing: bool) -> None:
        """While failing, every switch and read-back of the unit's fake relays raises (agent.fakes.relays)."""
        switch = self.journal.with_name(self.journal.name + ".fail")
        if failing:
            switch.touch()
        else:
            switch.unlink(missing_ok=True)

    def cut(self) -> None:
        (self.netns.cut if self.netns else self.mqtt_proxy.cut)()

    def restore(self) -> None:
        (self.netns.restore if self.netns else self.mqtt_proxy.restore)()

    # ---- watching ------------------------------------------------------------------------------------------

    def _sample_forever(self) -> None:
        while not self._closed:
            if self._sampling.wait(0.2):
                self.sample()
                time.sleep(0.05)

    def sample(self) -> None:
        """Every report committed to the outbox (what the agent promised to deliver), and the agent's memory."""
        if self.proc is not None:
            self.rss_max_kb = max(self.rss_max_kb, rss_kb(self.proc.pid))
        for topic, payload in self.outbox_rows():
            self.outbox_seen.setdefault((topic, payload), time.monotonic())

    def outbox_rows(self) -> list[tuple[str, bytes]]:
        return self._query("SELECT topic, payload FROM outbox")

    def outbox_count(self) -> int | None:
        rows = self._query("SELECT count(*) FROM outbox")
        return int(rows[0][0]) if rows else None

    def _query(self, sql: str) -> list[Any]:
        db = self.state / "agent.sqlite3"
        if not db.exists():
            return []
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.5)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            return []

    def integrity(self) -> str:
        db = self.state / "agent.sqlite3"
        if not db.exists():
            return "ok"
        con = sqlite3.connect(db, timeout=5)
        try:
            return str(con.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            con.close()

    def journal_entries(self) -> list[dict[str, Any]]:
        lines = self.journal.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def close(self) -> None:
        self.stop()
        self._sampling.clear()
        self._closed = True
        self.free_disk()
        self.mqtt_proxy.close()
        if self.http_proxy:
            self.http_proxy.close()
        if self.tmpfs:
            subprocess.run(["umount", "-l", str(self.state)], capture_output=True, check=False)

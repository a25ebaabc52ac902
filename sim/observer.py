"""The server's view of the fleet: `mosquitto_sub` subscribed to report topics, each line stamped by it (in C, at
arrival) as `<unix time with ns> <topic> <payload>`. Thousands of acks a second then cost the controller's Python
nothing while they arrive; they are parsed afterwards. Credentials go in an options file (0600), never in argv.

Must not import paho or the agent's runtime.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from province.files import write_private


@dataclass(frozen=True)
class Report:
    t: float  # wall time of arrival at the observer
    device: str
    kind: str
    body: dict[str, Any]


class Observer:
    def __init__(self, url: str, username: str, password: str, topics: list[str], workdir: Path, ca: str = "") -> None:
        exe = shutil.which("mosquitto_sub")
        if exe is None:
            raise RuntimeError("mosquitto_sub is not installed (apt-get install mosquitto-clients)")
        options = workdir / "observer-config"
        write_private(options / "mosquitto_sub", f"-u {username}\n-P {password}\n" if username else "")
        self.lines: list[bytes] = []
        self.counts: dict[bytes, int] = {}  # acks by state
        self.kinds: dict[bytes, int] = {}  # reports by kind
        self._proc = subprocess.Popen(self._argv(exe, url, topics, ca), stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, env={"XDG_CONFIG_HOME": str(options), "PATH": ""})
        self._reader = threading.Thread(target=self._read, name="observer", daemon=True)
        self._reader.start()

    @staticmethod
    def _argv(exe: str, url: str, topics: list[str], ca: str) -> list[str]:
        u = urlsplit(url)
        tls = u.scheme == "mqtts"
        argv = [exe, "-h", u.hostname or "localhost", "-p", str(u.port or (8883 if tls else 1883)), "-q", "1",
                "-V", "mqttv5", "-F", "%U %t %p", "-i", f"loa-sim-observer-{int(time.time())}"]
        if tls:
            argv += ["--cafile", ca] if ca else ["--capath", "/etc/ssl/certs"]
        for t in topics:
            argv += ["-t", t]
        return argv

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self.lines.append(line)
            parts = line.split(b" ", 2)
            if len(parts) == 3:
                kind = parts[1][parts[1].rfind(b"/") + 1:]
                self.kinds[kind] = self.kinds.get(kind, 0) + 1
            state = _state_of(line)
            if state:
                self.counts[state] = self.counts.get(state, 0) + 1

    def count(self, state: str) -> int:
        return self.counts.get(state.encode(), 0)

    def count_kind(self, kind: str) -> int:
        return self.kinds.get(kind.encode(), 0)

    def wait_for(self, topic_tail: bytes, timeout_s: float) -> bool:
        """True once a line whose topic ends with `topic_tail` has arrived (used with a probe message)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(topic_tail in ln.split(b" ", 2)[1] for ln in self.lines[-50:] if ln.count(b" ") >= 2):
                return True
            time.sleep(0.05)
        return False

    def reports(self, since: int = 0) -> list[Report]:
        return [r for r in (_parse(ln) for ln in self.lines[since:]) if r is not None]

    @property
    def pid(self) -> int:
        return self._proc.pid

    def close(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._reader.join(2)


def _state_of(line: bytes) -> bytes | None:
    at = line.find(b'"state":"')
    return line[at + 9:line.find(b'"', at + 9)] if at >= 0 else None


def _parse(line: bytes) -> Report | None:
    try:
        stamp, topic, payload = line.rstrip(b"\n").split(b" ", 2)
        parts = topic.decode().split("/")
        body = json.loads(payload)
        return Report(float(stamp), parts[-2], parts[-1], body if isinstance(body, dict) else {})
    except (ValueError, IndexError, UnicodeDecodeError):
        return None

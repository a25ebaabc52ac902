"""A real NTP server for the tests: chronyd (Debian's, unpacked into .cache/chrony by `setup.sh --dev`) serving
this machine's clock as a local reference on 127.0.0.1:<free UDP port>, never touching the clock (-x).

chronyd only runs as root (it says "Not superuser" otherwise); the tests that need it say so when it cannot run.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import ntplib

REPO = Path(__file__).resolve().parents[1]
CACHED = REPO / ".cache" / "chrony" / "usr" / "sbin" / "chronyd"
READY_S = 10.0


def chronyd_binary() -> Path:
    if CACHED.is_file():
        return CACHED
    found = shutil.which("chronyd") or (shutil.which("chronyd", path="/usr/sbin:/sbin"))
    if not found:
        raise RuntimeError(f"no chronyd: run `./setup.sh --dev` (it unpacks Debian's chrony into {CACHED.parent.parent.parent})")
    return Path(found)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Chronyd:
    """`with Chronyd(tmp) as ntp:` serves NTP on ntp.server ("127.0.0.1:<port>") until the block ends."""

    def __init__(self, folder: Path, stratum: int = 8) -> None:
        self.dir, self.port = folder, free_udp_port()
        self.server = f"127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "chrony.conf").write_text(
            f"local stratum {stratum}\nallow 127.0.0.1\nport {self.port}\ncmdport 0\n"
            f"pidfile {folder / 'chronyd.pid'}\ndriftfile {folder / 'chrony.drift'}\n")
        self.log = folder / "chronyd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        argv = [str(chronyd_binary()), "-x", "-d", "-f", str(self.dir / "chrony.conf"), "-u", "root"]
        self.proc = subprocess.Popen(argv, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_S
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chronyd did not serve on {self.server}: {self.log.read_text(errors='replace')}")
            time.sleep(0.1)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def _answers(self) -> bool:
        try:
            ntplib.NTPClient().request("127.0.0.1", port=self.port, version=4, timeout=0.3)
        except (ntplib.NTPException, OSError):
            return False
        return True

"""Provisioning puts no secret on a command line (every local user can read /proc/*/cmdline), and a unit's broker
password lands in its bundle 0600 from the first byte, never through a planted symlink."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Self

import pytest

from agent.errors import ConfigError
from province import broker
from tests.conftest import REPO
from tools.provision import PASSWORD, UnitSpec, provision

UNITS = 15

PROVISION = """
import sys
from pathlib import Path
from typing import Self
from tools.provision import UnitSpec, provision
broker_dir, keys, out = map(Path, sys.argv[1:4])
for i in range(int(sys.argv[4])):
    provision(UnitSpec(f"cmdline-{i}", keys / "trust.jwks", "mqtt://127.0.0.1:1883", out / f"u{i}",
                       groups=("xa-a",), broker_dir=broker_dir))
"""


class CmdlineScanner:
    """Reads every process's argument list, over and over, until stopped."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self.passes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        self.seen.add(Path(f"/proc/{pid}/cmdline").read_bytes())
                    except OSError:
                        pass
            self.passes += 1


def test_no_password_is_ever_on_a_command_line_while_units_are_provisioned(tmp_path: Path, keys: Path):
    broker.init(tmp_path / "broker", 1883)
    with CmdlineScanner() as scanner:
        done = subprocess.run([sys.executable, "-c", PROVISION, str(tmp_path / "broker"), str(keys),
                               str(tmp_path / "units"), str(UNITS)], cwd=REPO, capture_output=True, text=True,
                              timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    passwords = [(tmp_path / "units" / f"u{i}" / PASSWORD).read_text().strip() for i in range(UNITS)]
    b = broker.BrokerDir(tmp_path / "broker")
    passwords.append(b.password_file(broker.CONSOLE).read_text().strip())
    assert scanner.passes > 10 and len(scanner.seen) > 1
    leaked = [cmd.replace(b"\0", b" ").decode(errors="replace") for cmd in scanner.seen
              if any(p.encode() in cmd for p in passwords)]
    assert leaked == []
    assert all(line.split(":")[1].startswith("$7$101$") for line in b.passwd.read_text().splitlines())


def test_the_bundles_broker_password_is_never_written_through_a_planted_symlink(tmp_path: Path, keys: Path):
    broker.init(tmp_path / "broker", 1883)
    theirs = tmp_path / "theirs"
    theirs.write_text("")
    theirs.chmod(0o644)
    out = tmp_path / "unit"
    out.mkdir()
    (out / PASSWORD).symlink_to(theirs)
    with pytest.raises(ConfigError, match="symbolic link"):
        provision(UnitSpec("planted", keys / "trust.jwks", "mqtt://127.0.0.1:1883", out,
                           broker_dir=tmp_path / "broker"))
    assert theirs.read_text() == "" and stat.S_IMODE(theirs.stat().st_mode) == 0o644

"""The launcher in exec mode, as systemd runs it: it applies the trial marker, then becomes the agent (same PID) in
the right slot; a trial still unproven at the next start is switched back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import agent
from agent.adapters.system.release_bundle import pack_payload, write_bundle
from agent.adapters.system.release_slots import ReleaseSlots
from tests.conftest import REPO, Unit, wait_until


def exec_launcher(unit: Unit) -> subprocess.Popen[bytes]:
    out = (unit.dir / "launcher.log").open("ab")
    return subprocess.Popen([sys.executable, "-P", "-m", "agent.app.launcher", "--config", str(unit.config)],
                            stdout=out, stderr=subprocess.STDOUT, cwd=REPO)


def became_agent(proc: subprocess.Popen[bytes]) -> bool:
    try:
        return b"-m\0agent\0" in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    except OSError:
        return False


def env_of(proc: subprocess.Popen[bytes]) -> dict[str, str]:
    raw = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def test_exec_mode_tries_a_pending_release_then_rolls_it_back_if_it_never_proved_healthy(
        make_unit: Callable[..., Unit], tmp_path: Path) -> None:
    unit = make_unit(start=False, mqtt={"url": "mqtt://127.0.0.1:9"})  # no broker: the trial can never prove itself
    slots = ReleaseSlots(unit.dir / "state" / "releases")
    bundle = tmp_path / "b.bundle"
    write_bundle(bundle, "T", pack_payload(Path(agent.__file__).parent, 0), 0)
    slots.install("b", bundle, {"version": "0.2.0"}, max_bytes=10**8)
    slots.write_trial({"jti": "u1", "version": "0.2.0", "slot": "b", "previous": "base", "state": "pending"})

    proc = exec_launcher(unit)
    try:
        assert wait_until(lambda: became_agent(proc), 15), (unit.dir / "launcher.log").read_text()
        assert env_of(proc)["PYTHONPATH"] == str(slots.root.resolve() / "b") and env_of(proc)["LOA_LAUNCHER"] == "1"
        assert slots.current() == "b" and (slots.read_trial() or {}).get("state") == "trying"
    finally:
        stop(proc)  # the trial never got to its health check (no broker): it did not prove healthy

    proc = exec_launcher(unit)
    try:
        assert wait_until(lambda: became_agent(proc), 15)
        assert "PYTHONPATH" not in env_of(proc) and slots.current() == "base" and slots.read_trial() is None
        outcome = slots.read_outcome() or {}
        assert outcome.get("code") == "update_no_start" and outcome.get("jti") == "u1"
    finally:
        stop(proc)
    assert os.path.exists(slots.root / "b" / "agent" / "__main__.py")  # kept for a later look, never run again

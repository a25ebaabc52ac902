"""Starts the agent from the active release slot, as a bootloader starts a system: it honours the trial marker (a new
release is tried once; one that has not marked itself good by the next start is switched back), then either becomes
the agent (exec, under systemd, which starts the service again whenever the agent stops) or supervises it
(`--supervise`: restarts it itself, and stops a trial that is not healthy within `[update] start_s`).

    python -P -m agent.app.launcher --config /var/lib/loa/config.toml [--supervise]

It runs from the installed package, never from a slot, so a broken release cannot break it. Decisions are in
agent.core.trial. Must not import the runtime, paho, vlc or sqlite3.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from agent import i18n
from agent.adapters.system import journal
from agent.adapters.system.release_slots import ReleaseSlots
from agent.config import unit as config
from agent.core import trial
from agent.errors import LoaError

ENV_FLAG = "LOA_LAUNCHER"  # tells the agent that someone restarts it into a new slot (updates are possible)
QUICK_EXIT_S = 10.0
STOP_WAIT_S = 10.0
log = logging.getLogger("loa.launcher")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Launcher:
    def __init__(self, cfg: config.Config, config_path: Path) -> None:
        self.cfg, self.config_path = cfg, config_path.resolve()
        self.slots = ReleaseSlots(cfg.state_dir / "releases")

    def say(self, level: int, key: str, **params: Any) -> None:
        log.log(level, "%s", i18n.render(self.cfg.device.language, key, params), extra={journal.KEY_ATTR: key})

    # ---- before every start --------------------------------------------------------------------------------

    def prepare(self) -> str:
        """Carry out the plan (outcome, switch, trial marker, in that order); returns the slot to run."""
        current = self.slots.current()
        try:
            return self._apply(trial.plan(self.slots.read_trial(), current, now_ms()))
        except LoaError as exc:  # a full or read-only card: run what is there rather than nothing
            self.say(logging.ERROR, "launcher_error", reason=str(exc))
            return current

    def _apply(self, boot: trial.Boot) -> str:
        if boot.outcome and self.slots.read_outcome() is None:
            self.slots.write_outcome(boot.outcome)
        if boot.switch_to:
            self.slots.switch(boot.switch_to)
        if boot.trial:
            self.slots.write_trial(boot.trial)
        if boot.clear_trial:
            self.slots.clear_trial()
        if boot.note:
            self.say(logging.WARNING if boot.note != "launcher_trial" else logging.INFO, boot.note,
                     ver=(boot.trial or boot.outcome or {}).get("version", "?"), slot=boot.run)
        return boot.run

    def argv(self) -> list[str]:
        return [sys.executable, "-P", "-m", "agent", "--config", str(self.config_path)]

    def env(self, slot: str) -> dict[str, str]:
        env = dict(os.environ, **{ENV_FLAG: "1"})
        code = self.slots.code_dir(slot)
        if code is None:
            env.pop("PYTHONPATH", None)
        else:
            env["PYTHONPATH"] = str(code)
        return env

    def cwd(self, slot: str) -> Path:
        folder = self.slots.code_dir(slot) or self.cfg.state_dir
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # ---- exec (under systemd) ------------------------------------------------------------------------------

    def exec_agent(self) -> None:
        slot = self.prepare()
        os.chdir(self.cwd(slot))
        logging.shutdown()
        os.execve(sys.executable, self.argv(), self.env(slot))


def _die_with_parent() -> None:
    """In the child: SIGTERM when the launcher dies, so an agent never outlives its supervisor (Linux prctl)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Supervisor(Launcher):
    """Stands in for systemd where it is absent (tests, a bench): start, wait, watch a trial, start again."""

    def __init__(self, cfg: config.Config, config_path: Path) -> None:
        super().__init__(cfg, config_path)
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        quick = 0
        while not self.stopping:
            slot = self.prepare()
            started = time.monotonic()
            code = self._run_once(slot)
            if self.stopping:
                break
            self._after_exit(slot, code)
            quick = quick + 1 if time.monotonic() - started < QUICK_EXIT_S else 0
            self._pause(self._delay(quick, code))
        return 0

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def _run_once(self, slot: str) -> int:
        self.child = subprocess.Popen(self.argv(), env=self.env(slot), cwd=self.cwd(slot),
                                      preexec_fn=_die_with_parent)  # noqa: PLW1509 (no threads here)
        if trial.on_trial(self.slots.read_trial(), slot):
            return self._watch_trial(self.child, time.monotonic() + self.cfg.update.start_s)
        return self.child.wait()

    def _watch_trial(self, child: subprocess.Popen[bytes], deadline: float) -> int:
        """Poll until the child exits or keeps the release; past the deadline, the trial is stopped."""
        while (code := child.poll()) is None:
            marker = self.slots.read_trial()
            if not trial.trying(marker):
                return child.wait()  # kept (the marker is gone): from now on, an ordinary agent
            if time.monotonic() > deadline:
                return self._stop_trial(child, marker or {})
            time.sleep(0.2)
        return code

    def _stop_trial(self, child: subprocess.Popen[bytes], marker: dict[str, Any]) -> int:
        reason = f"it was not healthy within {self.cfg.update.start_s} s"
        if self.slots.read_outcome() is None:
            self.slots.write_outcome(trial.outcome(marker, reason))
        self.say(logging.ERROR, "launcher_deadline", ver=marker.get("version", "?"), s=self.cfg.update.start_s)
        child.terminate()
        try:
            return child.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait()

    def _after_exit(self, slot: str, code: int) -> None:
        marker = self.slots.read_trial()
        if trial.on_trial(marker, slot) and self.slots.read_outcome() is None:
            assert marker is not None
            self.slots.write_outcome(trial.outcome(marker, f"it stopped with exit code {code}"))

    def _delay(self, quick: int, code: int) -> float:
        marker = self.slots.read_trial()
        if marker is not None and marker.get("state") == "pending":
            return 0.0  # the agent stopped to restart into a new release
        delay = trial.restart_delay_s(quick)
        self.say(logging.WARNING, "launcher_restart", code=code, delay=delay)
        return delay

    def _pause(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < until:
            time.sleep(min(0.1, until - time.monotonic()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="loa launch", description="start the agent from the active release slot")
    p.add_argument("--config", required=True)
    p.add_argument("--supervise", action="store_true", help="restart the agent here instead of under systemd")
    args = p.parse_args(argv)
    try:
        cfg = config.load(args.config)
    except LoaError as exc:
        for line in str(exc).splitlines():
            print(f"{journal.error_prefix()}loa launch: {line}", file=sys.stderr)
        return 2
    journal.setup(cfg.device.id)
    if args.supervise:
        return Supervisor(cfg, Path(args.config)).run()
    Launcher(cfg, Path(args.config)).exec_agent()
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())

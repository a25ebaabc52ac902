"""The live progress line in the terminal while a run goes on (rewritten in place on a terminal, a line every
5 s otherwise). Runs on its own thread in the controller, never in a shard. Must not import paho or the agent.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO


def line(s: dict[str, Any], total: int) -> str:
    acks = " ".join(f"{k} {v}" for k, v in s.get("acks", {}).items() if v)
    return (f"[{s['phase']}] t{s['t']:+7.1f}s  online {s['online']}/{total}  connects {s['connects']}  "
            f"drops {s['drops']}  sent {s['sent']}  backlog {s['backlog']}" + (f"  acks: {acks}" if acks else ""))


class Progress:
    def __init__(self, status: Callable[[], dict[str, Any]], total: int, enabled: bool = True,
                 stream: TextIO = sys.stderr) -> None:
        self.status, self.total, self.enabled, self.stream = status, total, enabled, stream
        self.tty = stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def start(self) -> None:
        if self.enabled:
            self._thread.start()

    def _run(self) -> None:
        period = 0.5 if self.tty else 5.0
        while not self._stop.wait(period):
            self._show()

    def _show(self) -> None:
        text = line(self.status(), self.total)
        self.stream.write(f"\r{text[:160]:<160}" if self.tty else text + "\n")
        self.stream.flush()

    def stop(self) -> None:
        if self.enabled and self._thread.is_alive():
            self._stop.set()
            self._thread.join(2)
            self._show()
            self.stream.write("\n" if self.tty else "")
            self.stream.flush()

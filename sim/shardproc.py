"""The controller's handle on one shard process: starts `python -m sim.shard`, hands it its spec over stdin,
and collects its JSON lines (ready, ticks, dumps) on a reader thread. The controller may use threads; shards never.

Must not import paho.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from typing import Any

from sim.spec import ShardSpec


class ShardError(RuntimeError):
    pass


class ShardProc:
    def __init__(self, spec: ShardSpec, log_path: str) -> None:
        self.spec = spec
        self.ticks: list[dict[str, Any]] = []
        self.ready: dict[str, Any] = {}
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._log = open(log_path, "wb")  # noqa: SIM115 - the shard's stderr for its whole life; closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "sim.shard"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log)
        self.send(json.loads(spec.to_json()))
        threading.Thread(target=self._read, name=f"shard-{spec.shard}", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, op: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(op) + "\n").encode())
        self.proc.stdin.flush()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = json.loads(line)
            if msg["op"] == "tick":
                self.ticks.append(msg)
            else:
                self._replies.put(msg)
        self._replies.put({"op": "exited", "rc": self.proc.wait()})

    def reply(self, op: str, timeout_s: float) -> dict[str, Any]:
        try:
            msg = self._replies.get(timeout=timeout_s)
        except queue.Empty:
            raise ShardError(f"shard {self.spec.shard}: no '{op}' within {timeout_s:g} s") from None
        if msg["op"] != op:
            raise ShardError(f"shard {self.spec.shard}: expected '{op}', got {msg} (see its log)")
        if op == "ready":
            self.ready = msg
        return msg

    def last_tick(self) -> dict[str, Any]:
        return self.ticks[-1] if self.ticks else {}

    def stop(self, timeout_s: float = 30.0) -> None:
        try:
            self.send({"op": "stop"})
            self.reply("stopped", timeout_s)
        except (ShardError, BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

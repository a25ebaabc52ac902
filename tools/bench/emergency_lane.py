"""An emergency while a normal download trickles, on one real agent: emergency `started` minus `accepted`.

Each run: a normal bulletin whose server sends one byte every 0.5 s is accepted, and one second later an emergency
spoken from text (a new text each run, so it is synthesized each time). The normal bulletin is then stopped and
its download left trickling in the background until the unit's download deadline, so later runs also meet a busy
normal lane. Times come from the agent's own clock (the ack `ts`).
Run: .venv/bin/python -m tools.bench.emergency_lane [--runs 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from agent.core.topics import Target
from province import broker, keys
from province.console import Console
from province.localnet import free_port
from tools.provision import UnitSpec, dev_clock, provision

UNIT = "bench-lane"


class _Trickle(BaseHTTPRequestHandler):
    """Any path: 64 KiB announced, one byte every 0.5 s (never a read timeout, never done)."""

    stopping = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(64 * 1024))
        self.end_headers()
        try:
            while not self.stopping.is_set():
                self.wfile.write(b"\0")
                self.wfile.flush()
                self.stopping.wait(0.5)
        except OSError:
            pass  # the unit gave up (its deadline) or went away

    def log_message(self, *_: Any) -> None:
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure(Path(tmp), args.runs), indent=2))


def measure(root: Path, runs: int) -> dict[str, Any]:
    keys.init(root / "keys")
    port = free_port()
    b = broker.init(root / "broker", port)
    mosq = broker.start(root / "broker")
    trickle = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    trickle.daemon_threads = True
    threading.Thread(target=trickle.serve_forever, daemon=True).start()
    spec = UnitSpec(UNIT, root / "keys" / keys.TRUST, f"mqtt://127.0.0.1:{port}", root / "unit",
                    broker_dir=root / "broker", audio="null", quiet_hours="off",
                    extra=dev_clock({"audio": {"warmup_s": 0.2, "tail_s": 0.2, "stagger_s": 0.0}, "hardware": {"zones": [1]},
                           "sources": {"download_deadline_s": 30}}))
    agent = subprocess.Popen([sys.executable, "-m", "tools.cli", "agent", "--config", str(provision(spec))],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    console = Console(broker.console_access(b.root))
    try:
        url = f"http://127.0.0.1:{trickle.server_address[1]}/"
        return _run(console, root, url, runs)
    finally:
        console.close()
        agent.terminate()
        agent.wait(10)
        mosq.terminate()
        _Trickle.stopping.set()
        trickle.shutdown()
        trickle.server_close()


def _run(console: Console, root: Path, url: str, runs: int) -> dict[str, Any]:
    key = keys.load_signing(root / "keys" / keys.SIGNING)
    target = Target("dev", UNIT)
    console.subscribe(console.topics.report(UNIT, "ack"))
    time.sleep(3)
    waits: list[float] = []
    for run in range(runs):
        body = os.urandom(32)  # any hash: the download never completes
        normal = console.send(key, target, "play", {"source": {"url": f"{url}n{run}.mp3",
                                                               "sha256": _sha(body)}})
        _until(console, normal, "accepted")
        time.sleep(1.0)
        emergency = console.send(key, target, "play", {"source": {"tts": f"Khẩn cấp lần {run}: lũ quét", "lang": "vi"},
                                                        "priority": "emergency"})
        acks = _until(console, emergency, "finished")
        waits.append(acks["started"]["ts"] - acks["accepted"]["ts"])
        _until(console, console.send(key, target, "stop", {"jti": normal}), "finished")
        time.sleep(0.5)
    return {"runs": runs, "emergency_started_minus_accepted_ms": {
        "p50": statistics.median(waits), "max": max(waits), "min": min(waits)}}


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _until(console: Console, jti: str, state: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for _topic, payload, _ in console.messages(time.monotonic() + 30):
        ack = json.loads(payload)
        if ack.get("jti") == jti:
            seen[ack["state"]] = ack
            if ack["state"] in (state, "failed", "rejected"):
                break
    if state not in seen:
        raise RuntimeError(f"command {jti} did not reach {state}: {seen}")
    return seen


if __name__ == "__main__":
    main()

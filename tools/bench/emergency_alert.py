"""How soon an emergency still downloading sounds: on one real agent (libVLC, espeak-ng, fake relays), over many
emergencies whose audio a local server trickles, the alert tone's start, the spoken title's start and the
bulletin's start after `accepted`, and whether the amplifier stayed on from the alert to the bulletin's end.

Run: .venv/bin/python -m tools.bench.emergency_alert [--runs 20] [--output null] [--warmup 1.0]
Times come from the agent's own clock: the `accepted` ack (stamped when the command is handled) and the play-log
records' `started_ts` (the player saw audio reach the output), so the broker's latency is not counted.
Every run uses a new file (a new SHA-256) and a new title, so nothing comes from a cache.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from agent.core.topics import Target
from agent.fakes.relays import read_journal
from province import broker, keys
from province.console import Console
from province.localnet import free_port
from tools.http_files import BulletinServer
from tools.provision import UnitSpec, dev_clock, provision

DEV = "bench-alert"
TRICKLE_BYTES_PER_S = 16_000
BULLETIN_S = 1.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--output", default="null")
    p.add_argument("--warmup", type=float, default=1.0, help="audio.warmup_s of the unit (its default: 1.0)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure(Path(tmp), args.runs, args.output, args.warmup), indent=2))


def bulletin(run: int) -> bytes:
    """A short WAV whose pitch differs per run: a new file, so the unit must download it."""
    rate, hz = 22_050, 300 + 7 * run
    n = int(rate * BULLETIN_S)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{n}h", *(int(16000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(n))))
    return out.getvalue()


def measure(root: Path, runs: int, output: str, warmup_s: float) -> dict[str, Any]:
    keys.init(root / "keys")
    port = free_port()
    b = broker.init(root / "broker", port)
    mosq = broker.start(root / "broker")
    server = BulletinServer({}, bytes_per_s=TRICKLE_BYTES_PER_S)
    spec = UnitSpec(DEV, root / "keys" / keys.TRUST, f"mqtt://127.0.0.1:{port}", root / "unit",
                    broker_dir=root / "broker", audio=output, quiet_hours="off",
                    extra=dev_clock({"audio": {"warmup_s": warmup_s, "tail_s": 0.2, "stagger_s": 0.0}, "hardware": {"zones": [1]}}))
    agent = subprocess.Popen([sys.executable, "-m", "tools.cli", "agent", "--config", str(provision(spec))],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    console = Console(broker.console_access(b.root))
    try:
        return _run(console, root, server, runs, warmup_s)
    finally:
        console.close()
        agent.terminate()
        agent.wait(10)
        mosq.terminate()
        server.close()


def _run(console: Console, root: Path, server: BulletinServer, runs: int, warmup_s: float) -> dict[str, Any]:
    key = keys.load_signing(root / "keys" / keys.SIGNING)
    console.subscribe(console.topics.report(DEV, "ack"), console.topics.report(DEV, "playlog"))
    time.sleep(3)
    tone, title, audio, relay_off_between = [], [], [], 0
    journal = root / "unit" / "state" / "fake-relays.jsonl"
    for run in range(runs):
        time.sleep(0.6)  # past the 0.2 s tail: every run starts with the amplifier off
        body = bulletin(run)
        server.files[f"b{run}.wav"] = body
        source = {"url": server.url(f"b{run}.wav"), "sha256": hashlib.sha256(body).hexdigest()}
        jti = console.send(key, Target("dev", DEV), "play",
                           {"source": source, "priority": "emergency", "title": f"Cảnh báo lũ quét, lần {run + 1}"})
        acks, logs = _collect(console, jti)
        accepted = acks["accepted"]["ts"]
        tone.append(logs[f"{jti}.tone"]["started_ts"] - accepted)
        title.append(logs[f"{jti}.title"]["started_ts"] - accepted)
        audio.append(logs[jti]["started_ts"] - accepted)
        start, end = logs[f"{jti}.tone"]["started_ts"], logs[jti]["ended_ts"]
        relay_off_between += any(not j["on"] and start <= float(str(j["ts"])) * 1000 <= end
                                 for j in read_journal(journal))
    return {"runs": runs, "warmup_s": warmup_s, "download_s": round(len(bulletin(0)) / TRICKLE_BYTES_PER_S, 2),
            "accepted_to_alert_tone_ms": _pcts(tone), "accepted_to_spoken_title_ms": _pcts(title),
            "accepted_to_bulletin_ms": _pcts(audio), "runs_with_a_relay_off_between": relay_off_between}


def _collect(console: Console, jti: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The acks of `jti` until it ends, and its three play-log records (tone, title, bulletin)."""
    acks: dict[str, Any] = {}
    logs: dict[str, Any] = {}
    for topic, payload, _ in console.messages(time.monotonic() + 30):
        body = json.loads(payload)
        if body.get("jti") != jti:
            continue
        if topic.endswith("/ack"):
            acks[body["state"]] = body
        else:
            logs[body["play_id"]] = body
        if len(logs) == 3 and "finished" in acks:
            return acks, logs
        if "failed" in acks or "rejected" in acks:
            break
    raise RuntimeError(f"emergency {jti} did not play with its alert: acks {sorted(acks)}, logs {sorted(logs)}")


def _pcts(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(statistics.median(values), 1), "p95": round(q[94], 1), "max": round(max(values), 1),
            "min": round(min(values), 1)}


if __name__ == "__main__":
    main()

"""Latency of a play on one real agent: command received -> relay on, and command received -> first audio out
beyond warm-up, over many plays of a cached bulletin; plus the agent's RSS idle and while playing.

Run: .venv/bin/python -m tools.bench.sound_latency [--runs 50] [--output null]
Times come from the agent's own clock: the `accepted` ack (stamped when the command is handled), the fake relay
journal (the moment the relay driver was called) and the `started` ack (the player saw audio reach the output).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from agent.core.topics import Target
from agent.fakes.relays import read_journal
from province import broker, keys
from province.console import Console
from province.localnet import free_port
from sim.proc_stats import rss_kib
from tools.http_files import BulletinServer
from tools.provision import UnitSpec, dev_clock, provision

WARMUP_S = 1.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--output", default="null")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure(Path(tmp), args.runs, args.output), indent=2))


def bulletin(root: Path) -> bytes:
    wav, mp3 = root / "b.wav", root / "b.mp3"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "1", "-b", "16", str(wav), "synth", "1.0", "sine", "440",
                    "vol", "0.5"], check=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame", str(mp3)], check=True)
    return mp3.read_bytes()


def measure(root: Path, runs: int, output: str) -> dict[str, Any]:
    keys.init(root / "keys")
    port = free_port()
    b = broker.init(root / "broker", port)
    mosq = broker.start(root / "broker")
    body = bulletin(root)
    server = BulletinServer({"bulletin.mp3": body})
    url = server.url("bulletin.mp3")
    spec = UnitSpec("bench-snd", root / "keys" / keys.TRUST, f"mqtt://127.0.0.1:{port}", root / "unit",
                    broker_dir=root / "broker", audio=output, quiet_hours="off",
                    extra=dev_clock({"audio": {"warmup_s": WARMUP_S, "tail_s": 0.2, "stagger_s": 0.0}, "hardware": {"zones": [1]}}))
    agent = subprocess.Popen([sys.executable, "-m", "tools.cli", "agent", "--config", str(provision(spec))],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    console = Console(broker.console_access(b.root))
    try:
        return _run(console, agent.pid, root, url, hashlib.sha256(body).hexdigest(), runs)
    finally:
        console.close()
        agent.terminate()
        agent.wait(10)
        mosq.terminate()
        server.close()


def _run(console: Console, pid: int, root: Path, url: str, sha: str, runs: int) -> dict[str, Any]:
    key = keys.load_signing(root / "keys" / keys.SIGNING)
    target = Target("dev", "bench-snd")
    console.subscribe(console.topics.report("bench-snd", "ack"))
    time.sleep(3)
    idle_rss = rss_kib(pid)
    _until(console, console.send(key, target, "store", {"id": "b", "url": url, "sha256": sha}), "finished")
    relay_ms: list[float] = []
    audio_ms: list[float] = []
    playing_rss: list[int] = []
    for _ in range(runs):
        time.sleep(0.5)  # past the 0.2 s tail: every run starts with the amplifier off
        journal_before = len(read_journal(root / "unit" / "state" / "fake-relays.jsonl"))
        acks = _until(console, console.send(key, target, "play", {"source": {"ref": "b"}}), "finished", pid,
                      playing_rss)
        accepted, started = acks["accepted"]["ts"], acks["started"]["ts"]
        on = next(j for j in read_journal(root / "unit" / "state" / "fake-relays.jsonl")[journal_before:] if j["on"])
        relay_ms.append(cast(float, on["ts"]) * 1000 - accepted)
        audio_ms.append(started - accepted - WARMUP_S * 1000)
    return {"runs": runs, "warmup_s": WARMUP_S, "command_to_relay_on_ms": _pcts(relay_ms),
            "command_to_first_audio_beyond_warmup_ms": _pcts(audio_ms),
            "rss_mib_idle": round(idle_rss / 1024, 1), "rss_mib_playing_max": round(max(playing_rss) / 1024, 1)}


def _until(console: Console, jti: str, state: str, pid: int = 0, rss: list[int] | None = None) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for _topic, payload, _ in console.messages(time.monotonic() + 30):
        ack = json.loads(payload)
        if ack.get("jti") == jti:
            seen[ack["state"]] = ack
            if rss is not None and ack["state"] == "started":
                rss.append(rss_kib(pid))
            if ack["state"] in (state, "failed", "rejected"):
                break
    if state not in seen:
        raise RuntimeError(f"command {jti} did not reach {state}: {seen}")
    return seen


def _pcts(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(statistics.median(values), 1), "p95": round(q[94], 1), "max": round(max(values), 1)}


if __name__ == "__main__":
    main()

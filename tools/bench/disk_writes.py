"""What one agent writes to its card: bytes from /proc/PID/io (write_bytes) while idle, projected to a day, and for
one spoken play beyond its audio (the speech file espeak-ng writes: a reaped child's writes count in its parent's).

Run: .venv/bin/python -m tools.bench.disk_writes [--idle-s 300] [--dir /var/tmp]
It starts a real Mosquitto (`loa broker`) and one provisioned unit on fake hardware with its state in --dir (a real
disk: tmpfs counts no writes), sends one signed `play` of a short text, and waits for its `finished` ack.
Targets (issue 16): idle <= 1 MB a day, a play <= 100 KB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.core.topics import Target
from province import broker, keys
from province.console import Console
from province.localnet import free_port
from tools.provision import UnitSpec, dev_clock, provision

UNIT = "disk-001"
SETTLE_S = 8.0
PLAYS = 3  # start-up (the store's creation, the first status) is not idle time
SPEECH = "Thông báo: lịch tiêm chủng tuần này vào sáng thứ bảy tại trạm y tế xã."


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--idle-s", type=float, default=300)
    p.add_argument("--dir", default="/var/tmp", help="where the unit's state lives (a real disk)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="loa-disk-") as tmp:
        print(json.dumps(measure(Path(tmp), args.idle_s), indent=2))


def io_counters(pid: int) -> dict[str, int]:
    lines = Path(f"/proc/{pid}/io").read_text().splitlines()
    return {k: int(v) for k, v in (line.split(": ") for line in lines)}


def written(pid: int, since: dict[str, int]) -> dict[str, int]:
    now = io_counters(pid)
    return {k: now[k] - since[k] for k in ("write_bytes", "cancelled_write_bytes", "syscw")}


def audio_bytes(state: Path) -> int:
    """The speech and download caches' files: the play's audio, which the card must take anyway."""
    return sum(f.stat().st_size for d in ("tts", "cache") if (state / d).is_dir() for f in (state / d).rglob("*")
               if f.is_file())


def measure(root: Path, idle_s: float) -> dict[str, Any]:
    keys.init(root / "keys")
    port = free_port()
    b = broker.init(root / "broker", port)
    mosq = broker.start(root / "broker")
    time.sleep(0.5)
    spec = UnitSpec(UNIT, root / "keys" / keys.TRUST, f"mqtt://127.0.0.1:{port}", root / "unit", groups=("xa-bench", "province"),
                    broker_dir=root / "broker", audio="null", quiet_hours="off",
                    extra=dev_clock({"audio": {"warmup_s": 0.2, "tail_s": 0.2, "stagger_s": 0.0},
                                     "hardware": {"zones": [1]}}))
    agent = subprocess.Popen([sys.executable, "-m", "agent", "--config", str(provision(spec))],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    console = Console(broker.console_access(b.root))
    try:
        time.sleep(SETTLE_S)
        start = io_counters(agent.pid)
        time.sleep(idle_s)
        idle = written(agent.pid, start)
        plays = [one_play(console, root, agent.pid, n) for n in range(PLAYS)]
    finally:
        console.close()
        agent.terminate()
        agent.wait(10)
        mosq.terminate()
    return {"idle_window_s": idle_s, "idle": idle,
            "idle_write_bytes_per_day_projected": round(idle["write_bytes"] * 86400 / idle_s),
            "plays": plays, "play_beyond_audio_bytes_median": sorted(p["beyond_audio_bytes"] for p in plays)[PLAYS // 2]}


def one_play(console: Console, root: Path, pid: int, n: int) -> dict[str, Any]:
    """One spoken play of a new text (so nothing comes from the speech cache), and what it cost the card."""
    key = keys.load_signing(root / "keys" / keys.SIGNING)
    console.subscribe(console.topics.report(UNIT, "ack"))
    time.sleep(0.5)
    state = root / "unit" / "state"
    before, audio0, t0 = io_counters(pid), audio_bytes(state), time.monotonic()
    jti = console.send(key, Target("dev", UNIT), "play", {"source": {"tts": f"{SPEECH} ({n + 1})", "lang": "vi"}})
    until(console, jti, "finished")
    time.sleep(2.0)  # the playlog and acks leave the outbox after the ack that ended the wait
    play: dict[str, Any] = written(pid, before) | {"audio_file_bytes": audio_bytes(state) - audio0}
    return play | {"beyond_audio_bytes": play["write_bytes"] - play["audio_file_bytes"],
                   "seconds": round(time.monotonic() - t0, 1)}


def until(console: Console, jti: str, state: str) -> None:
    for _topic, payload, _ in console.messages(time.monotonic() + 60):
        ack = json.loads(payload)
        if ack.get("jti") == jti and ack["state"] in (state, "failed", "rejected"):
            if ack["state"] != state:
                raise RuntimeError(f"play {jti} ended {ack['state']}: {ack}")
            return
    raise RuntimeError(f"play {jti} did not reach {state}")


if __name__ == "__main__":
    main()

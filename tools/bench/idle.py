"""Idle cost of one agent: RSS (and how much of it is the process's own memory or mapped files), CPU over a window,
whether libVLC's plugin cache is there (without it libVLC opens all its plugins), and the MQTT bytes per heartbeat
and per day.

Run: .venv/bin/python -m tools.bench.idle [--seconds 60] [--heartbeat-s 60]
It starts a real Mosquitto (`loa broker`), one provisioned unit on fake hardware, and a byte-counting proxy
between them. The per-day figure is projected from the measured sizes of heartbeat and keepalive packets.
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

from province import broker, keys
from province.localnet import free_port
from sim.proc_stats import cpu_s, rss_kib
from tools.bench.byte_proxy import ByteProxy
from tools.provision import UnitSpec, dev_clock, provision


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--heartbeat-s", type=int, default=60)
    p.add_argument("--keepalive-s", type=int, default=60)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure(Path(tmp), args.seconds, args.heartbeat_s, args.keepalive_s), indent=2))


def measure(root: Path, seconds: float, heartbeat_s: int, keepalive_s: int) -> dict[str, object]:
    keys.init(root / "keys")
    port = free_port()
    broker.init(root / "broker", port)
    mosq = broker.start(root / "broker")
    time.sleep(0.5)
    proxy = ByteProxy(port)
    spec = UnitSpec("bench-001", root / "keys" / keys.TRUST, f"mqtt://127.0.0.1:{proxy.port}", root / "unit",
                    groups=("xa-bench", "province"), broker_dir=root / "broker",
                    extra=dev_clock({"reports": {"heartbeat_s": heartbeat_s}, "mqtt": {"keepalive_s": keepalive_s}}))
    agent = subprocess.Popen([sys.executable, "-m", "tools.cli", "agent", "--config", str(provision(spec))],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(5)  # start-up (imports, connect, first status) is not idle time
        c = proxy.counts
        before = (cpu_s(agent.pid), c.up, c.down, dict(c.packets_up), dict(c.bytes_up_by_type))
        time.sleep(seconds)
        return report(agent.pid, proxy, before, seconds, heartbeat_s, keepalive_s)
    finally:
        agent.terminate()
        agent.wait(10)
        mosq.terminate()
        proxy.close()


def report(pid: int, proxy: ByteProxy, before: tuple[Any, ...], seconds: float, hb_s: int, ka_s: int) -> dict[str, object]:
    cpu0, up0, down0, packets0, bytes0 = before
    c = proxy.counts
    packets = {k: v - packets0.get(k, 0) for k, v in c.packets_up.items() if v - packets0.get(k, 0)}
    sizes = {k: c.bytes_up_by_type[k] - bytes0.get(k, 0) for k in packets}
    hb_bytes = sizes.get("PUBLISH", 0) / max(1, packets.get("PUBLISH", 0))  # only heartbeats are sent when idle
    ping = 2  # PINGREQ and PINGRESP are 2 bytes each in MQTT 3.1.1
    pings_per_day = 86400 / ka_s  # paho pings when nothing came in for a keepalive period: always, when idle
    return {
        "window_s": seconds, "heartbeat_s": hb_s, "keepalive_s": ka_s,
        "rss_mib": round(rss_kib(pid) / 1024, 1), **rss_parts(pid), "vlc_plugin_cache": vlc_plugin_cache(pid),
        "cpu_pct_of_one_core": round(100 * (cpu_s(pid) - cpu0) / seconds, 3),
        "bytes_up_in_window": c.up - up0, "bytes_down_in_window": c.down - down0,
        "packets_up_in_window": packets, "bytes_up_in_window_by_type": sizes,
        "mqtt_bytes_per_heartbeat": round(hb_bytes, 1),
        "mqtt_bytes_per_day_projected": round(86400 / hb_s * hb_bytes + pings_per_day * (ping + 2)),
    }


def rss_parts(pid: int) -> dict[str, float]:
    """RssAnon (Python's objects, libVLC's heap) and RssFile (code of Python, OpenSSL, libVLC: shared pages)."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in lines) if k in ("RssAnon", "RssFile")}
    return {f"{k.lower()[3:]}_rss_mib": round(v / 1024, 1) for k, v in fields.items()}


def vlc_plugin_cache(pid: int) -> str | None:
    """libVLC's plugins.dat as the agent mapped it (None: no cache, every plugin opened at start)."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return next((line.split()[-1] for line in maps if line.endswith("/plugins.dat")), None)


if __name__ == "__main__":
    main()

"""The naive baseline for the fleet simulator: one Python thread per client, each running paho's blocking loop()
and its own heartbeat, as simple MQTT load tools do. Measures how many clients one process holds and its CPU per
1,000 clients in steady state, to compare with the sharded simulator (one selectors loop for thousands).

Run: .venv/bin/python -m tools.bench.sim_baseline [--clients 3000] [--ramp-per-s 500] [--seconds 60]
It starts its own embedded broker (the simulator's, with one identity per client). Must not import the agent's
runtime; it is a benchmark, not part of the simulator.
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from province.localnet import free_port
from sim import fleet
from sim.fleet_broker import Mosquitto, prepare
from sim.proc_stats import cpu_s, rss_kib
from sim.spec import unit_password


@dataclass
class Tally:
    connected: int = 0
    heartbeats: int = 0
    late_s: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


def client_thread(port: int, device_id: str, password: str, heartbeat_s: float, stop: threading.Event,
                  tally: Tally) -> None:
    """One client, one thread: connect, subscribe, then loop() and publish a heartbeat every heartbeat_s."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"loa-{device_id}", protocol=mqtt.MQTTv5)
    c.username_pw_set(device_id, password)
    try:
        c.connect("127.0.0.1", port, keepalive=60)
    except OSError as exc:
        tally.error(type(exc).__name__)
        return
    c.subscribe(f"loa/v1/dev/{device_id}/cmd", qos=1)
    with tally.lock:
        tally.connected += 1
    due = time.monotonic() + heartbeat_s * (hash(device_id) % 1000) / 1000
    while not stop.is_set():
        rc = c.loop(timeout=1.0)
        if rc != mqtt.MQTT_ERR_SUCCESS:  # e.g. select() on a descriptor >= 1024: this client is lost
            tally.error(f"loop: {mqtt.error_string(rc)}")
            with tally.lock:
                tally.connected -= 1
            return
        if time.monotonic() >= due:
            late = time.monotonic() - due
            c.publish(f"loa/v1/dev/{device_id}/hb", b'{"ts":0,"up":0,"ob":0}', qos=0)
            with tally.lock:
                tally.heartbeats += 1
                tally.late_s.append(late)
            due += heartbeat_s
    c.disconnect()


def measure(clients: int, ramp_per_s: float, seconds: float, heartbeat_s: float) -> dict[str, Any]:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        f, port, secret = fleet.build(clients, 1, "base-"), free_port(), secrets.token_hex(32)
        broker = Mosquitto(prepare(Path(tmp) / "broker", port, f, secret).root)
        broker.start()
        try:
            return _run(f, port, secret, ramp_per_s, seconds, heartbeat_s)
        finally:
            broker.stop()


def _run(f: fleet.Fleet, port: int, secret: str, ramp_per_s: float, seconds: float, hb_s: float) -> dict[str, Any]:
    import os

    tally, stop, threads = Tally(), threading.Event(), []
    t0 = time.monotonic()
    deadline = t0 + len(f.clusters) / ramp_per_s + 60  # a starved main thread must not ramp forever
    for k, c in enumerate(f.clusters):
        time.sleep(max(0.0, t0 + k / ramp_per_s - time.monotonic()))
        if time.monotonic() > deadline:
            tally.error("ramp deadline passed")
            break
        th = threading.Thread(target=client_thread, args=(port, c.device_id, unit_password(secret, c.device_id),
                                                          hb_s, stop, tally), daemon=True)
        try:
            th.start()
        except RuntimeError as exc:
            tally.error(f"thread: {exc}")
            break
        threads.append(th)
    ramp_s = time.monotonic() - t0
    time.sleep(5)  # let the last connects finish
    cpu0, hb0, t_start = cpu_s(os.getpid()), tally.heartbeats, time.monotonic()
    late0 = len(tally.late_s)
    time.sleep(seconds)
    span = time.monotonic() - t_start
    cpu = 100 * (cpu_s(os.getpid()) - cpu0) / span
    held = tally.connected  # connected, and its loop still works at the end of the window
    errors = dict(tally.errors)
    late = sorted(tally.late_s[late0:])
    stop.set()
    return {"design": "thread per client (paho loop(timeout=1) + heartbeat in the same thread)",
            "clients_tried": len(f.clusters), "threads_started": len(threads), "ramp_s": round(ramp_s, 1),
            "clients_held": held,
            "errors": errors, "window_s": round(span, 1), "cpu_pct_of_one_core": round(cpu, 2),
            "cpu_pct_per_1000_clients": round(1000 * cpu / max(1, held), 2),
            "heartbeats_per_s": round((tally.heartbeats - hb0) / span, 1),
            "expected_heartbeats_per_s": round(held / hb_s, 1),
            "heartbeat_lateness_s_p99": round(late[int(0.99 * (len(late) - 1))], 3) if late else None,
            "rss_mib": round(rss_kib(os.getpid()) / 1024, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=3000)
    p.add_argument("--ramp-per-s", type=float, default=500)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--heartbeat-s", type=float, default=60)
    a = p.parse_args()
    print(json.dumps(measure(a.clients, a.ramp_per_s, a.seconds, a.heartbeat_s), indent=1))


if __name__ == "__main__":
    main()

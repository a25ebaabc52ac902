"""Runs one simulation: the broker (embedded, or the one given), keys, the observer and the console, the shard
processes; offers scenarios the few operations they need (power on, wait, sign and send at a scheduled time,
stop and start the broker, flap units, dump); then hands everything to the report.

Must not import paho directly (the console in tools does).
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NamedTuple

from joserfc.jwk import OKPKey

from agent.core.topics import Target, Topics
from province import beacon, broker, keys
from province.console import BrokerAccess, Console
from province.localnet import free_port
from sim import fleet as fleet_mod
from sim import hist
from sim.fleet_broker import Mosquitto, prepare
from sim.models import Flap
from sim.observer import Observer
from sim.options import SimOptions
from sim.proc_stats import cpu_s, rss_kib
from sim.shardproc import ShardProc
from sim.spec import ShardSpec

TOPICS = Topics()
PROBE = "sim-probe"


class CpuSnapshot(NamedTuple):
    shards: list[float]  # CPU seconds of each shard process
    broker: float
    console: float  # the controller with its console and observer: the server's side of the test
    sent: dict[str, int]  # messages the units sent, by kind
    t: float  # wall time


class Controller:
    def __init__(self, opts: SimOptions) -> None:
        self.opts = opts
        self.fleet = fleet_mod.build(opts.clusters, opts.seed, opts.id_prefix)
        self.work = opts.report / "work"
        self.shards: list[ShardProc] = []
        self.marks: list[tuple[str, float]] = []
        self.t_start = time.time()
        self.offset_s = 0.0
        self.phase = "setting up"
        self.url = opts.broker
        self.observer: Observer | None = None
        self.console: Console | None = None
        self.key: OKPKey | None = None
        self.mosquitto: Mosquitto | None = None
        self.stack = ExitStack()

    # ---- set-up and tear-down ------------------------------------------------------------------------------

    def setup(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        trust, secret = self._keys(), secrets.token_hex(32)
        console_access = self._broker(secret)
        if console_access is not None:
            self._observe(console_access)
        self._start_shards(trust, secret)

    def _keys(self) -> dict[str, Any]:
        if self.opts.embedded:
            self.key = keys.init(self.work / "keys", force=True)
            return dict(json.loads((self.work / "keys" / keys.TRUST).read_text()))
        if self.opts.key:
            self.key = keys.load_signing(Path(self.opts.key))
        return dict(json.loads(Path(self.opts.trust).read_text()))

    def _broker(self, secret: str) -> BrokerAccess | None:
        """Start the embedded broker with every unit registered; returns how the console gets in (if it may)."""
        if not self.opts.embedded:
            if not self.opts.console_username:
                return None
            password = Path(self.opts.console_password_file).read_text().strip()
            return BrokerAccess(self.url, self.opts.console_username, password, ca=self.opts.ca)
        port = free_port()
        b = prepare(self.work / "broker", port, self.fleet, secret)
        self.mosquitto = Mosquitto(b.root)
        self.mosquitto.start()
        self.stack.callback(self.mosquitto.stop)
        self.url = f"mqtt://127.0.0.1:{port}"
        return broker.console_access(b.root)

    def _observe(self, access: BrokerAccess) -> None:
        topics = [TOPICS.all_reports("ack"), TOPICS.all_reports("playlog")]
        self.observer = Observer(access.url, access.username, access.password, topics, self.work, access.ca)
        self.stack.callback(self.observer.close)
        if self.opts.no_console:
            time.sleep(1.0)
            return
        self.console = Console(access, client_id=f"loa-sim-console-{secrets.token_hex(3)}")
        self.stack.callback(self.console.close)
        for _ in range(50):  # the observer is listening once it sees a probe
            self.console.publish(TOPICS.report(PROBE, "ack"), b'{"probe":true}')
            if self.observer.wait_for(f"{PROBE}/ack".encode(), 0.2):
                return
        raise RuntimeError("the observer (mosquitto_sub) never received the probe")

    def _start_shards(self, trust: dict[str, Any], secret: str) -> None:
        o = self.opts
        for k, r in enumerate(self.fleet.shard_ranges(o.shard_count())):
            spec = ShardSpec(
                shard=k, first=r.start, count=len(r), fleet_total=o.clusters, seed=o.seed, url=self.url, trust=trust,
                addresses=fleet_mod.source_addresses(k, o.addresses) if self.opts.embedded else (), prefix=o.id_prefix,
                username=o.username, password=self._unit_password(), secret=secret, ca=o.ca, models=o.models)
            self.shards.append(ShardProc(spec, str(self.work / f"shard-{k}.log")))
        self.stack.callback(self.stop_shards)
        for s in self.shards:
            s.reply("ready", 60 + s.spec.count / 200)

    def _unit_password(self) -> str:
        return Path(self.opts.password_file).read_text().strip() if self.opts.username else ""

    def stop_shards(self) -> None:
        for s in self.shards:
            s.stop()

    # ---- what scenarios use --------------------------------------------------------------------------------

    def power_on(self, offset_ms: int = 0) -> float:
        """Start the connect ramp half a second from now; the fleet's clocks move by offset_ms."""
        t0 = time.time() + 0.5
        self.t_start, self.offset_s = t0, offset_ms / 1000
        for s in self.shards:
            s.send({"op": "start", "t0": t0, "offset_ms": offset_ms})
        self.mark("power on", t0)
        return t0

    def online(self) -> int:
        return sum(int(s.last_tick().get("online", 0)) for s in self.shards)

    def backlog(self) -> int:
        return sum(int(s.last_tick().get("backlog", 0)) for s in self.shards)

    def wait_until(self, done: Callable[[], bool], timeout_s: float, poll_s: float = 0.05) -> bool:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if done():
                return True
            time.sleep(poll_s)
        return done()

    def hold(self, seconds: float, phase: str = "") -> None:
        self.phase = phase or self.phase
        time.sleep(max(0.0, seconds))

    def mark(self, label: str, t: float | None = None) -> float:
        t = time.time() if t is None else t
        self.marks.append((label, t))
        return t

    def sign(self, target: Target, cmd: str, args: dict[str, Any], at: float, lifetime_s: int = 300) -> tuple[bytes, str]:
        """Signed ahead of its send time, with the fleet's clock (so `iat` is what the units' clocks read then)."""
        if self.key is None:
            raise RuntimeError("no signing key: the console is off")
        token, jti = keys.sign_command(self.key, target.audience, cmd, args, now_s=int(at + self.offset_s),
                                       lifetime_s=lifetime_s)
        return token.encode(), jti

    def publish_at(self, at: float, target: Target, token: bytes) -> float:
        """Publish at the scheduled time; returns when it actually went (latencies count from `at`)."""
        if self.console is None:
            raise RuntimeError("the console is off (--no-console)")
        time.sleep(max(0.0, at - time.time()))
        sent = time.time()
        self.console.publish(TOPICS.command(target), token)
        return sent

    def start_beacons(self, groups: tuple[str, ...], every_s: float) -> Callable[[], int]:
        """The province's signed time beacon (province.beacon) to these groups, on the fleet's true time, from a
        thread of the console until the returned stop() (which gives the number sent)."""
        if self.console is None or self.key is None:
            raise RuntimeError("the console is off (--no-console)")
        console = self.console
        sender = beacon.BeaconSender(self.key, groups, lambda topic, token: console.publish(topic, token, qos=0),
                                     every_s=every_s, now_ms=lambda: int((time.time() + self.offset_s) * 1000))
        return beacon.start_thread(sender)

    def broker_stop(self) -> float:
        assert self.mosquitto is not None, "storm needs the embedded broker"
        return self.mark("broker down", self.mosquitto.stop())

    def broker_start(self) -> float:
        assert self.mosquitto is not None
        return self.mark("broker back", self.mosquitto.start())

    def set_jitter(self, on: bool) -> None:
        for s in self.shards:
            s.send({"op": "jitter", "on": on})

    def send_flaps(self, flaps: list[Flap], t_ref: float) -> None:
        for s in self.shards:
            first, last = s.spec.first, s.spec.first + s.spec.count
            s.send({"op": "flaps", "t_ref": t_ref, "items": [f for f in flaps if first <= f[0] < last]})

    def dump(self, tag: str) -> dict[str, Any]:
        """Every shard's timed observations since the last dump, merged."""
        for s in self.shards:
            s.send({"op": "dump", "tag": tag})
        parts = [s.reply("dump", 60) for s in self.shards]
        merged: dict[str, Any] = {k: [v for p in parts for v in p[k]] for k in
                                  ("up_times", "up_units", "attempt_times", "play_starts", "slot_starts",
                                   "slot_units", "trusted_units", "trusted_after_s")}
        merged["first_connect"] = hist.summary_ms(hist.merged(p["first_connect"] for p in parts))
        return merged

    def cpu_snapshot(self) -> CpuSnapshot:
        """CPU seconds so far (from /proc) of each shard, the broker and the console side (this process and its
        observer), messages sent, and the time."""
        broker_pid = self.mosquitto.pid() if self.mosquitto else None
        console = cpu_s(os.getpid()) + (cpu_s(self.observer.pid) if self.observer else 0.0)
        return CpuSnapshot([cpu_s(s.pid) for s in self.shards], cpu_s(broker_pid) if broker_pid else 0.0, console,
                           self._sent(), time.time())

    def cpu_used(self, before: CpuSnapshot) -> dict[str, Any]:
        after = self.cpu_snapshot()
        return {"window_s": round(after.t - before.t, 2), "sim_cpu_s": round(sum(after.shards) - sum(before.shards), 3),
                "broker_cpu_s": round(after.broker - before.broker, 3),
                "console_cpu_s": round(after.console - before.console, 3),
                "sent": {k: v - before.sent.get(k, 0) for k, v in after.sent.items()}}

    def measure(self, window_s: float) -> dict[str, Any]:
        """CPU of the shard processes (and of the broker) over a window, read from /proc; traffic from the ticks."""
        pids = [s.pid for s in self.shards]
        before = self.cpu_snapshot()
        self.hold(window_s)
        after = self.cpu_snapshot()
        span = after.t - before.t
        per_shard = [round(100 * (a - b) / span, 2) for a, b in zip(after.shards, before.shards)]
        sent = {k: round((after.sent.get(k, 0) - before.sent.get(k, 0)) / span, 2) for k in after.sent}
        return {"window_s": round(span, 1), "sim_cpu_pct_of_one_core": round(sum(per_shard), 2),
                "per_shard_cpu_pct": per_shard, "broker_cpu_pct": round(100 * (after.broker - before.broker) / span, 2),
                "sim_rss_mib": round(sum(rss_kib(p) for p in pids) / 1024, 1), "sent_per_s": sent,
                "online_at_end": self.online(), "cpu_source": "/proc/PID/stat utime+stime"}

    def _sent(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.shards:
            for kind, count in s.last_tick().get("out", {}).items():
                out[kind] = out.get(kind, 0) + count
        return out

    def status(self) -> dict[str, Any]:
        """For the progress line."""
        ticks = [s.last_tick() for s in self.shards]
        return {"phase": self.phase, "t": time.time() - self.t_start, "online": self.online(),
                "connects": sum(t.get("connects", 0) for t in ticks), "drops": sum(t.get("downs", 0) for t in ticks),
                "backlog": self.backlog(), "sent": sum(sum(t.get("out", {}).values()) for t in ticks),
                "acks": {s: self.observer.count(s) for s in ("accepted", "started", "finished")}
                if self.observer else {}}

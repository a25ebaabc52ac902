"""A shard process: one `selectors` loop and one timer heap holding thousands of simulated units, each with its own
paho client in external-socket mode. Garbage collection is frozen after set-up. It never starts a thread.

Run by the controller as `python -m sim.shard`: the first stdin line is a ShardSpec, later lines are control
operations; it writes JSON lines (ready, tick every second, dump, stopped) on stdout. Must not import tools.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.core.sound import SoundSettings
from agent.core.topics import Topics
from agent.fakes.memstore import Backlog
from agent.fakes.timed import ClockBase
from agent.runtime.loop import Loop
from sim import clocks, fleet, models
from sim.counters import Counters
from sim.spec import ShardSpec, unit_password
from sim.trust import shared_trust
from sim.unit import ShardContext, SimUnit

SWEEP_TICK_S = 0.25
QUIET = (22 * 60, 5 * 60)  # the agent's default quiet hours, 22:00-05:00


def raise_open_files() -> int:
    """Soft limit up to the hard one: a shard needs a descriptor per unit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def threads() -> int:
    """OS threads of this process (not only Python's): the shard promises exactly one."""
    return len(os.listdir("/proc/self/task"))


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.buffer.write((json.dumps(obj, separators=(",", ":")) + "\n").encode())
    sys.stdout.buffer.flush()


class Shard:
    def __init__(self, spec: ShardSpec) -> None:
        self.spec = spec
        self.loop = Loop()
        self.counters = Counters()
        self.backlog = Backlog()
        self.clock = ClockBase()
        self.units: list[SimUnit] = []
        self._inbuf = b""
        self._sweep_at = 0
        self._ops: dict[str, Callable[[dict[str, Any]], None]] = {
            "start": self._start, "flaps": self._flaps, "jitter": self._jitter, "dump": self._dump, "stop": self._stop}

    # ---- set-up --------------------------------------------------------------------------------------------

    def context(self) -> ShardContext:
        from zoneinfo import ZoneInfo

        s, m = self.spec, self.spec.models
        sound = SoundSettings(zones=tuple(range(1, m.zones + 1)), tz=ZoneInfo("Asia/Ho_Chi_Minh"), quiet_window=QUIET,
                              warmup_s=m.warmup_s, tail_s=m.tail_s, stagger_s=m.stagger_s)
        return ShardContext(self.loop, shared_trust(s.trust, s.shared_signature_checks), Topics(s.topic_prefix), sound, m, self.clock,
                            self.backlog, self.counters, s.url, self._credentials, s.ca)

    def _credentials(self, device_id: str) -> tuple[str, str]:
        if self.spec.username:
            return self.spec.username, self.spec.password
        return device_id, unit_password(self.spec.secret, device_id)

    def build(self) -> None:
        s = self.spec
        ctx = self.context()
        clusters = fleet.build(s.fleet_total, s.seed, s.prefix).clusters[s.first:s.first + s.count]
        addresses = s.addresses or ("",)
        for k, cluster in enumerate(clusters):
            profile = models.profile(s.models, s.seed, cluster.index)
            plan = clocks.plan(s.models, s.seed, cluster.index, profile)
            self.units.append(SimUnit(ctx, cluster, profile, addresses[k % len(addresses)], plan))

    def serve(self, started: float) -> None:
        gc.collect()
        gc.freeze()  # thousands of long-lived units: later collections need not walk them
        gc.set_threshold(50_000, 20, 1000)  # and the short-lived garbage of a burst is collected in fewer passes
        os.set_blocking(0, False)
        self.loop.add_reader(0, self._control)
        self.loop.call_later(1.0, self._tick)
        self.loop.call_later(SWEEP_TICK_S, self._sweep)
        emit({"op": "ready", "shard": self.spec.shard, "units": len(self.units), "build_s": round(time.time() - started, 2),
              "threads": threads(), "pid": os.getpid(), "rss_kib": _rss_kib()})
        self.loop.run()

    # ---- periodic work -------------------------------------------------------------------------------------

    def _sweep(self) -> None:
        """Keepalive checks for every link in bulk: a slice per tick, each link about every misc_every_s."""
        n = len(self.units)
        batch = math.ceil(n * SWEEP_TICK_S / self.spec.models.misc_every_s)
        for k in range(self._sweep_at, min(n, self._sweep_at + batch)):
            self.units[k].link.misc()
        self._sweep_at = 0 if self._sweep_at + batch >= n else self._sweep_at + batch
        self.loop.call_later(SWEEP_TICK_S, self._sweep)

    def _tick(self) -> None:
        self._emit_tick()
        self.loop.call_later(1.0 - (time.time() % 1.0) + 0.01, self._tick)

    def _emit_tick(self) -> None:
        t = os.times()
        emit({"op": "tick", "shard": self.spec.shard, "t": time.time(), "backlog": self.backlog.rows,
              "backlog_peak": self.backlog.peak, "cpu_s": t.user + t.system, "threads": threads(),
              **self.counters.tick()})

    # ---- control -------------------------------------------------------------------------------------------

    def _control(self) -> None:
        try:
            data = os.read(0, 1 << 16)
        except BlockingIOError:
            return
        if not data:  # the controller is gone: leave quietly
            self._stop({})
            return
        self._inbuf += data
        *lines, self._inbuf = self._inbuf.split(b"\n")
        for line in lines:
            if line.strip():
                op = json.loads(line)
                self._ops[op["op"]](op)

    def _at_wall(self, wall: float) -> float:
        return self.loop.time() + (wall - time.time())

    def _start(self, op: dict[str, Any]) -> None:
        """Power the units on along the connect ramp; the fleet's clock moves by `offset_ms` (e.g. to 05:29)."""
        self.clock.offset_ms = int(op.get("offset_ms", 0))
        m, seed = self.spec.models, self.spec.seed
        for unit in self.units:
            unit.slot = self._at_wall(op["t0"] + models.ramp_offset_s(m, unit.cluster.index, seed))
            self.loop.call_at(unit.slot, unit.boot)

    def _flaps(self, op: dict[str, Any]) -> None:
        for index, start_s, dark_s in op["items"]:
            self.loop.call_at(self._at_wall(op["t_ref"] + start_s), self._flapper(index - self.spec.first, dark_s))

    def _flapper(self, local: int, dark_s: float) -> Callable[[], None]:
        unit = self.units[local]
        return lambda: unit.flap(dark_s)

    def _jitter(self, op: dict[str, Any]) -> None:
        for unit in self.units:
            unit.set_jitter(bool(op["on"]))

    def _dump(self, op: dict[str, Any]) -> None:
        emit({"op": "dump", "shard": self.spec.shard, "tag": op.get("tag", ""), **self.counters.dump()})

    def _stop(self, op: dict[str, Any]) -> None:
        self._emit_tick()  # the final counts, for the report's totals
        for unit in self.units:
            if unit.online:
                unit.close()
        emit({"op": "stopped", "shard": self.spec.shard})
        self.loop.stop()


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    started = time.time()
    raise_open_files()
    # Thousands of units would write a warning per unit per reconnect attempt; the counters tell that story.
    logging.getLogger("loa.agent").setLevel(os.environ.get("LOA_SIM_LOG", "ERROR").upper())
    spec = ShardSpec.from_json(sys.stdin.buffer.readline().decode())
    shard = Shard(spec)
    shard.build()
    profile_dir = os.environ.get("LOA_SIM_PROFILE")  # for developers: cProfile stats of each shard's loop
    if not profile_dir:
        shard.serve(started)
        return
    import cProfile

    cProfile.runctx("shard.serve(started)", globals(), locals(), f"{profile_dir}/shard-{spec.shard}.prof")


if __name__ == "__main__":
    main()

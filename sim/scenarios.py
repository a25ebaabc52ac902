"""The named scenarios (steady, emergency, storm, flap, morning, clocks): each a short timeline over a RunContext that
returns its section of the report. See sim/README.md for what each one shows.

Must not import paho or the agent's runtime; it acts only through the RunContext.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from agent.core.topics import Target
from sim import analysis, clock_report, models
from sim.fleet import PROVINCE, Fleet
from sim.observer import Observer
from sim.options import SimOptions

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AUDIO = "https://sim.invalid/bulletins/"
EMERGENCY_ARGS = {"priority": "emergency", "title": "Cảnh báo lũ quét — sơ tán khẩn cấp",
                  "source": {"url": AUDIO + "lu-quet.mp3", "sha256": hashlib.sha256(b"lu-quet").hexdigest()}}
NORMAL_ARGS = {"priority": "normal", "title": "Thông báo tiêm chủng mở rộng",
               "source": {"url": AUDIO + "tiem-chung.mp3", "sha256": hashlib.sha256(b"tiem-chung").hexdigest()}}
TERMINAL = ("finished", "failed", "stopped", "expired", "preempted")


class RunContext(Protocol):
    opts: SimOptions
    fleet: Fleet
    observer: Observer | None
    phase: str
    t_start: float  # when the connect ramp began (power_on)
    offset_s: float  # the fleet's true time is wall time plus this

    def power_on(self, offset_ms: int = 0) -> float: ...
    def online(self) -> int: ...
    def backlog(self) -> int: ...
    def wait_until(self, done: Callable[[], bool], timeout_s: float, poll_s: float = 0.05) -> bool: ...
    def hold(self, seconds: float, phase: str = "") -> None: ...
    def mark(self, label: str, t: float | None = None) -> float: ...
    def sign(self, target: Target, cmd: str, args: dict[str, Any], at: float, lifetime_s: int = 300) -> tuple[bytes, str]: ...
    def publish_at(self, at: float, target: Target, token: bytes) -> float: ...
    def start_beacons(self, groups: tuple[str, ...], every_s: float) -> Callable[[], int]: ...
    def broker_stop(self) -> float: ...
    def broker_start(self) -> float: ...
    def set_jitter(self, on: bool) -> None: ...
    def send_flaps(self, flaps: list[models.Flap], t_ref: float) -> None: ...
    def dump(self, tag: str) -> dict[str, Any]: ...
    def measure(self, window_s: float) -> dict[str, Any]: ...
    def cpu_snapshot(self) -> Any: ...
    def cpu_used(self, before: Any) -> dict[str, Any]: ...


def prepare(opts: SimOptions) -> SimOptions:
    """Scenario defaults that the shards must know before they start."""
    if opts.scenario == "flap" and opts.models == models.Models():
        return dataclasses.replace(opts, models=dataclasses.replace(opts.models, play_median_s=20.0, play_sigma=0.2))
    if opts.scenario == "clocks":
        return dataclasses.replace(opts, models=dataclasses.replace(opts.models, wrong_clocks=True))
    return opts


# ---- shared phases ---------------------------------------------------------------------------------------------

def connect_phase(ctx: RunContext, offset_ms: int = 0) -> dict[str, Any]:
    """Power the fleet on along the ramp and wait until every unit is online (or give up)."""
    n, ramp = len(ctx.fleet.clusters), ctx.opts.models.ramp_per_s
    t0 = ctx.power_on(offset_ms)
    ctx.phase = "connecting"
    ctx.wait_until(lambda: ctx.online() >= n, n / ramp + 30)
    d = ctx.dump("connect")
    firsts = analysis.first_per_unit(d["up_times"], d["up_units"], t0 - 60)
    return {"units": n, "connected": len(firsts), "ramp_per_s": ramp,
            "all_connected_s": analysis.time_to_fraction(firsts, t0, n, 1.0),
            "connected_within_10s": sum(1 for t in firsts.values() if t - t0 <= 10),
            "latency_from_ramp_slot_ms": d["first_connect"],
            "curve": analysis.cumulative_curve(list(firsts.values()), t0),
            "rate_curve": analysis.rate_curve(list(firsts.values()), t0, n / ramp + 5, 0.5)}


def settle(ctx: RunContext, timeout_s: float = 20.0) -> None:
    """Let the start-up reports (events, statuses) drain before a measurement begins."""
    ctx.phase = "settling"
    ctx.wait_until(lambda: ctx.backlog() == 0, timeout_s, 0.2)
    ctx.hold(2.0)


def terminal_acks(ctx: RunContext, jtis: set[str]) -> int:
    assert ctx.observer is not None
    done = {(r.device, r.body.get("jti")) for r in ctx.observer.reports()
            if r.kind == "ack" and r.body.get("jti") in jtis and r.body.get("state") in TERMINAL}
    return len(done)


def local_offset_ms(at_wall: float, hhmm: tuple[int, int]) -> int:
    """How far to move the fleet's clocks so that local time (Asia/Ho_Chi_Minh) reads hh:mm at `at_wall`."""
    day = datetime.fromtimestamp(at_wall, TZ).date()
    target = datetime(day.year, day.month, day.day, hhmm[0], hhmm[1], tzinfo=TZ)
    return int((target.timestamp() - at_wall) * 1000)


# ---- the scenarios ---------------------------------------------------------------------------------------------

def steady(ctx: RunContext) -> dict[str, Any]:
    connect = connect_phase(ctx)
    settle(ctx)
    ctx.phase = "steady"
    return {"connect": connect, "steady": ctx.measure(ctx.opts.duration_s or 60.0)}


def emergency(ctx: RunContext) -> dict[str, Any]:
    n = len(ctx.fleet.clusters)
    connect = connect_phase(ctx)
    settle(ctx)
    target = Target("grp", PROVINCE)
    at = time.time() + 1.0
    token, jti = ctx.sign(target, "play", EMERGENCY_ARGS, at)  # signed before its time: signing is not latency
    ctx.phase = "emergency"
    cpu_before = ctx.cpu_snapshot()
    sent = ctx.publish_at(at, target, token)
    ctx.mark("emergency scheduled", at)
    assert ctx.observer is not None
    ctx.wait_until(lambda: ctx.observer is not None and ctx.observer.count("started") >= n, ctx.opts.duration_s or 30.0)
    cpu = ctx.cpu_used(cpu_before)
    ctx.hold(0.5)
    reports = ctx.observer.reports()
    started, accepted = (analysis.first_acks(reports, jti, s) for s in ("started", "accepted"))
    s_block, a_block = analysis.latency_block(started, at), analysis.latency_block(accepted, at)
    missing = sorted(c.device_id for c in ctx.fleet.clusters if c.device_id not in started)
    return {"connect": connect, "started_acks": len(started), "accepted_acks": len(accepted),
            "started_latency_ms": s_block["summary"], "accepted_latency_ms": a_block["summary"],
            "emergency": {"jti": jti, "scheduled_at": at, "send_lag_ms": round((sent - at) * 1000, 2),
                          "latency_from": "scheduled send time", "missing_started": missing[:50],
                          "cpu_until_all_started": cpu,
                          "sim_cpu_ms_per_unit": round(1000 * cpu["sim_cpu_s"] / n, 3),
                          "started": s_block, "accepted": a_block}}


def storm(ctx: RunContext) -> dict[str, Any]:
    connect = connect_phase(ctx)
    settle(ctx)
    phases = {}
    for mode in ("jitter", "naive"):
        ctx.set_jitter(mode == "jitter")
        ctx.hold(0.5)
        phases[mode] = storm_phase(ctx, mode)
        settle(ctx)
    return {"connect": connect, "storm": phases}


def storm_phase(ctx: RunContext, mode: str) -> dict[str, Any]:
    n = len(ctx.fleet.clusters)
    ctx.dump(f"before {mode}")  # forget what came before this phase
    ctx.phase = f"storm ({mode}): broker down"
    t_down = ctx.broker_stop()
    ctx.hold(ctx.opts.storm_down_s)
    t_back = ctx.broker_start()
    ctx.phase = f"storm ({mode}): reconnecting"
    ctx.wait_until(lambda: ctx.online() >= n, 2 * ctx.opts.models.reconnect_max_s + 60, 0.2)
    ctx.hold(2.0)
    d = ctx.dump(mode)
    return analysis.recovery(d["up_times"], d["up_units"], d["attempt_times"], t_down, t_back, n)


def flap(ctx: RunContext) -> dict[str, Any]:
    n = len(ctx.fleet.clusters)
    connect = connect_phase(ctx, local_offset_ms(time.time() + 5, (9, 0)))  # daytime: normal bulletins may sound
    settle(ctx)
    at = time.time() + 0.5
    signed = [ctx.sign(Target("grp", c), "play", NORMAL_ARGS, at) for c in ctx.fleet.communes]
    for commune, (token, _) in zip(ctx.fleet.communes, signed):
        ctx.publish_at(at, Target("grp", commune), token)
    ctx.mark("bulletins sent", at)
    horizon = ctx.opts.duration_s or 60.0
    members: dict[str, list[int]] = {}
    for c in ctx.fleet.clusters:
        members.setdefault(c.commune, []).append(c.index)
    cells = models.commune_flaps(ctx.opts.seed, members, 0.3, 20.0, (3.0, horizon / 2))
    singles = models.unit_flaps(ctx.opts.seed, range(n), 20.0, (2.0, 15.0), horizon * 0.6)
    ctx.send_flaps(cells + singles, at)
    ctx.hold(horizon, "flapping")
    jtis = {jti for _, jti in signed}
    ctx.phase = "draining"
    t_drain = time.time()
    ctx.wait_until(lambda: ctx.online() >= n and ctx.backlog() == 0 and terminal_acks(ctx, jtis) >= n, 120, 0.5)
    return {"connect": connect, "flap": {
        "communes_dark": len({ctx.fleet.clusters[i].commune for i, _, _ in cells}),
        "units_in_dark_communes": len(cells), "unit_flaps": len(singles), "units_flapped": len({f[0] for f in singles}),
        "terminal_acks": terminal_acks(ctx, jtis), "expected_acks": n, "drain_s": round(time.time() - t_drain, 2),
        "playlogs": sum(1 for r in ctx.observer.reports() if r.kind == "playlog") if ctx.observer else 0}}


def morning(ctx: RunContext) -> dict[str, Any]:
    n, m = len(ctx.fleet.clusters), ctx.opts.models
    slot_s = int(ctx.opts.duration_s or 30)
    # When the fleet's clocks will read 05:30:00: after the ramp, the programmes, and the most a clock may be ahead.
    t_0530 = time.time() + n / m.ramp_per_s + 15 + m.skew_unsynced_s
    connect = connect_phase(ctx, local_offset_ms(t_0530, (5, 30)))
    settle(ctx)
    jtis = _send_programme(ctx, slot_s, t_0530)
    scheduled = terminal_acks(ctx, jtis)
    ctx.mark("05:30 local", t_0530)
    ctx.hold(t_0530 + slot_s + m.skew_unsynced_s + 2 - time.time(), "morning programme")
    ctx.wait_until(lambda: _playlogs(ctx) >= n, 60, 0.5)
    d = ctx.dump("morning")
    return {"connect": connect, "morning": morning_numbers(ctx, d["play_starts"], t_0530, scheduled, slot_s)}


def _playlogs(ctx: RunContext) -> int:
    return ctx.observer.count_kind("playlog") if ctx.observer else 0


def morning_numbers(ctx: RunContext, starts: list[float], t_0530: float, scheduled: int, slot_s: int) -> dict[str, Any]:
    offsets = sorted((t - t_0530) * 1000 for t in starts)
    logs = [r.t for r in ctx.observer.reports() if r.kind == "playlog"] if ctx.observer else []
    span = (max(logs) - min(logs)) if logs else 0.0
    return {"slot_local": "05:30", "slot_s": slot_s, "units_scheduled": scheduled, "plays_started": len(starts),
            "start_offset_ms": analysis.spread(offsets), "start_offset_histogram": analysis.histogram(offsets),
            "playlogs": len(logs), "playlog_burst_s": round(span, 2),
            "peak_playlogs_per_s": analysis.peak_rate(logs, min(logs, default=0), max(logs, default=0), 1.0),
            "playlog_curve": analysis.cumulative_curve(logs, t_0530)}


BEACON_EVERY_S = 5.0  # the province sends one every 300 s; scaled down so the scenario stays short


def clocks_scenario(ctx: RunContext) -> dict[str, Any]:
    """Part of the fleet boots with wrong clocks shortly before the 05:30 programme (sim.clocks): the programme must
    play at the right time of day or be held, and an emergency must reach every unit."""
    n, m = len(ctx.fleet.clusters), ctx.opts.models
    slot_s = int(ctx.opts.duration_s or 30)
    # 05:30 comes once the network time (at most 1.5 x network_after_s) and two beacons had time to arrive.
    t_0530 = time.time() + n / m.ramp_per_s + 1.5 * m.network_after_s + 2 * BEACON_EVERY_S + 5
    connect = connect_phase(ctx, local_offset_ms(t_0530, (5, 30)))
    stop_beacons = ctx.start_beacons((PROVINCE,), BEACON_EVERY_S)
    try:
        scheduled = _accepted(ctx, _send_programme(ctx, slot_s, t_0530))
        ctx.mark("05:30 local", t_0530)
        ctx.hold(t_0530 + slot_s + m.minutes_off_s + 2 - time.time(), "morning programme (true time)")
        emergency_jti = _send_emergency(ctx)
    finally:
        beacons = stop_beacons()
    d = ctx.dump("clocks")
    assert ctx.observer is not None
    slot = clock_report.Slot(t_0530, slot_s, ctx.offset_s)
    numbers = clock_report.numbers(ctx.fleet, m, slot, (d["slot_starts"], d["slot_units"]),
                                   (d["trusted_units"], d["trusted_after_s"]), ctx.observer.reports(), scheduled,
                                   emergency_jti)
    return {"connect": connect, "clocks": {"slot_local": "05:30", "slot_s": slot_s, "beacon_every_s": BEACON_EVERY_S,
                                           "beacons_sent": beacons, **numbers}}


def _send_programme(ctx: RunContext, slot_s: int, t_0530: float) -> set[str]:
    """The 05:30 programme to every commune, waiting (until just before 05:30) for every unit's answer; its jtis."""
    args = {"version": 1, "slots": [{"at": "05:30", "source": {"stream": "https://sim.invalid/vov1"},
                                     "duration_s": slot_s, "title": "Chương trình phát thanh buổi sáng"}]}
    at = time.time() + 0.3
    signed = [(c, *ctx.sign(Target("grp", c), "schedule", args, at)) for c in ctx.fleet.communes]
    for commune, token, _ in signed:
        ctx.publish_at(at, Target("grp", commune), token)
    jtis = {jti for _, _, jti in signed}
    ctx.phase = "programmes sent"
    ctx.wait_until(lambda: terminal_acks(ctx, jtis) >= len(ctx.fleet.clusters), max(1.0, t_0530 - time.time() - 1))
    return jtis


def _accepted(ctx: RunContext, jtis: set[str]) -> set[str]:
    """The units that took the programme (its `finished` ack)."""
    assert ctx.observer is not None
    return {r.device for r in ctx.observer.reports()
            if r.kind == "ack" and r.body.get("jti") in jtis and r.body.get("state") == "finished"}


def _send_emergency(ctx: RunContext) -> str:
    """One emergency to the province after the programme: it must reach the units without a trusted time too."""
    target, at = Target("grp", PROVINCE), time.time() + 0.5
    token, jti = ctx.sign(target, "play", EMERGENCY_ARGS, at)
    ctx.publish_at(at, target, token)
    ctx.phase = "emergency"
    assert ctx.observer is not None
    ctx.wait_until(lambda: _answered(ctx, jti) >= len(ctx.fleet.clusters), 15.0, 0.5)
    return jti


def _answered(ctx: RunContext, jti: str) -> int:
    """Units that started the command or refused it (a refusal is final: no need to wait for those)."""
    reports = ctx.observer.reports() if ctx.observer else []
    return len({r.device for r in reports if r.kind == "ack" and r.body.get("jti") == jti
                and r.body.get("state") in ("started", "rejected")})


SCENARIOS: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    "steady": steady, "emergency": emergency, "storm": storm, "flap": flap, "morning": morning,
    "clocks": clocks_scenario}

"""One fault run: a fresh unit, traffic in the background, one kind of fault on a random timeline, then every fault
cleared, the unit brought to rest, and the invariants checked (also at every kill: the crashed files as they are).

Fault kinds: kill9, broker, netcut (a forwarder refuses the broker), netns (the unit's only link goes down), diskfull
(its tmpfs filled to the last byte), clock (unsynchronised at boot, then jumps), storm (hostile commands), relays
(every relay switch and read-back raises for a while, like a co-processor that misses its replies), mixed, and the
hostile kinds of tests/fault/hostile.py: takeover, sources, pages.
Imports the agent only through tools and the campaign's own modules.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.fault import hostile
from tests.fault import invariants as inv
from tests.fault.netcut import Netns
from tests.fault.rig import Rig
from tests.fault.traffic import Traffic
from tests.fault.unit import POWER, ZONES, FaultUnit

KINDS = ("kill9", "broker", "netcut", "netns", "diskfull", "clock", "storm", "relays", "mixed", *hostile.HOSTILE)
RSS_LIMIT_KB = 160 * 1024
YEARS_20_S = 20 * 365 * 86400
RELAY_RETRY_MAX_S = 10.0  # agent.core.hardware_faults.RETRY_MAX_S: a switch that failed is done again within this


@dataclass
class Run:
    rig: Rig
    unit: FaultUnit
    traffic: Traffic
    rng: random.Random
    kind: str
    counts: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    kills: list[float] = field(default_factory=list)  # wall time of each SIGKILL (and of each crash)
    starts: list[int] = field(default_factory=list)  # journal length at each start
    exits: list[str] = field(default_factory=list)  # the agent stopped by itself: its last words
    lock: threading.Lock = field(default_factory=threading.Lock)
    down: bool = False  # killed on purpose, not yet started again
    relay_faults: list[tuple[float, float]] = field(default_factory=list)  # wall times the relays did not answer
    expect: list[Callable[[Run], list[str]]] = field(default_factory=list)  # a timeline's own checks, at the end

    def start(self) -> None:
        with self.lock:
            self.starts.append(len(self.unit.journal_entries()))
            self.unit.start()
            self.down = False

    def kill(self) -> None:
        """SIGKILL, then check the files exactly as the crash left them."""
        with self.lock:
            self.unit.sample()
            self.unit.kill9()
            self.down = True
        self.kills.append(time.time())
        self.counts["kills"] += 1
        self.violations += inv.cache_intact(self.unit.state / "cache") + inv.integrity(self.unit.integrity())

    def supervise(self, stop: threading.Event) -> None:
        """What systemd's Restart=always does on a unit: an agent that stopped by itself is started again."""
        while not stop.wait(0.2):
            with self.lock:
                crashed = not self.down and not self.unit.alive()
                if crashed:
                    self._crashed()
            if crashed:
                time.sleep(0.5)
                self.start()

    def _crashed(self) -> None:
        proc = self.unit.proc
        last = self.unit.output().strip().splitlines()[-1:] or ["(no output)"]
        self.exits.append(f"exit code {proc.returncode if proc else '?'}: {last[0][:300]}")
        self.violations.append(f"the agent stopped by itself ({self.exits[-1]})")
        self.counts["unexpected_exits"] += 1
        self.kills.append(time.time())
        self.unit.sample()

    def pause(self, low: float, high: float) -> None:
        time.sleep(self.rng.uniform(low, high))


# ---- fault timelines -----------------------------------------------------------------------------------------


def kill9(run: Run, seconds: float) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        run.pause(0.4, 1.5)
        run.kill()
        run.pause(0.0, 0.6)
        run.start()


def broker(run: Run, seconds: float) -> None:
    run.pause(0.3, 1.0)
    for _ in range(run.rng.randrange(1, 3)):
        run.rig.broker_stop()
        run.counts["outages"] += 1
        run.pause(0.5, 2.0)
        run.rig.broker_start()
        run.pause(0.5, 1.5)


def netcut(run: Run, seconds: float, low: float = 0.5, high: float = 2.5) -> None:
    run.pause(0.3, 1.0)
    for _ in range(run.rng.randrange(1, 3) if high < 5 else 1):
        run.unit.cut()
        run.counts["outages"] += 1
        run.counts["net_cuts"] += 1
        run.pause(low, high)
        run.unit.restore()
        run.pause(0.5, 1.5)


def netns(run: Run, seconds: float) -> None:
    """Longer than keepalive 5 s x 1.5: the agent must notice the dead link by itself (no RST ever comes)."""
    netcut(run, seconds, 8.0, 10.0)


def diskfull(run: Run, seconds: float) -> None:
    run.pause(0.3, 1.0)
    run.unit.fill_disk()
    run.counts["disk_full"] += 1
    for _ in range(6):  # downloads and outbox writes while the disk is full
        run.traffic.random_valid()
    run.pause(1.0, 2.5)
    run.unit.free_disk()
    run.pause(0.5, 1.5)


def clock(run: Run, seconds: float) -> None:
    """Booted years behind (unsynchronised); NTP sets it right; later it steps forward and back (hours, a day), as NTP
    or a hand-set RTC does, and finally back to the true time."""
    run.pause(0.5, 1.5)
    run.unit.set_clock(0)
    for _ in range(run.rng.randrange(1, 4)):
        run.pause(0.3, 1.2)
        run.unit.set_clock(run.rng.choice((3600, -1800, 86400, -300, 30)))
        run.counts["clock_jumps"] += 1
    run.pause(0.3, 1.0)
    run.unit.set_clock(0)
    run.counts["clock_jumps"] += 1


def storm(run: Run, seconds: float) -> None:
    run.traffic.storm(int(seconds * 120))


def relays(run: Run, seconds: float) -> None:
    """Bulletins arrive while the relays do not answer: the agent must live, play, and switch them when they answer."""
    for _ in range(run.rng.randrange(1, 3)):
        run.pause(0.3, 1.0)
        run.unit.fail_relays(True)
        began = time.time()
        run.counts["relay_faults"] += 1
        run.traffic.valid("relay", {"zone": run.rng.choice(ZONES), "on": True, "for_s": 1})  # switches at once
        for _ in range(3):
            run.traffic.random_valid()
        run.pause(1.0, 3.0)
        run.unit.fail_relays(False)
        run.relay_faults.append((began, time.time()))


def mixed(run: Run, seconds: float) -> None:
    for _ in range(run.rng.randrange(2, 4)):
        run.rng.choice((kill9, broker, netcut, diskfull, storm, relays))(run, seconds / 3)


TIMELINES: dict[str, Callable[[Run, float], None]] = {
    "kill9": kill9, "broker": broker, "netcut": netcut, "netns": netns, "diskfull": diskfull, "clock": clock,
    "storm": storm, "relays": relays, "mixed": mixed, **hostile.TIMELINES,
}


# ---- one run -----------------------------------------------------------------------------------------------------


def execute(rig: Rig, index: int, kind: str, seed: int, seconds: float) -> Run:
    rng = random.Random(seed)
    ns = Netns(index) if kind == "netns" else None
    if ns:
        ns.create()
    unit = FaultUnit(rig, f"f{index}-{kind}-{seed % 1000}", netns=ns, **hostile.unit_options(kind))
    traffic = Traffic(rig, unit, random.Random(rng.random()), time_hostile=kind != "clock",
                      emergencies=kind != "sources")
    run = Run(rig, unit, traffic, rng, kind)
    try:
        _drive(run, seconds)
    finally:
        unit.close()
        if ns:
            ns.delete()
    return run


def _drive(run: Run, seconds: float) -> None:
    if run.kind == "clock":
        run.unit.set_clock(-YEARS_20_S)
    run.start()
    if not _wait(lambda: _status(run).get("online") is True, 30):
        run.violations.append(f"{run.unit.device_id} never came online: {run.unit.output()[-500:]}")
        return
    background = run.traffic.run((0.1, 0.4), hostile_share=0.1)
    stop = threading.Event()
    supervisor = threading.Thread(target=run.supervise, args=(stop,), daemon=True)
    supervisor.start()
    try:
        TIMELINES[run.kind](run, seconds)
        run.traffic.stop()
        background.join()
        _clear(run)
        _rest_and_check(run, stop)
    finally:
        stop.set()


def _clear(run: Run) -> None:
    run.unit.fail_relays(False)
    run.unit.restore()
    run.unit.free_disk()
    run.unit.set_clock(0)
    time.sleep(0.4)  # the clock hook reads its file at most every 0.2 s: the probe must meet the true time
    if run.rig.broker is None or run.rig.broker.poll() is not None:
        run.rig.broker_start()


def _status(run: Run) -> dict[str, object]:
    statuses = inv.decoded(run.rig.recorder.of(run.unit.device_id), "status")
    return statuses[-1] if statuses else {}


def _resting(run: Run) -> bool:
    status = _status(run)
    journal = run.unit.journal_entries()
    return (run.unit.outbox_count() == 0 and status.get("online") is True and status.get("playing") is None
            and status.get("queued") == 0 and not inv.off_at_rest(journal, ZONES)
            and (not run.relay_faults or not status.get("errors")))  # relay faults clear once the relays answer


def _wait(predicate: Callable[[], bool], timeout: float, stable_s: float = 0.0) -> bool:
    deadline, since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if predicate():
            since = since or time.monotonic()
            if time.monotonic() - since >= stable_s:
                return True
        else:
            since = None
        time.sleep(0.1)
    return False


def _answered(run: Run, jti: str | None) -> bool:
    acks = inv.decoded(run.rig.recorder.of(run.unit.device_id), "ack")
    return any(a.get("jti") == jti and a.get("state") == "finished" for a in acks)


def _rest_and_check(run: Run, stop: threading.Event) -> None:
    """At rest: a ping sent after every fault is answered (so everything queued before it reached the unit, and
    the link really works: a link that came back may look up while it is dead), the outbox is empty, nothing
    plays or waits, and the relays are off."""
    unit = run.unit
    probe = run.traffic.valid("ping", {})
    if not _wait(lambda: _answered(run, probe.jti) and _resting(run), 45, stable_s=1.0):
        run.violations.append(f"not at rest 45 s after the faults: probe answered {_answered(run, probe.jti)}, "
                              f"outbox {unit.outbox_count()}, status {json.dumps(_status(run))[:300]}")
    unit.sample()
    time.sleep(0.5)  # the last PUBACKed reports reach the recorder
    stop.set()
    with run.lock:
        run.down = True
        unit.stop()
    run.violations += _check(run)
    _count(run)


def _check(run: Run) -> list[str]:
    unit, received = run.unit, run.rig.recorder.of(run.unit.device_id)
    acks, journal = inv.decoded(received, "ack"), unit.journal_entries()
    valid = {s.jti for s in run.traffic.sent if s.kind == "valid" and s.jti}
    damaged = {s.jti: s.cmd for s in run.traffic.sent if s.damaged and s.jti}
    found = (inv.delivered(unit.outbox_seen, received) + inv.ran_once(acks, valid)
             + inv.never_played_damaged(acks, damaged) + inv.cache_intact(unit.state / "cache")
             + inv.integrity(unit.integrity()) + inv.off_after_start(journal, run.starts, ZONES)
             + inv.memory(unit.rss_max_kb, RSS_LIMIT_KB))
    found += inv.on_only_while_playing(journal, _windows(run, received), run.kills)
    if run.kind in hostile.ANSWERED:
        found += hostile.answered(run)
    for check in run.expect:
        found += check(run)
    return found


def _windows(run: Run, received: list[tuple[float, str, bytes]]) -> list[tuple[float, float]]:
    """Play windows in the unit's own time, or (clock runs: that time is wrong on purpose) as the server saw them."""
    lead, tail = POWER["warmup_s"] + POWER["stagger_s"] * len(ZONES), POWER["tail_s"]
    # a relay that did not answer its switch-off stays on until a retry reaches it
    stuck = [(began, ended + RELAY_RETRY_MAX_S + 1.0) for began, ended in run.relay_faults]
    if run.kind == "clock":
        return sorted(inv.received_windows(received, lead, tail, time.time() - time.monotonic()) + stuck)
    return sorted(inv.play_windows(inv.decoded(received, "playlog"), lead, tail) + stuck)


def _count(run: Run) -> None:
    received = run.rig.recorder.of(run.unit.device_id)
    acks = inv.decoded(received, "ack")
    answered = {a.get("jti") for a in acks}
    valid = [s for s in run.traffic.sent if s.kind == "valid"]
    run.counts.update(run.traffic.counts())
    run.counts["reports_committed"] += len(run.unit.outbox_seen)
    run.counts["reports_received"] += len(received)
    run.counts["unanswered_commands"] += sum(1 for s in valid if s.jti not in answered)
    run.counts["downloads"] += sum(1 for s in valid if s.cmd in ("play", "store"))
    run.counts["damaged_refused"] += sum(1 for a in acks if a.get("code") == "hash_mismatch")
    run.counts["plays_completed"] += sum(1 for p in inv.decoded(received, "playlog") if p.get("result") == "completed")

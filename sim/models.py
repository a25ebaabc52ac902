"""Behaviour models of simulated units, seeded and reproducible: clock skew, old versions, stuck relays, player
faults, play durations, heartbeat phase, connect ramp and network flaps (per unit, and whole communes going dark).

Pure: every draw comes from a Random seeded with (seed, what, index). Must not import paho or any I/O module.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any

from agent.core.backoff import RECONNECT_MAX_S, RECONNECT_MIN_S

OLD_VERSION = "0.9.0"  # what "a unit on an older version" reports; it also speaks MQTT 3.1.1


@dataclass(frozen=True)
class Models:
    """The knobs. Defaults are what `loa sim` uses; sim/README.md explains each."""

    heartbeat_s: int = 60
    keepalive_s: int = 60
    zones: int = 1  # relay zones per unit: most clusters are 2-3 horns on one amplifier
    ramp_per_s: float = 1000.0  # connect ramp: units whose network comes up per second
    warmup_s: float = 0.2  # amplifier warm-up of simulated units (a real unit's default is 1.0)
    stagger_s: float = 0.0
    tail_s: float = 0.5
    start_delay_s: float = 0.02  # fake player: first audio reaches the output this long after play()
    play_median_s: float = 45.0  # fake player: file durations are log-normal around this, clipped to 5..600 s
    play_sigma: float = 0.5
    reconnect_min_s: float = RECONNECT_MIN_S  # the unit's own defaults, not a copy
    reconnect_max_s: float = RECONNECT_MAX_S
    jitter: bool = True  # full jitter (the core's Backoff); False is the naive mode kept for comparison
    outbox_rate_per_s: float = 20.0  # offline buffer flush rate once the link is back
    old_version_fraction: float = 0.05
    unsynced_fraction: float = 0.01
    skew_synced_s: float = 0.05  # standard deviation of clock error of NTP-synced units
    skew_unsynced_s: float = 30.0  # unsynced units are off by up to this, either way
    stuck_relay_fraction: float = 0.01
    player_fail_fraction: float = 0.0
    misc_every_s: float = 2.0  # each link's keepalive check runs this often (one bulk sweep per shard)
    network_after_s: float = 5.0  # the modem's network time reaches the unit about this long after boot (0.5-1.5x)
    network_error_s: float = 1.0  # the network's time is off by up to this, either way
    wrong_clocks: bool = False  # the `clocks` scenario: communes take turns in sim.clocks.GROUPS
    minutes_off_s: float = 120.0  # wrong clocks are off by a quarter of this to all of it (plus years, or from 1970)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class UnitProfile:
    hb_phase_s: float  # the first heartbeat is this much later, as if the unit had booted at a random moment
    skew_ms: int
    synced: bool
    old_version: bool
    stuck_zone: int | None  # this relay is stuck off: plays run, but the relay is not confirmed on
    player_fails: bool
    seed: int


def _rng(seed: int, what: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{what}:{index}")


def profile(m: Models, seed: int, index: int) -> UnitProfile:
    r = _rng(seed, "unit", index)
    synced = r.random() >= m.unsynced_fraction
    skew_s = r.gauss(0, m.skew_synced_s) if synced else r.uniform(-m.skew_unsynced_s, m.skew_unsynced_s)
    return UnitProfile(
        hb_phase_s=r.uniform(0, m.heartbeat_s), skew_ms=int(skew_s * 1000), synced=synced,
        old_version=r.random() < m.old_version_fraction,
        stuck_zone=m.zones if r.random() < m.stuck_relay_fraction else None,
        player_fails=r.random() < m.player_fail_fraction, seed=r.getrandbits(32),
    )


def play_duration_s(m: Models, rng: random.Random) -> float:
    return min(600.0, max(5.0, rng.lognormvariate(math.log(m.play_median_s), m.play_sigma)))


def ramp_offset_s(m: Models, index: int, seed: int) -> float:
    """When unit `index` gets its network, after the ramp starts: in index order, lightly jittered."""
    return (index + _rng(seed, "ramp", index).random()) / m.ramp_per_s


Flap = tuple[int, float, float]  # (fleet index, start after the reference time in s, dark for s)


def unit_flaps(seed: int, indices: range, per_hour: float, dark_s: tuple[float, float], horizon_s: float) -> list[Flap]:
    """Independent link drops: a Poisson process per unit."""
    out: list[Flap] = []
    rate = per_hour / 3600.0
    for i in indices:
        r, t = _rng(seed, "flap", i), 0.0
        while rate > 0 and (t := t + r.expovariate(rate)) < horizon_s:
            out.append((i, t, r.uniform(*dark_s)))
    return out


def commune_flaps(seed: int, members: dict[str, list[int]], fraction: float, dark_s: float,
                  window_s: tuple[float, float]) -> list[Flap]:
    """A cell going dark: every unit of a chosen commune loses its link at the same moment, for the same time."""
    r = random.Random(f"{seed}:communes")
    out: list[Flap] = []
    for commune in sorted(members):
        if r.random() < fraction:
            start = r.uniform(*window_s)
            out += [(i, start, dark_s) for i in members[commune]]
    return out

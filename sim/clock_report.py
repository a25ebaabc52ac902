"""The numbers of the `clocks` scenario: plays at the wrong time of day, how long each clock group took to reach a
trusted time, how many held the programme, and whether the emergency reached every group (sim/README.md defines
each).

Pure: works on what the controller gathered (slot starts with their wall time, the observer's reports); must not
import paho or the agent's runtime.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sim import analysis, clocks
from sim.fleet import Cluster, Fleet
from sim.models import Models
from sim.observer import Report

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EARLY_S = 10.0  # a slot may start this much early and still be on time: the time rule's agreement (AGREE_MS)
QUIET = (22 * 60, 5 * 60)  # the agent's default quiet hours, local minutes of the day


@dataclass(frozen=True)
class Slot:
    """The programme slot as the fleet's TRUE time sees it: it starts at wall time t_at (05:30 local then)."""

    t_at: float
    duration_s: float
    offset_s: float  # wall time + offset_s = the fleet's true time

    def wrong_time(self, t_wall: float) -> bool:
        """A programme play is at the wrong time of day if it starts outside its slot's window in true local time,
        or in true quiet hours."""
        return not (self.t_at - EARLY_S <= t_wall <= self.t_at + self.duration_s) or self.in_quiet_hours(t_wall)

    def in_quiet_hours(self, t_wall: float) -> bool:
        local = datetime.fromtimestamp(t_wall + self.offset_s, TZ)
        minute = local.hour * 60 + local.minute
        return minute >= QUIET[0] or minute < QUIET[1]


def groups_of(fleet: Fleet, m: Models) -> dict[str, str]:
    """Device id -> its clock group (sim.clocks.GROUPS)."""
    return {c.device_id: clocks.group_of(m, c.index) for c in fleet.clusters}


def numbers(fleet: Fleet, m: Models, slot: Slot, starts: tuple[list[float], list[int]],
            trusted_after: tuple[list[int], list[float]], reports: list[Report], scheduled: set[str],
            emergency_jti: str) -> dict[str, Any]:
    """The scenario's section of the report: totals, then one block per clock group. `trusted_after` is (unit index,
    seconds from its power-on until its time was first trusted), as each simulated unit noted it."""
    group = groups_of(fleet, m)
    trusted = {fleet.clusters[unit].device_id: after_s for unit, after_s in zip(*trusted_after)}
    started = set(analysis.first_acks(reports, emergency_jti, "started"))
    played: dict[str, list[float]] = {}
    for t, unit in zip(*starts):
        played.setdefault(fleet.clusters[unit].device_id, []).append(t)
    blocks = {}
    for g in clocks.GROUPS:
        members = [c for c in fleet.clusters if group[c.device_id] == g]
        if members:
            blocks[g] = _group_block(g, members, trusted, played, slot, scheduled, started)
    wrong = sum(b["wrong_time_plays"] for b in blocks.values())
    return {"wrong_time_plays": wrong, "programme_plays": sum(b["programme_plays"] for b in blocks.values()),
            "emergency_started": len(started), "units": len(fleet.clusters), "groups": blocks,
            "slot_window_s": [-EARLY_S, slot.duration_s]}


def _group_block(g: str, members: list[Cluster], trusted: dict[str, float],
                 played: dict[str, list[float]], slot: Slot, scheduled: set[str], started: set[str]) -> dict[str, Any]:
    ids = [c.device_id for c in members]
    to_trust = [trusted[d] * 1000 for d in ids if d in trusted]
    plays = [t for d in ids for t in played.get(d, [])]
    untrusted = [d for d in ids if d not in trusted]
    kinds = Counter(clocks.kind_of(g, c.index) or "ok" for c in members)
    return {"units": len(ids), "wrong_clock_kinds": dict(kinds), "reached_trusted_time": len(to_trust),
            "time_to_trusted_ms": analysis.spread(to_trust), "untrusted_units": len(untrusted),
            "untrusted_sample": untrusted[:10], "programme_plays": len(plays),
            "wrong_time_plays": sum(1 for t in plays if slot.wrong_time(t)),
            "wrong_time_plays_untrusted": sum(1 for d in untrusted for t in played.get(d, []) if slot.wrong_time(t)),
            "held_programme": sum(1 for d in ids if d in scheduled and d not in played),
            "emergency_started": sum(1 for d in ids if d in started),
            "emergency_started_untrusted": sum(1 for d in untrusted if d in started)}

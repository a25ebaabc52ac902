"""Clocks of simulated units and the time sources that reach them (the `clocks` scenario, and the network time of
the models' unsynced units in every scenario).

A unit's system clock is the fleet's true time plus a skew. In the `clocks` scenario units take turns (by fleet
index): `ntp` (a synchronised clock), `network` (a wrong clock, and only the modem's network time, some seconds
after boot: its link loses the beacons, so the group shows what network time alone does), `beacon` (a wrong clock, and only the province's signed beacon), `none` (a wrong clock, no modem time, and
the beacon never reaches them: their link loses it, as where the beacon is disabled). Wrong clocks come in four
kinds, in turn: 1970 (no saved time), a year old (the time saved at the last shutdown), ten years ahead, and
minutes off. Elsewhere, a unit the models mark unsynced
gets the modem's network time (so the existing scenarios keep a trusted time on every unit).

Pure and seeded: must not import paho, the agent's runtime or any I/O module.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from dataclasses import dataclass

from sim.models import Models, UnitProfile

NTP, NETWORK, BEACON, NONE = "ntp", "network", "beacon", "none"
GROUPS = (NTP, NETWORK, BEACON, NONE)  # communes take these in turn in the `clocks` scenario
WRONG_KINDS = ("1970", "year_old", "ten_years_ahead", "minutes_off")
DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
TEN_YEARS_MS = 3652 * DAY_MS


@dataclass(frozen=True, slots=True)
class ClockPlan:
    """How a unit's clock starts and which source corrects it."""

    group: str  # one of GROUPS
    kind: str  # "" (the models' skew) or one of WRONG_KINDS
    draw_ms: int  # the kind's own draw: uptime at boot for 1970, minutes for the others
    network_after_s: float | None  # the modem's network time arrives this long after boot; None: no modem time
    network_error_ms: int  # how far the network's time is from the true time

    def skew_ms(self, true_now_ms: int, models_skew_ms: int) -> int:
        """The system clock's error at boot, when the true time is true_now_ms."""
        if self.kind == "1970":
            return self.draw_ms - true_now_ms  # the kernel starts at the epoch; draw_ms of uptime since
        offsets = {"year_old": -YEAR_MS, "ten_years_ahead": TEN_YEARS_MS, "minutes_off": 0}
        return offsets[self.kind] + self.draw_ms if self.kind else models_skew_ms


def group_of(m: Models, index: int) -> str:
    """The unit's clock group: all `ntp` unless the scenario boots part of the fleet with wrong clocks."""
    return GROUPS[index % len(GROUPS)] if m.wrong_clocks else NTP


def kind_of(group: str, index: int) -> str:
    """The kind of wrong clock a unit boots with ("" for a unit of the `ntp` group)."""
    return "" if group == NTP else WRONG_KINDS[index // len(GROUPS) % len(WRONG_KINDS)]


def plan(m: Models, seed: int, index: int, profile: UnitProfile) -> ClockPlan:
    r = random.Random(f"{seed}:clock:{index}")
    group = group_of(m, index)
    error_ms = int(r.uniform(-m.network_error_s, m.network_error_s) * 1000)
    after_s = r.uniform(0.5, 1.5) * m.network_after_s
    if group == NTP:  # the models' skew; an unsynced unit's modem still gives it the network's time
        return ClockPlan(NTP, "", 0, None if profile.synced else after_s, error_ms)
    kind = kind_of(group, index)
    minutes_ms = int(r.uniform(0.25, 1.0) * m.minutes_off_s * 1000) * r.choice((-1, 1))
    draw_ms = int(r.uniform(5_000, 60_000)) if kind == "1970" else minutes_ms
    return ClockPlan(group, kind, draw_ms, after_s if group == NETWORK else None, error_ms)


def is_beacon(token: bytes) -> bool:
    """Whether a command token's claims say `cmd: time` (read without verifying: only to drop it on the way in)."""
    parts = token.split(b".")
    if len(parts) != 3:
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + b"=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(claims, dict) and claims.get("cmd") == "time"

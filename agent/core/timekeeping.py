"""Which time to trust: the rule that combines the unit's time sources into one verdict (docs/protocol.md, 4.1).

A unit has no battery-backed clock, so its system clock may read 1970, a saved time a year old, or anything else
until a source answers. Sources give readings; each reading is anchored on the monotonic clock, so a later step of
the system clock does not spoil it. The rule:

1. A reading is used while it is fresh (FRESH_MS for its source); the latest reading of each source counts.
2. A reading that puts the time before the unit's time floor (the newest `iat` of a verified command, minus
   AGREE_MS) is discarded: the unit never steps backwards past its floor.
3. Readings that agree within AGREE_MS form a group; each group scores the weights of its sources. The signed beacon
   is authenticated and weighs BEACON_WEIGHT (3): it outweighs any two unauthenticated sources that disagree with it
   (NTP, the cellular network's time and GPS weigh 1 each). Equal scores go to the group with the better-ranked
   source (RANK).
4. The time is taken from the most precise reading of the winning group (smallest error; RANK breaks ties).
5. No usable reading: the time is not trusted. The programme, quiet hours, `not_before` and `until` then wait;
   emergencies play.

Pure: must not import anything outside the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BEACON, GPS, NETWORK, NTP, SYSTEM = "beacon", "gps", "network", "ntp", "system"
RANK = (BEACON, GPS, NETWORK, NTP, SYSTEM)  # the better-ranked first
BEACON_WEIGHT = 3
AGREE_MS = 10_000
FRESH_MS = {BEACON: 30 * 60_000, GPS: 30 * 60_000, NETWORK: 30 * 60_000, NTP: 30 * 60_000, SYSTEM: 2 * 60_000}


@dataclass(frozen=True, slots=True)
class Reading:
    """What one source said: the true time (ms since the epoch) at a monotonic instant, with its uncertainty."""

    source: str
    true_ms: int
    at_mono_ms: int
    error_ms: int = 1000

    def estimate(self, mono_now_ms: int) -> int:
        return self.true_ms + (mono_now_ms - self.at_mono_ms)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome: whether the time is trusted, from which source, the offset to add to the system clock, and the
    fresh sources that disagreed with it (shown in status)."""

    trusted: bool
    source: str | None = None
    offset_ms: int = 0
    disagree: tuple[str, ...] = ()


UNTRUSTED = Verdict(False)


def judge(readings: Iterable[Reading], mono_now_ms: int, system_now_ms: int, floor_ms: int = 0) -> Verdict:
    """The verdict for these readings now (see the module's rule)."""
    usable = [r for r in readings
              if 0 <= mono_now_ms - r.at_mono_ms <= FRESH_MS.get(r.source, 0)
              and r.estimate(mono_now_ms) >= floor_ms - AGREE_MS]
    if not usable:
        return UNTRUSTED
    groups = [[r for r in usable if abs(r.estimate(mono_now_ms) - c.estimate(mono_now_ms)) <= AGREE_MS] for c in usable]
    best = max(groups, key=lambda g: (sum(_weight(r) for r in g), -min(_rank(r) for r in g)))
    chosen = min(best, key=lambda r: (r.error_ms, _rank(r)))
    disagree = tuple(sorted({r.source for r in usable} - {r.source for r in best}, key=RANK.index))
    return Verdict(True, chosen.source, chosen.estimate(mono_now_ms) - system_now_ms, disagree)


def _weight(r: Reading) -> int:
    return BEACON_WEIGHT if r.source == BEACON else 1


def _rank(r: Reading) -> int:
    return RANK.index(r.source) if r.source in RANK else len(RANK)

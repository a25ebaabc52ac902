"""`loa status`: a fleet overview from the units' retained status messages (online/offline per commune, last
seen, faults, each unit's time source and offset, the units without a trusted time), for the provincial console.

Must not import the agent's runtime or adapters.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from province.console import Console, json_object


@dataclass
class Commune:
    online: list[str] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=dict)


def collect(console: Console, settle_s: float) -> dict[str, dict[str, Any]]:
    """Every retained status the broker holds (device id -> status), gathered until none came for settle_s."""
    console.subscribe(console.topics.all_reports("status"))
    statuses: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + settle_s
    for topic, payload, _ in console.messages(deadline):
        where = console.topics.device_of(topic)
        if where and payload:
            statuses[where[0]] = json_object(payload)
            deadline = time.monotonic() + settle_s
    return statuses


def by_commune(statuses: dict[str, dict[str, Any]], group_of: dict[str, str]) -> dict[str, Commune]:
    """Communes by the first group a unit reports (its own commune), or the map given for offline units."""
    out: dict[str, Commune] = defaultdict(Commune)
    for dev, st in sorted(statuses.items()):
        commune = (st.get("groups") or [group_of.get(dev, "?")])[0]
        c = out[commune]
        (c.online if st.get("online") else c.offline).append(dev)
        if st.get("errors"):
            c.faults[dev] = list(st["errors"])
    return dict(sorted(out.items()))


def as_json(statuses: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`loa status --json`: each commune's units online and offline and their faults, and every unit's status."""
    communes = {name: {"online": c.online, "offline": c.offline, "faults": c.faults}
                for name, c in by_commune(statuses, {}).items()}
    return {"communes": communes, "units": statuses, "untrusted_time": untrusted(statuses)}


def last_seen(status: dict[str, Any], tz: ZoneInfo) -> str:
    ts = status.get("ts")
    return datetime.fromtimestamp(ts / 1000, tz).strftime("%Y-%m-%d %H:%M") if ts else "-"



@dataclass(frozen=True)
class UnitTime:
    """What a unit's status says of its time: trusted or not, the source in use, its offset from the system clock.
    Units from before trusted time report only `clock_synced` (no source, no offset)."""

    trusted: bool
    source: str = ""
    offset_ms: int | None = None


def unit_time(status: dict[str, Any]) -> UnitTime | None:
    """None for a status that says nothing of time (an offline unit's last will)."""
    time_ = status.get("time")
    if isinstance(time_, dict):
        offset = time_.get("offset_ms")
        return UnitTime(time_.get("trusted") is True, str(time_.get("source") or ""),
                        offset if isinstance(offset, int) else None)
    if "clock_synced" in status:
        return UnitTime(status["clock_synced"] is True)
    return None


def untrusted(statuses: dict[str, dict[str, Any]]) -> list[str]:
    """The units, online, whose time is not trusted (sorted)."""
    return sorted(dev for dev, st in statuses.items()
                  if st.get("online") and (t := unit_time(st)) is not None and not t.trusted)


def offset_text(offset_ms: int | None) -> str:
    if offset_ms is None:
        return "-"
    return f"{offset_ms / 1000:+.1f} s" if abs(offset_ms) < 3_600_000 else f"{offset_ms / 3_600_000:+.1f} h"

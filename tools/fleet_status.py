"""`loa status`: a fleet overview from the units' retained status messages (online/offline per commune, last
seen, faults), for the provincial console.

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


def last_seen(status: dict[str, Any], tz: ZoneInfo) -> str:
    ts = status.get("ts")
    return datetime.fromtimestamp(ts / 1000, tz).strftime("%Y-%m-%d %H:%M") if ts else "-"


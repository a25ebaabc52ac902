"""What the dashboard knows of the fleet, from the units' reports (status, heartbeat, play log), and the view the page
draws: communes with units online and offline, each unit's faults, what plays now, the last plays, locations.

No I/O and no clock: messages arrive with the time they were received, and the view is plain JSON data. The feeding
thread is the only writer: it takes reports as they come and publishes the view (built once, encoded once) at most
a few times a second, so a province's heartbeats cost one view per publish, not one per heartbeat. Page threads read
`view` and `view_json`, one reference swapped whole.
Must not import the MQTT client, the web server, or the agent's runtime.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from province.console import json_object
from tools.fleet_status import by_commune

LAST_PLAYS = 30
HOT_C = 75.0  # a board this hot throttles and ages; outdoor boxes in the sun reach it before they fail
AMP_SILENT_W = 1.0  # an amplifier drawing less than this while its relays are on is not making sound
UNIT_FIELDS = ("role", "ver", "groups", "relays", "volume_pct", "heartbeat_s", "errors", "location", "health", "link",
               "playing", "queued")


@dataclass
class Unit:
    dev: str
    online: bool = False
    seen_ms: int = 0  # when the dashboard last heard from it (its own clock may be wrong)
    status: dict[str, Any] = field(default_factory=dict)


def faults(status: dict[str, Any], hot_c: float = HOT_C) -> list[str]:
    """The unit's faults: those it reports (`errors`) and those its sensors show (too hot, no mains, an amplifier
    that draws nothing while its relays are on)."""
    found = [str(e) for e in status.get("errors") or []]
    health = status.get("health") or {}
    temp = health.get("temp_c")
    if isinstance(temp, (int, float)) and temp >= hot_c:
        found.append("hot")
    if health.get("mains") is False:
        found.append("mains_off")
    amp = health.get("amp_w")
    if isinstance(amp, (int, float)) and amp < AMP_SILENT_W and any((status.get("relays") or {}).values()):
        found.append("amp_silent")
    return found


class Fleet:
    def __init__(self, hot_c: float = HOT_C) -> None:
        self.hot_c = hot_c
        self.units: dict[str, Unit] = {}
        self.plays: deque[dict[str, Any]] = deque(maxlen=LAST_PLAYS)
        self.version = 0
        self.view: dict[str, Any] = self._view(0)
        self.view_json = json.dumps(self.view, ensure_ascii=False).encode()
        self._dirty = False

    def take(self, dev: str, kind: str, payload: bytes, now_ms: int) -> None:
        """One report of a unit, received at now_ms; anything that is not a JSON object is ignored."""
        report = json_object(payload)
        if not report and kind != "status":
            return
        unit = self.units.setdefault(dev, Unit(dev))
        unit.seen_ms = now_ms
        if kind == "status":
            self._status(unit, report)
        elif kind == "hb":
            unit.online = True  # a heartbeat comes only over a live link
            unit.status.update({k: report[k] for k in ("location", "health", "link") if k in report})
        elif kind == "playlog":
            self.plays.appendleft({**_play(report), "dev": dev, "received_ms": now_ms})
        self._dirty = True

    def _status(self, unit: Unit, report: dict[str, Any]) -> None:
        unit.online = report.get("online") is True
        if unit.online:
            unit.status = {k: report[k] for k in UNIT_FIELDS if k in report}
        else:  # the last will says nothing else: keep where it stands and its commune, forget what it was doing
            unit.status = {**unit.status, "playing": None, "relays": {}, "queued": 0}

    def publish(self) -> bool:
        """A new view when reports came since the last one (True), else nothing."""
        if not self._dirty:
            return False
        self._dirty = False
        view = self._view(self.version + 1)
        self.view_json, self.view = json.dumps(view, ensure_ascii=False).encode(), view
        self.version = view["version"]  # last: a page thread never sees a version newer than the body it reads
        return True

    def _view(self, version: int) -> dict[str, Any]:
        units = sorted(self.units.values(), key=lambda u: u.dev)
        rows = [self._unit_row(u) for u in units]
        statuses = {u.dev: {"online": u.online, "groups": u.status.get("groups") or []} for u in units}
        communes = [{"name": name, "online": c.online, "offline": c.offline}
                    for name, c in by_commune(statuses, {}).items()]
        playing = [{"dev": r["dev"], "commune": r["commune"], **r["playing"]} for r in rows if r["playing"]]
        return {"version": version, "communes": communes, "units": rows, "playing": playing,
                "plays": list(self.plays)}

    def _unit_row(self, unit: Unit) -> dict[str, Any]:
        st = unit.status
        health = st.get("health") or {}
        return {"dev": unit.dev, "online": unit.online, "commune": (st.get("groups") or ["?"])[0],
                "seen_ms": unit.seen_ms, "faults": faults(st, self.hot_c), "location": _location(st.get("location")),
                "playing": _playing(st.get("playing")) if unit.online else None,
                "temp_c": health.get("temp_c"), "mains": health.get("mains"), "amp_w": health.get("amp_w"),
                "link": (st.get("link") or {}).get("type"), "ver": st.get("ver")}


def _location(value: Any) -> dict[str, float] | None:
    if not isinstance(value, dict):
        return None
    lat, lon = value.get("lat"), value.get("lon")
    if not (isinstance(lat, (int, float)) and isinstance(lon, (int, float))):
        return None
    return {"lat": float(lat), "lon": float(lon)} if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _playing(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {"title": str(value.get("title") or ""), "priority": str(value.get("priority") or "")}


def _play(record: dict[str, Any]) -> dict[str, Any]:
    """The fields of a play-log record the page shows (a report from the field: only plain values are kept)."""
    keep = ("title", "priority", "result", "started_ts", "ended_ts", "duration_s", "relay_confirmed")
    return {k: record[k] for k in keep if isinstance(record.get(k), (str, int, float, bool))}

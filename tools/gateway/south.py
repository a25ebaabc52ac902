"""The Loa side: what each unit last said (status, heartbeat), and which bodies its reports become, via the profile.

Fed one console message at a time by the service's loop (the only thread that touches it). Must not import the
HTTP client or the outbox.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from agent.core.topics import Topics
from province.console import json_object
from tools.gateway import mapping
from tools.gateway.profile import Profile

SUBSCRIBED = ("status", "hb", "playlog", "displaylog")
LOG_BODIES = {"playlog": "bulletin_log", "displaylog": "display_log"}


@dataclass
class UnitSeen:
    dev: str
    status: dict[str, Any] = field(default_factory=dict)
    hb: dict[str, Any] = field(default_factory=dict)
    seen_ms: int = 0
    next_ping_ms: int = 0


@dataclass(frozen=True)
class Outgoing:
    """A body for the HTTTN: its kind, its outbox key, whose login carries it."""

    kind: str
    key: str
    login: str
    body: dict[str, Any]


class South:
    def __init__(self, profile: Profile, topics: Topics, *, ping_s: int, wide_groups: tuple[str, ...]) -> None:
        self.profile, self.topics = profile, topics
        self.ping_ms = ping_s * 1000
        self.wide_groups = wide_groups
        self.units: dict[str, UnitSeen] = {}

    def filters(self) -> list[str]:
        return [self.topics.all_reports(kind) for kind in SUBSCRIBED]

    def heard(self, topic: str, payload: bytes, now_ms: int) -> Outgoing | None:
        """Take in one report; a play or display log that counts as a broadcast becomes a log body."""
        where = self.topics.device_of(topic)
        if where is None or where[1] not in SUBSCRIBED:
            return None
        dev, kind = where
        unit = self.units.setdefault(dev, UnitSeen(dev, next_ping_ms=now_ms + self._phase(dev)))
        unit.seen_ms = now_ms
        report = json_object(payload)
        if kind == "status":
            unit.status = report
        elif kind == "hb":
            unit.hb = report
        else:
            return self._log(unit, kind, report)
        return None

    def _phase(self, dev: str) -> int:
        """Each unit pings at its own point of the period, so a province's pings spread evenly over it."""
        return zlib.crc32(dev.encode()) % max(self.ping_ms, 1)

    def _log(self, unit: UnitSeen, kind: str, log: dict[str, Any]) -> Outgoing | None:
        if log.get("result") not in self.profile.results:
            return None
        name = LOG_BODIES[kind]
        body = mapping.body(self.profile, name, self._context(unit, log))
        ident = log.get("play_id") or f"{log.get('jti')}:{log.get('started_ts')}"
        return Outgoing(name, f"{name}:{unit.dev}:{ident}", self._login(unit.dev), body)

    def pings_due(self, now_ms: int) -> list[Outgoing]:
        """A ping for each live unit whose time has come (a silent or offline unit gets none: it is not connected)."""
        due = []
        for unit in self.units.values():
            if unit.next_ping_ms > now_ms:
                continue
            unit.next_ping_ms += self.ping_ms * max(1, 1 + (now_ms - unit.next_ping_ms) // max(self.ping_ms, 1))
            if self._alive(unit, now_ms):
                body = mapping.body(self.profile, "ping", self._context(unit, None))
                due.append(Outgoing("ping", f"ping:{unit.dev}", self._login(unit.dev), body))
        return due

    def _alive(self, unit: UnitSeen, now_ms: int) -> bool:
        heartbeat_s = unit.status.get("heartbeat_s")
        quiet_ms = 3 * 1000 * (heartbeat_s if isinstance(heartbeat_s, int) and heartbeat_s > 0 else 60)
        return unit.status.get("online") is True and now_ms - unit.seen_ms <= quiet_ms

    def _context(self, unit: UnitSeen, log: dict[str, Any] | None) -> mapping.Context:
        return mapping.context(self.profile, unit.dev, self._area(unit), unit.status, unit.hb, log)

    def _area(self, unit: UnitSeen) -> str:
        """The unit's commune: its first group that is not province-wide (membership is configuration)."""
        groups = unit.status.get("groups") or []
        return next((g for g in groups if isinstance(g, str) and g not in self.wide_groups), "")

    def _login(self, dev: str) -> str:
        return dev if self.profile.login.per_cluster else ""

"""A fake world for the core: a fake clock that fires the core's timers, a player that 'plays' for a set time,
and sources that prepare after a short delay. Records relay switches and audio on/off for invariants."""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from typing import Any

from agent.core.device import Device
from agent.core.effects import (
    CancelTimer,
    Effect,
    PlayAudio,
    Prepare,
    Publish,
    Reboot,
    SetRelay,
    StartTimer,
    StopAudio,
)
from agent.core.events import Event, PlayerEvent, Prepared, PrepareFailed, RelayObserved, TimerFired


@dataclass
class World:
    device: Device
    now: int
    durations_ms: dict[str, int] = field(default_factory=dict)  # per source key; default 3 s
    failing: set[str] = field(default_factory=set)  # play ids whose preparation fails
    prepare_ms: dict[str, int] = field(default_factory=dict)  # per play id; default 5 ms (a cache hit)
    relays: dict[int, bool] = field(default_factory=dict)
    audio: str | None = None
    timeline: list[tuple[int, str, Any]] = field(default_factory=list)
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _timers: dict[str, int] = field(default_factory=dict)
    _pending: list[tuple[int, int, Event]] = field(default_factory=list)
    _n: int = 0

    def feed(self, event: Event) -> None:
        for effect in self.device.handle(event):
            self._do(effect)

    def _later(self, at: int, event: Event) -> None:
        self._n += 1
        heapq.heappush(self._pending, (at, self._n, event))

    def _do(self, e: Effect) -> None:
        match e:
            case StartTimer(name=name, at_ms=at):
                self._timers[name] = at
            case CancelTimer(name=name):
                self._timers.pop(name, None)
            case SetRelay(zone=zone, on=on):
                self.relays[zone] = on
                self.timeline.append((self.now, "relay", (zone, on)))
                self._later(self.now, RelayObserved(self.now, zone, on))
            case Prepare(play_id=pid):
                at = self.now + self.prepare_ms.get(pid, 5)
                ev = PrepareFailed(at, pid, "hash_mismatch", "bad") if pid in self.failing else \
                    Prepared(at, pid, f"/cache/{pid}")
                self._later(at, ev)
            case PlayAudio(play_id=pid):
                self.audio = pid
                self.timeline.append((self.now, "audio", pid))
                self._later(self.now + 20, PlayerEvent(self.now + 20, pid, "started"))
                self._later(self.now + self.durations_ms.get(pid, 3000), PlayerEvent(0, pid, "finished"))
            case StopAudio(play_id=pid):
                if self.audio == pid:
                    self.audio = None
                    self.timeline.append((self.now, "audio", None))
            case Publish(topic=topic, payload=payload):
                self.published.append((topic.rsplit("/", 1)[-1], json.loads(payload) if payload else {}))
            case Reboot():
                self.timeline.append((self.now, "reboot", None))

    def run_until(self, t: int) -> None:
        """Advance the fake clock to t, firing timers and delayed events in time order."""
        while True:
            timer_at = min(self._timers.values(), default=None)
            event_at = self._pending[0][0] if self._pending else None
            nxt = min(x for x in (timer_at, event_at, t + 1) if x is not None)
            if nxt > t:
                self.now = t
                return
            self.now = nxt
            if timer_at == nxt:
                name = next(n for n, at in self._timers.items() if at == nxt)
                del self._timers[name]
                self.feed(TimerFired(nxt, name))
            else:
                _, _, event = heapq.heappop(self._pending)
                self._deliver(event)

    def _deliver(self, event: Event) -> None:
        if isinstance(event, PlayerEvent) and event.kind == "finished":
            if self.audio != event.play_id:
                return  # stopped before its end
            self.audio = None
            self.timeline.append((self.now, "audio", None))
        self.feed(type(event)(**{**{f: getattr(event, f) for f in event.__dataclass_fields__}, "now_ms": self.now}))

    def acks(self, jti: str) -> list[str]:
        return [m["state"] for k, m in self.published if k == "ack" and m.get("jti") == jti]

    def ack_codes(self, jti: str) -> list[str]:
        return [m["code"] for k, m in self.published if k == "ack" and m.get("jti") == jti]

    def playlogs(self) -> list[dict[str, Any]]:
        return [m for k, m in self.published if k == "playlog"]

    def audio_order(self) -> list[str]:
        return [pid for _, kind, pid in self.timeline if kind == "audio" and pid]

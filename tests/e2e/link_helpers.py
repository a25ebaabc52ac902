"""Helpers for end-to-end tests of the provincial link: follow one unit's reports through a console."""

from __future__ import annotations

import json
import time
from typing import Any

from agent.core.topics import Target
from province.console import Console
from tests.conftest import Unit


class UnitWatch:
    """Everything one unit reports, as seen by a console subscribed to its report topics."""

    def __init__(self, console: Console, unit: Unit) -> None:
        self.console, self.unit = console, unit
        self.seen: list[tuple[float, str, dict[str, Any]]] = []
        console.subscribe(*(console.topics.report(unit.device_id, k) for k in ("ack", "status", "event", "hb")))

    def pump(self, timeout: float, until: Any = None) -> bool:
        deadline = time.monotonic() + timeout
        for topic, payload, _ in self.console.messages(deadline):
            kind = topic.rsplit("/", 1)[-1]
            try:
                self.seen.append((time.monotonic(), kind, json.loads(payload)))
            except ValueError:
                continue
            if until is not None and until():
                return True
        return bool(until()) if until is not None else True

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for _, k, m in self.seen if k == kind]

    def acks(self, jti: str | None) -> list[dict[str, Any]]:
        return [a for a in self.of("ack") if a.get("jti") == jti]

    def states(self, jti: str | None) -> list[str]:
        return [a["state"] for a in self.acks(jti)]

    def last_status(self) -> dict[str, Any]:
        statuses = self.of("status")
        return statuses[-1] if statuses else {}

    def wait_online(self, timeout: float = 10) -> None:
        assert self.pump(timeout, lambda: self.last_status().get("online") is True), self.unit.output()

    def wait_acks(self, jti: str | None, final: set[str], timeout: float = 10) -> list[str]:
        self.pump(timeout, lambda: bool(set(self.states(jti)) & final))
        return self.states(jti)

    def send(self, key: Any, cmd: str, args: dict[str, Any], **sign: Any) -> str:
        return self.console.send(key, Target("dev", self.unit.device_id), cmd, args, **sign)

    def publish_raw(self, payload: bytes | str, *, retain: bool = False) -> None:
        self.console.publish(self.console.topics.device_command(self.unit.device_id), payload, retain=retain)

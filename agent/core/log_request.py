"""The read-only log request: staff of a commune (and the console) ask a unit for its staff log lines or play logs
without a signing key, on `dev/<id>/logreq` or `grp/<group>/logreq`; the unit answers on `dev/<id>/logs`.

No signature: the answer reveals only what the broker's ACL already lets the asker read (the unit's reports) and
changes nothing on the unit. What stops abuse is the ACL (only that commune's staff and the console may publish
there) and a rate limit: at most one answer per ANSWER_GAP_MS, later requests are dropped unanswered.

Pure: it returns effects through its host (the Device). Must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from agent.core import reports
from agent.core.effects import Effect, Publish
from agent.core.schemas import validator

LEVELS = ("debug", "info", "warning", "error")
ANSWER_GAP_MS = 10_000  # one answer per unit per 10 s, whoever asks: a flood costs the unit's 4G link nothing more


class Host(Protocol):
    def emit(self, effect: Effect) -> None: ...
    def topic(self, kind: str) -> str: ...


def select(source: Iterable[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
    """The most recent `limit` entries at or after `since_ts` and at or above `level` (as the `logs` command)."""
    since, limit = args.get("since_ts", 0), args.get("limit", 200)
    floor = LEVELS.index(args.get("level", "info"))
    return [e for e in source if e["ts"] >= since and LEVELS.index(e.get("level", "info")) >= floor][-limit:]


def parse(payload: bytes) -> dict[str, Any] | None:
    """The request's fields, or None for anything that is not a valid request (dropped without an answer)."""
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    if next(iter(validator("logreq").iter_errors(body)), None) is not None:
        return None
    return body if isinstance(body, dict) else None


class LogRequests:
    """Answers log requests, at most one per ANSWER_GAP_MS."""

    def __init__(self, host: Host, device_id: str) -> None:
        self.host, self.device_id = host, device_id
        self._answered_ms: int | None = None

    def arrived(self, now: int, payload: bytes, retained: bool, lines: Iterable[dict[str, Any]],
                playlogs: Iterable[dict[str, Any]]) -> None:
        """A retained request is dropped: it would be answered again at every reconnect of every unit."""
        body = None if retained else parse(payload)
        if body is None or not self._may_answer(now):
            return  # no answer, no log line: a flood of requests must cost nothing
        self._answered_ms = now
        kind = body.get("kind", "lines")
        entries = select(playlogs if kind == "playlog" else lines, body)
        answer = {"dev": self.device_id, "request": body["id"], "kind": kind, "entries": entries}
        self.host.emit(Publish(self.host.topic("logs"), reports.encode(answer), qos=1))

    def _may_answer(self, now: int) -> bool:
        """A clock stepped back (an earlier answer 'in the future') does not silence the unit for good."""
        last = self._answered_ms
        return last is None or not (last <= now < last + ANSWER_GAP_MS)

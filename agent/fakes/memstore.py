"""An in-memory store for simulated units (the agent runtime's Store port): the outbox, seen command ids, settings.

The outbox keeps the agent's semantics (ordered rows, excluded in-flight ids, a cap that drops rejections first)
without a disk. All stores of a shard share one Backlog, so the shard reads its total backlog in O(1).
Must not import paho or the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


class OutboxRow(NamedTuple):
    id: int
    topic: str
    payload: bytes
    qos: int


@dataclass
class Backlog:
    rows: int = 0
    peak: int = 0

    def add(self, n: int) -> None:
        self.rows += n
        self.peak = max(self.peak, self.rows)


class MemStore:
    def __init__(self, backlog: Backlog, *, max_outbox_rows: int = 100_000) -> None:
        self.backlog = backlog
        self.max_outbox_rows = max_outbox_rows
        self._rows: dict[int, tuple[OutboxRow, str]] = {}
        self._next = 1
        self.seen: dict[str, int] = {}
        self._settings: dict[str, Any] = {}

    def outbox_add(self, topic: str, payload: bytes, qos: int, kind: str, now_ms: int) -> int:
        row_id, self._next = self._next, self._next + 1
        self._rows[row_id] = (OutboxRow(row_id, topic, payload, qos), kind)
        self.backlog.add(1)
        if len(self._rows) > self.max_outbox_rows:
            self._trim()
        return row_id

    def _trim(self) -> None:
        victim = next((i for i, (_, kind) in self._rows.items() if kind == "reject"), next(iter(self._rows)))
        self.outbox_delete(victim)

    def outbox_pending(self, limit: int, exclude: set[int]) -> list[OutboxRow]:
        out: list[OutboxRow] = []
        for row_id, (row, _) in self._rows.items():
            if row_id not in exclude:
                out.append(row)
                if len(out) >= limit:
                    break
        return out

    def outbox_delete(self, row_id: int) -> None:
        if self._rows.pop(row_id, None) is not None:
            self.backlog.add(-1)

    def outbox_count(self) -> int:
        return len(self._rows)

    def remember_command(self, jti: str, keep_until_s: int, now_s: int) -> None:
        self.seen[jti] = keep_until_s

    def save_setting(self, key: str, value: Any) -> None:
        self._settings[key] = value

    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    def close(self) -> None:
        self.backlog.add(-len(self._rows))
        self._rows.clear()

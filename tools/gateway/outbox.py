"""The gateway's durable outbox (SQLite): everything bound for the HTTTN waits here until the HTTTN accepts it.

A log is kept once per (unit, play) however often the unit re-sends it; a ping replaces the unit's pending ping (a
late ping says nothing true). Rows are claimed by sender threads with a lease, so a crash re-sends rather than loses.
Must not import the HTTP client.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, kind TEXT NOT NULL, login TEXT NOT NULL, body TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'due', attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL DEFAULT 0,
  lease_ms INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', done_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_ms);
"""
LEASE_MS = 60_000


@dataclass(frozen=True)
class Item:
    id: int
    kind: str  # ping, bulletin_log, display_log
    login: str  # whose token carries it ("" for the gateway's own)
    body: dict[str, Any]
    attempts: int


class Outbox:
    """Thread-safe: one connection behind one lock (the HTTP calls, not SQLite, are what take time)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    def add_log(self, key: str, kind: str, login: str, body: dict[str, Any]) -> bool:
        """Queue a log once; False when that log was already queued or sent (a unit's re-send)."""
        with self._lock:
            cur = self._db.execute("INSERT OR IGNORE INTO outbox (key, kind, login, body) VALUES (?, ?, ?, ?)",
                                   (key, kind, login, json.dumps(body, ensure_ascii=False)))
        return cur.rowcount == 1

    def put_ping(self, key: str, login: str, body: dict[str, Any]) -> None:
        """Queue a ping in place of the unit's previous one, sent or not."""
        with self._lock:
            self._db.execute("INSERT INTO outbox (key, kind, login, body) VALUES (?, 'ping', ?, ?) ON CONFLICT(key) "
                             "DO UPDATE SET body=excluded.body, state='due', attempts=0, next_ms=0, lease_ms=0",
                             (key, login, json.dumps(body, ensure_ascii=False)))

    def claim(self, now_ms: int) -> Item | None:
        """The next due item, leased to the caller; None when nothing is due."""
        with self._lock:
            row = self._db.execute(
                "UPDATE outbox SET lease_ms=? WHERE id=(SELECT id FROM outbox WHERE state='due' AND next_ms<=? AND "
                "lease_ms<=? ORDER BY next_ms, id LIMIT 1) RETURNING id, kind, login, body, attempts",
                (now_ms + LEASE_MS, now_ms, now_ms)).fetchone()
        return Item(row[0], row[1], row[2], json.loads(row[3]), row[4]) if row else None

    def sent(self, item: Item, now_ms: int) -> None:
        self._set(item, "UPDATE outbox SET state='sent', done_ms=?, reason='' WHERE id=?", now_ms)

    def retry(self, item: Item, at_ms: int, reason: str) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET attempts=attempts+1, next_ms=?, lease_ms=0, reason=? WHERE id=?",
                             (at_ms, reason, item.id))

    def refused(self, item: Item, now_ms: int, reason: str) -> None:
        """The HTTTN said no to the body itself: kept for staff to read, never re-sent as it is."""
        with self._lock:
            self._db.execute("UPDATE outbox SET state='refused', done_ms=?, reason=? WHERE id=?",
                             (now_ms, reason, item.id))

    def _set(self, item: Item, sql: str, now_ms: int) -> None:
        with self._lock:
            self._db.execute(sql, (now_ms, item.id))

    def counts(self) -> dict[str, int]:
        """Rows per state and kind, e.g. {"due bulletin_log": 3}."""
        with self._lock:
            rows = self._db.execute("SELECT state, kind, COUNT(*) FROM outbox GROUP BY state, kind").fetchall()
        return {f"{s} {k}": n for s, k, n in rows}

    def prune(self, before_ms: int) -> None:
        """Forget sent logs older than the de-duplication window (pings are overwritten anyway)."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE state='sent' AND kind!='ping' AND done_ms<?", (before_ms,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

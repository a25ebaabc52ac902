"""The gateway's bulletin registry (SQLite, beside the outbox): for each HTTTN bulletin id, what was sent for it
(targets, jtis, the stored item, its slots), and each target's programme version, so cancel and reschedule work
after a gateway restart. Must not import the console or the HTTP client.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS bulletins (
  n INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, record TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
  updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS programmes (target TEXT PRIMARY KEY, version INTEGER NOT NULL);
"""


@dataclass
class Record:
    """What the gateway did for one bulletin."""

    id: str
    title: str
    areas: list[str]
    targets: list[str]  # audiences, e.g. grp:xa-a
    ref: str = ""  # the id it is stored under on units ("" when played now)
    media: dict[str, str] = field(default_factory=dict)  # url, sha256
    slots: list[dict[str, Any]] = field(default_factory=list)  # its programme slots (the same on every target)
    plays: dict[str, str] = field(default_factory=dict)  # audience -> jti of the play/display sent now
    jtis: list[str] = field(default_factory=list)  # every command sent for it
    bulletin: dict[str, Any] = field(default_factory=dict)  # the bulletin as read (bulletin_read.Bulletin)


class Registry:
    """Thread-safe: one connection behind one lock."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)

    def get(self, bulletin_id: str) -> Record | None:
        """The active bulletin with this id, or None."""
        with self._lock:
            row = self._db.execute("SELECT record FROM bulletins WHERE id=? AND active=1", (bulletin_id,)).fetchone()
        return Record(**json.loads(row[0])) if row else None

    def put(self, record: Record, now_ms: int) -> None:
        text = json.dumps(asdict(record), ensure_ascii=False)
        with self._lock:
            self._db.execute("INSERT INTO bulletins (id, record, updated_ms) VALUES (?, ?, ?) ON CONFLICT(id) DO "
                             "UPDATE SET record=excluded.record, active=1, updated_ms=excluded.updated_ms",
                             (record.id, text, now_ms))

    def retire(self, bulletin_id: str, now_ms: int) -> None:
        """Cancelled: kept for the record, no longer active (its id may be sent again)."""
        with self._lock:
            self._db.execute("UPDATE bulletins SET active=0, updated_ms=? WHERE id=?", (now_ms, bulletin_id))

    def programme(self, target: str, without: str = "") -> list[dict[str, Any]]:
        """The slots of the active bulletins scheduled on target, in the order they came (but `without`)."""
        with self._lock:
            rows = self._db.execute("SELECT record FROM bulletins WHERE active=1 AND id!=? ORDER BY n",
                                    (without,)).fetchall()
        records = [Record(**json.loads(r[0])) for r in rows]
        return [s for r in records if target in r.targets for s in r.slots]

    def next_version(self, target: str, now_ms: int) -> int:
        """Greater than any version sent to target before, and than the time in seconds (so it is also newer than
        the small counters a console starts from)."""
        with self._lock:
            row = self._db.execute("SELECT version FROM programmes WHERE target=?", (target,)).fetchone()
            version = max((row[0] if row else 0) + 1, now_ms // 1000)
            self._db.execute("INSERT INTO programmes (target, version) VALUES (?, ?) ON CONFLICT(target) DO UPDATE "
                             "SET version=excluded.version", (target, version))
        return version

    def close(self) -> None:
        with self._lock:
            self._db.close()

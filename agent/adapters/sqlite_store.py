"""The on-device store in SQLite (WAL, synchronous=FULL): the durable outbox, seen command ids, persisted settings.

Only this file imports sqlite3. Must not import the core or paho.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, NamedTuple

from agent.errors import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL,
    qos INTEGER NOT NULL, kind TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen_commands (jti TEXT PRIMARY KEY, keep_until_s INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class OutboxRow(NamedTuple):
    id: int
    topic: str
    payload: bytes
    qos: int


class SqliteStore:
    """Every write is committed before the call returns: a report is on disk before it is ever published."""

    def __init__(self, path: Path, *, max_outbox_rows: int = 100_000) -> None:
        self.path = path
        self.max_outbox_rows = max_outbox_rows
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the store {path}: {exc} ({exc.__class__.__name__})") from exc

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: {exc} ({getattr(exc, 'sqlite_errorname', exc.__class__.__name__)})") from exc

    # ---- outbox --------------------------------------------------------------------------------------------

    def outbox_add(self, topic: str, payload: bytes, qos: int, kind: str, now_ms: int) -> int:
        cur = self._run("INSERT INTO outbox(topic, payload, qos, kind, created_ms) VALUES (?,?,?,?,?)",
                        (topic, payload, qos, kind, now_ms))
        self._trim()
        return int(cur.lastrowid or 0)

    def _trim(self) -> None:
        """Bound the outbox: beyond the cap, rejections of hostile commands go first, then the oldest rows."""
        excess = self.outbox_count() - self.max_outbox_rows
        if excess > 0:
            self._run("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY kind != 'reject', id LIMIT ?)",
                      (excess,))

    def outbox_pending(self, limit: int, exclude: set[int]) -> list[OutboxRow]:
        rows = self._run("SELECT id, topic, payload, qos FROM outbox ORDER BY id LIMIT ?",
                         (limit + len(exclude),)).fetchall()
        return [OutboxRow(*r) for r in rows if r[0] not in exclude][:limit]

    def outbox_delete(self, row_id: int) -> None:
        self._run("DELETE FROM outbox WHERE id = ?", (row_id,))

    def outbox_count(self) -> int:
        return int(self._run("SELECT count(*) FROM outbox").fetchone()[0])

    # ---- seen command ids ----------------------------------------------------------------------------------

    def remember_command(self, jti: str, keep_until_s: int) -> None:
        self._run("INSERT OR REPLACE INTO seen_commands VALUES (?, ?)", (jti, keep_until_s))

    def seen_commands(self, now_s: int) -> dict[str, int]:
        self._run("DELETE FROM seen_commands WHERE keep_until_s < ?", (now_s,))
        return dict(self._run("SELECT jti, keep_until_s FROM seen_commands").fetchall())

    # ---- settings ------------------------------------------------------------------------------------------

    def save_setting(self, key: str, value: Any) -> None:
        self._run("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value)))

    def settings(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._run("SELECT key, value FROM settings").fetchall()}

    def integrity_ok(self) -> bool:
        return self._run("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        self._db.close()

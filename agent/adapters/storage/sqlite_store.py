"""The on-device store in SQLite (WAL, 1 KiB pages, synchronous=FULL; the deletion of a sent row NORMAL): the
durable outbox, seen command ids, persisted settings.

A full card must not silence the unit: the store still opens (its WAL index then kept in memory), reads what it
holds, and command ids that SQLite cannot write go to a reserve set aside while there was room (id_reserve.py). What
went wrong at opening is kept in `open_fault` for status and staff logs.

Only this file imports sqlite3. Must not import the core or paho.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from agent.adapters.storage.id_reserve import IdReserve
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
        self.open_fault: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot open the store {path}: {exc} ({exc.__class__.__name__})") from exc
        self._db = self._open()
        self._reserve = self._open_reserve()

    def _open(self) -> sqlite3.Connection:
        """As usual; on a full disk (the WAL index cannot be created) with the WAL index in memory, which SQLite
        allows to the only process using the file; as a last resort in memory, so that the unit still plays."""
        problems = []
        for target, exclusive in ((str(self.path), False), (str(self.path), True), (":memory:", False)):
            db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
            try:
                if exclusive:
                    db.execute("PRAGMA locking_mode=EXCLUSIVE")
                # small pages for a new store: a commit rewrites whole pages, and its rows are small (half the
                # bytes per report on an SD card than with 4 KiB pages); an existing store keeps its size
                db.execute("PRAGMA page_size=1024")
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(SCHEMA)
            except sqlite3.Error as exc:
                db.close()
                problems.append(f"{exc} ({getattr(exc, 'sqlite_errorname', exc.__class__.__name__)})")
                continue
            if problems:
                where = "nothing kept across a restart" if target == ":memory:" else "read, but writes wait for room"
                self.open_fault = f"store {self.path}: {problems[0]}; {where}"
            return db
        raise StoreError(f"cannot open the store {self.path}: {'; '.join(problems)}")

    def _open_reserve(self) -> IdReserve | None:
        try:
            return IdReserve(self.path.with_name(self.path.stem + ".ids"))
        except (OSError, StoreError) as exc:  # no room to set it aside: command ids then depend on SQLite alone
            self.open_fault = self.open_fault or f"store {self.path}: no reserve for command ids: {exc}"
            return None

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
        """A sent row's deletion waits for the kernel's next writeback instead of an fsync of its own: if power fails
        first, the row is simply sent again (at least once). Spares the card a flush per report."""
        with self._synchronous("NORMAL"):
            self._run("DELETE FROM outbox WHERE id = ?", (row_id,))

    @contextlib.contextmanager
    def _synchronous(self, mode: str) -> Iterator[None]:
        self._run(f"PRAGMA synchronous={mode}")
        try:
            yield
        finally:
            self._run("PRAGMA synchronous=FULL")

    def outbox_count(self) -> int:
        return int(self._run("SELECT count(*) FROM outbox").fetchone()[0])

    # ---- seen command ids ----------------------------------------------------------------------------------

    def remember_command(self, jti: str, keep_until_s: int, now_s: int) -> None:
        try:
            self._run("INSERT OR REPLACE INTO seen_commands VALUES (?, ?)", (jti, keep_until_s))
        except StoreError:
            if self._reserve is None:
                raise
            self._reserve.remember(jti, keep_until_s, now_s)

    def seen_commands(self, now_s: int) -> dict[str, int]:
        with contextlib.suppress(StoreError):  # the clean-up may wait for room: expired ids are not read anyway
            self._run("DELETE FROM seen_commands WHERE keep_until_s < ?", (now_s,))
        seen = dict(self._run("SELECT jti, keep_until_s FROM seen_commands WHERE keep_until_s >= ?", (now_s,)))
        return seen | (self._reserve.ids(now_s) if self._reserve else {})

    # ---- settings ------------------------------------------------------------------------------------------

    def save_setting(self, key: str, value: Any) -> None:
        self._run("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, json.dumps(value)))

    def settings(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._run("SELECT key, value FROM settings").fetchall()}

    def integrity_ok(self) -> bool:
        return bool(self._run("PRAGMA integrity_check").fetchone()[0] == "ok")

    def close(self) -> None:
        self._db.close()
        if self._reserve:
            self._reserve.close()

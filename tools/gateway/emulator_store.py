"""The emulated HTTTN's memory (SQLite): who logged in, the last ping of each cluster, every bulletin log, and the
province's indicator computed from them. Must not import the HTTP server."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS clusters (id TEXT PRIMARY KEY, area TEXT NOT NULL, area_name TEXT NOT NULL,
  first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, pings INTEGER NOT NULL, last TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (n INTEGER PRIMARY KEY, kind TEXT NOT NULL, cluster TEXT NOT NULL,
  at_ms INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logins (n INTEGER PRIMARY KEY, username TEXT NOT NULL, at_ms INTEGER NOT NULL);
"""


class Store:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # a stand-in: speed over surviving a power cut
            self._db.executescript(SCHEMA)

    def login(self, username: str, now_ms: int) -> None:
        self._run("INSERT INTO logins (username, at_ms) VALUES (?, ?)", (username, now_ms))

    def ping(self, cluster: str, area: str, area_name: str, body: dict[str, Any], now_ms: int) -> None:
        self._run("INSERT INTO clusters VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT(id) DO UPDATE SET area=excluded.area, "
                  "area_name=excluded.area_name, last_ms=excluded.last_ms, pings=pings+1, last=excluded.last",
                  (cluster, area, area_name, now_ms, now_ms, _text(body)))

    def log(self, kind: str, cluster: str, body: dict[str, Any], now_ms: int) -> None:
        self._run("INSERT INTO logs (kind, cluster, at_ms, body) VALUES (?, ?, ?, ?)",
                  (kind, cluster, now_ms, _text(body)))

    def indicator(self, now_ms: int, within_ms: int) -> dict[str, Any]:
        """Clusters connected (pinged within the window) / total (ever registered), for the province and per area."""
        rows = self._rows("SELECT area, area_name, last_ms FROM clusters", ())
        areas: dict[str, dict[str, Any]] = {}
        for area, name, last_ms in rows:
            a = areas.setdefault(area, {"area": area, "name": name, "connected": 0, "total": 0})
            a["total"] += 1
            a["connected"] += int(now_ms - last_ms <= within_ms)
        return {"connected": sum(a["connected"] for a in areas.values()), "total": len(rows),
                "areas": sorted(areas.values(), key=lambda a: str(a["area"]))}

    def clusters(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT id, area, area_name, first_ms, last_ms, pings, last FROM clusters ORDER BY id", ())
        return [{"id": r[0], "area": r[1], "area_name": r[2], "first_ms": r[3], "last_ms": r[4], "pings": r[5],
                 "last": json.loads(r[6])} for r in rows]

    def logs(self, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self._rows("SELECT n, kind, cluster, at_ms, body FROM logs ORDER BY n DESC LIMIT ?", (limit,))
        return [{"n": r[0], "kind": r[1], "cluster": r[2], "at_ms": r[3], "body": json.loads(r[4])} for r in rows]

    def logins(self) -> dict[str, int]:
        """How many times each user logged in (a token refresh shows as a second login)."""
        return {str(u): int(n) for u, n in self._rows("SELECT username, COUNT(*) FROM logins GROUP BY username", ())}

    def _run(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(sql, params)

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _text(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)

"""The gateway's registry of clusters (SQLite, beside the outbox): which clusters the HTTTN registered (with a hash of
the auth code it gave) and the area it assigned each to. Survives restarts. Must not import the server or the console.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS clusters (id TEXT PRIMARY KEY, code_hash TEXT NOT NULL, area TEXT NOT NULL DEFAULT '',
  registered_ms INTEGER NOT NULL, client TEXT NOT NULL, area_ms INTEGER NOT NULL DEFAULT 0);
"""


@dataclass(frozen=True)
class Entry:
    id: str
    area: str
    client: str  # the credential that registered it


class Registry:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)

    def register(self, cluster: str, code: str, client: str, now_ms: int) -> bool:
        """Recorded; False when the cluster is registered already with another auth code (the first one holds)."""
        digest = hashlib.sha256(f"{cluster}\0{code}".encode()).hexdigest()
        with self._lock:
            row = self._db.execute("SELECT code_hash FROM clusters WHERE id = ?", (cluster,)).fetchone()
            if row is not None:
                return bool(row[0] == digest)
            self._db.execute("INSERT INTO clusters (id, code_hash, registered_ms, client) VALUES (?, ?, ?, ?)",
                             (cluster, digest, now_ms, client))
            return True

    def assign(self, cluster: str, area: str, now_ms: int) -> bool:
        """False when the cluster was never registered."""
        with self._lock:
            cur = self._db.execute("UPDATE clusters SET area = ?, area_ms = ? WHERE id = ?", (area, now_ms, cluster))
            return cur.rowcount == 1

    def get(self, cluster: str) -> Entry | None:
        with self._lock:
            row = self._db.execute("SELECT id, area, client FROM clusters WHERE id = ?",
                                   (cluster,)).fetchone()
        return Entry(*row) if row else None

    def in_area(self, area: str) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM clusters WHERE area = ? ORDER BY id", (area,))]

    def close(self) -> None:
        with self._lock:
            self._db.close()

"""The inbound API's audit log: one JSON line per call (when, which credential, the operator the HTTTN named, which
operation, the areas and units addressed, the result, the jtis sent), beside the outbox; rotated by size, keeping a
bounded number of old files (audit.jsonl.1 is the newest of them). Never holds a token. Must not import the server.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


class Audit:
    def __init__(self, path: Path, *, max_bytes: int, keep: int) -> None:
        self.path, self.max_bytes, self.keep = path, max_bytes, keep
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._open()

    def _open(self) -> Any:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        return os.fdopen(fd, "a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            if self._file.tell() + len(line.encode()) > self.max_bytes:
                self._rotate()
            self._file.write(line)
            self._file.flush()

    def _rotate(self) -> None:
        self._file.close()
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = self._open()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read(path: Path) -> list[dict[str, Any]]:
    """Every record of the current file, oldest first (for tests and for staff tools)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

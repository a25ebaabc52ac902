"""Staff log lines on the card: a bounded ring of two JSON-lines segments that survives restarts, written in batches.

Lines wait in memory until `flush()` (the runtime calls it on a timer, agent.runtime.staff_log); a batch is one
append to the current segment. When a segment holds `segment_lines`, the other one is emptied and takes over, so the
card never holds more than two segments and nothing is ever rewritten in place. No fsync: a power cut loses at
most the lines of one batch (the journal has them too), and the card is spared a flush per batch.

Only this file touches the segments. Must not import the core or the runtime.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from agent.errors import StoreError

SEGMENTS = ("staff-log.0.jsonl", "staff-log.1.jsonl")


class StaffLogRing:
    def __init__(self, folder: Path, *, segment_lines: int = 500) -> None:
        self.folder, self.segment_lines = folder, segment_lines
        self._pending: list[dict[str, Any]] = []
        kept = [self._read(folder / name) for name in SEGMENTS]
        self._seq = max((e["n"] for seg in kept for e in seg), default=0)
        self._current = max(range(len(SEGMENTS)), key=lambda i: max((e["n"] for e in kept[i]), default=-1))
        self._in_current = len(kept[self._current])
        self._recent = sorted((e for seg in kept for e in seg), key=lambda e: e["n"])
        self._cut = self._ends_mid_line(folder / SEGMENTS[self._current])  # a power cut during the last append

    def recent(self) -> list[dict[str, Any]]:
        """The lines the card held when the ring was opened, oldest first, as the core keeps them
        ({ts, level, key, params})."""
        return [{k: v for k, v in e.items() if k != "n"} for e in self._recent]

    def add(self, entry: dict[str, Any]) -> None:
        self._seq += 1
        self._pending.append({"n": self._seq, **entry})
        del self._pending[:-self.segment_lines]  # a card that cannot be written keeps at most one segment waiting

    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> None:
        """Append the waiting lines (one write per segment they fill); raises StoreError when the card refuses."""
        while self._pending:
            if self._in_current >= self.segment_lines:
                self._switch()
            room = self.segment_lines - self._in_current
            batch, rest = self._pending[:room], self._pending[room:]
            self._append(batch)
            self._pending, self._in_current = rest, self._in_current + len(batch)

    def close(self) -> None:
        """The last batch; a card that refuses it loses those lines (the journal still has them)."""
        with contextlib.suppress(StoreError):
            self.flush()

    def _switch(self) -> None:
        self._current = 1 - self._current
        self._in_current, self._cut = 0, False
        self._write(self.folder / SEGMENTS[self._current], "w", "")

    def _append(self, batch: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":"), default=str) + "\n" for e in batch)
        self._write(self.folder / SEGMENTS[self._current], "a", "\n" * self._cut + text)
        self._cut = False

    def _write(self, path: Path, mode: str, text: str) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open(mode, encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise StoreError(f"staff log {path}: {exc.strerror or exc} ({exc.__class__.__name__})") from exc

    @staticmethod
    def _ends_mid_line(path: Path) -> bool:
        try:
            with path.open("rb") as f:
                f.seek(0, 2)
                if f.tell() == 0:
                    return False
                f.seek(-1, 2)
                return f.read(1) != b"\n"
        except OSError:
            return False

    @staticmethod
    def _read(path: Path) -> list[dict[str, Any]]:
        """A segment's lines; a line cut short by a power failure (or any that does not parse) is skipped."""
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        out = []
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("n"), int) and isinstance(entry.get("ts"), int):
                out.append(entry)
        return out

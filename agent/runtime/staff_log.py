"""Where a staff log line goes once the core has made it: to the system journal at once (rendered in the unit's
language, its key as a field), and to the card's ring (agent.ports.StaffLog) in batches, so that the card is
written rarely: a batch waits up to BATCH_S, a warning or an error up to URGENT_S, and a full batch goes at once.

Runs on the loop thread. Must not import an adapter: it names the StaffLog port only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent import i18n
from agent.errors import StoreError
from agent.ports import StaffLog
from agent.runtime.loop import Loop, TimerHandle

log = logging.getLogger("loa.agent")
BATCH_S = 300.0  # an SD card page costs the same for one line or fifty: a quiet unit writes it a few times an hour
URGENT_S = 30.0  # a warning or an error is on the card before most power cuts that follow it
BATCH_LINES = 50


class StaffLines:
    def __init__(self, loop: Loop, ring: StaffLog | None, on_error: Callable[[str], None], language: str) -> None:
        self.loop, self.ring, self.on_error, self.language = loop, ring, on_error, language
        self._timer: TimerHandle | None = None
        self._due = float("inf")  # loop time the armed flush fires at

    def line(self, now_ms: int, level: str, key: str, params: dict[str, Any]) -> None:
        text = i18n.render(self.language, key, params)
        log.log(logging.getLevelName(level.upper()), text, extra={"loa_key": key})  # a journal field (LOA_KEY)
        if self.ring is None:
            return
        self.ring.add({"ts": now_ms, "level": level, "key": key, "params": params})
        if self.ring.pending() >= BATCH_LINES:
            self.flush()
        else:
            self._arm(URGENT_S if level in ("warning", "error") else BATCH_S)

    def _arm(self, delay_s: float) -> None:
        due = self.loop.time() + delay_s
        if due < self._due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._due = self.loop.call_later(delay_s, self.flush), due

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._due = None, float("inf")
        if self.ring is None:
            return
        try:
            self.ring.flush()
        except StoreError as exc:  # the lines stay waiting (bounded); the fault shows until a write succeeds
            self.on_error(str(exc))

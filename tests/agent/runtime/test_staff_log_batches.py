"""Staff log lines reach the card in batches: an info line waits up to BATCH_S, a warning or an error up to
URGENT_S, a full batch goes at once; a card that refuses is the store fault, and the lines wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from agent.errors import StoreError
from agent.runtime.loop import Loop
from agent.runtime.staff_log import BATCH_LINES, BATCH_S, URGENT_S, StaffLines


class Handle:
    def __init__(self, when: float, fn: Callable[[], None]) -> None:
        self.when, self.fn, self.cancelled = when, fn, False

    def cancel(self) -> None:
        self.cancelled = True


class ManualLoop:
    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[Handle] = []

    def time(self) -> float:
        return self.now

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> Handle:
        self.handles.append(Handle(self.now + delay_s, fn))
        return self.handles[-1]

    def advance(self, to: float) -> None:
        self.now = to
        for h in [h for h in self.handles if h.when <= to and not h.cancelled]:
            h.cancelled = True
            h.fn()


class Ring:
    def __init__(self, fail: bool = False) -> None:
        self.waiting: list[dict[str, Any]] = []
        self.batches: list[int] = []
        self.fail = fail

    def add(self, entry: dict[str, Any]) -> None:
        self.waiting.append(entry)

    def pending(self) -> int:
        return len(self.waiting)

    def flush(self) -> None:
        if self.fail:
            raise StoreError("staff log: No space left on device (OSError)")
        if self.waiting:
            self.batches.append(len(self.waiting))
        self.waiting = []


def lines(ring: Ring, errors: list[str] | None = None) -> tuple[ManualLoop, StaffLines]:
    loop = ManualLoop()
    return loop, StaffLines(cast(Loop, loop), ring, (errors if errors is not None else []).append, "vi")


def test_info_lines_wait_for_one_batch() -> None:
    ring = Ring()
    loop, staff = lines(ring)
    for n in range(3):
        staff.line(n, "info", "link_up", {})
    loop.advance(BATCH_S - 1)
    assert ring.batches == []
    loop.advance(BATCH_S)
    assert ring.batches == [3]


def test_a_warning_brings_the_batch_forward() -> None:
    ring = Ring()
    loop, staff = lines(ring)
    staff.line(0, "info", "link_up", {})
    loop.advance(10)
    staff.line(1, "warning", "link_down", {"reason": "x", "retry_s": 1})
    loop.advance(10 + URGENT_S)
    assert ring.batches == [2]
    loop.advance(BATCH_S + 60)
    assert ring.batches == [2]  # the earlier timer was cancelled: no empty flush


def test_a_full_batch_goes_at_once() -> None:
    ring = Ring()
    _, staff = lines(ring)
    for n in range(BATCH_LINES):
        staff.line(n, "info", "link_up", {})
    assert ring.batches == [BATCH_LINES]


def test_a_card_that_refuses_is_the_store_fault() -> None:
    errors: list[str] = []
    ring = Ring(fail=True)
    loop, staff = lines(ring, errors)
    staff.line(0, "error", "relay_stuck", {"zone": 1, "commanded": True, "actual": False})
    loop.advance(URGENT_S)
    assert errors and "No space left" in errors[0] and ring.pending() == 1

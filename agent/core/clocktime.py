"""Wall-clock arithmetic the core needs (quiet-hour windows, local minutes), from times it is given.

Must not read the clock itself.
"""

from __future__ import annotations

import re

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def parse_window(text: str) -> tuple[int, int] | None:
    """'22:00-05:00' -> (start, end) in minutes after midnight; None when malformed."""
    m = _WINDOW.match(text)
    if not m:
        return None
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    return (h1 * 60 + m1, h2 * 60 + m2)


def in_window(minute: int, window: tuple[int, int]) -> bool:
    """Whether a minute of the day falls inside a window that may wrap past midnight."""
    start, end = window
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end

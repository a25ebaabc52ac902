"""The commune programme: slots in the unit's time zone — daily, on weekdays, or on given dates, each within an
optional date range — and when the next one starts.

Pure: times are given in ms since the epoch; the time zone object is given (built once by the composition root).
Must not import adapters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from agent.core.clocktime import in_window

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLOT_GRACE_S = 300  # a slot that started at most this long before the unit found a trusted time still plays


@dataclass(frozen=True, slots=True)
class Slot:
    index: int
    days: tuple[int, ...]  # ISO weekdays, 1 = Monday
    at_s: int  # seconds after local midnight
    source: dict[str, Any]
    title: str
    duration_s: int | None
    volume_pct: int | None
    zones: tuple[int, ...] | None
    dates: tuple[date, ...] = ()  # one-off dates (kind once): only these, whatever `days` says
    first: date | None = None  # the date range it plays in (`from`, `to`, local dates, both included)
    last: date | None = None

    def plays_on(self, day: date) -> bool:
        if (self.first and day < self.first) or (self.last and day > self.last):
            return False
        return day in self.dates if self.dates else day.isoweekday() in self.days

    def days_from(self, today: date) -> list[date]:
        """The days it may play on from `today`: its dates, or a week of days from the later of today and `from`."""
        if self.dates:
            return [d for d in self.dates if d >= today]
        begin = max(today, self.first or today)
        return [begin + timedelta(days=n) for n in range(8)]

    @property
    def at_minute(self) -> int:
        return self.at_s // 60

    def label(self) -> str:
        days = self.dates[0].isoformat() if self.dates else ",".join(DAY_NAMES[d - 1] for d in self.days)
        return f"slot {self.index + 1} ({days} {self.at_s // 3600:02d}:{self.at_s // 60 % 60:02d})"


def parse_slots(raw: list[dict[str, Any]]) -> tuple[Slot, ...]:
    """Slots from schedule args that already passed the JSON Schema; ValueError for a date that does not exist
    (2026-02-30) or a range that ends before it begins."""
    return tuple(_slot(i, s) for i, s in enumerate(raw))


def _slot(i: int, s: dict[str, Any]) -> Slot:
    first, last = _date(s.get("from")), _date(s.get("to"))
    if first and last and last < first:
        raise ValueError(f"slot {i + 1}: 'to' {last} is before 'from' {first}")
    return Slot(
        index=i, days=tuple(sorted(set(s.get("days", range(1, 8))))), at_s=_seconds(s["at"]),
        source=s["source"], title=s.get("title", ""), duration_s=s.get("duration_s"),
        volume_pct=s.get("volume_pct"), zones=tuple(s["zones"]) if s.get("zones") else None,
        dates=tuple(sorted({_checked_date(i, d) for d in s.get("dates", ())})), first=first, last=last,
    )


def _date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _checked_date(i: int, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"slot {i + 1}: {text!r} is not a date") from None


def _seconds(hhmm: str) -> int:
    """'05:30' or '05:30:15' -> seconds after midnight."""
    parts = [int(p) for p in hhmm.split(":")] + [0]
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def quiet_conflict(slots: tuple[Slot, ...], window: tuple[int, int] | None) -> Slot | None:
    """The first slot whose start, or any minute it may play, falls inside the quiet window."""
    if window is None:
        return None
    for slot in slots:
        length_min = max(1, -(-(slot.duration_s or 60) // 60))
        if any(in_window((slot.at_minute + m) % 1440, window) for m in range(length_min)):
            return slot
    return None


def next_start(slots: tuple[Slot, ...], after_ms: int, tz: tzinfo) -> tuple[int, tuple[Slot, ...]] | None:
    """The earliest start strictly after `after_ms` and every slot starting then (None when no slot plays again)."""
    today = datetime.fromtimestamp(after_ms / 1000, tz).date()
    starts = [(t, s) for s in slots if (t := _next_of(s, today, after_ms, tz)) is not None]
    if not starts:
        return None
    first = min(t for t, _ in starts)
    return first, tuple(s for t, s in starts if t == first)


def _next_of(slot: Slot, today: date, after_ms: int, tz: tzinfo) -> int | None:
    for day in slot.days_from(today):
        if slot.last and day > slot.last:
            return None
        if slot.plays_on(day) and (t := _start_ms(day, slot, tz)) > after_ms:
            return t
    return None


def late_starts(slots: tuple[Slot, ...], now_ms: int, tz: tzinfo) -> list[tuple[int, tuple[Slot, ...]]]:
    """The starts in the last SLOT_GRACE_S up to `now_ms` (included), oldest first, with their slots."""
    found, after = [], now_ms - SLOT_GRACE_S * 1000
    while (nxt := next_start(slots, after, tz)) is not None and nxt[0] <= now_ms:
        found.append(nxt)
        after = nxt[0]
    return found


def _start_ms(day: date, slot: Slot, tz: tzinfo) -> int:
    local = datetime.combine(day, time(slot.at_s // 3600, slot.at_s // 60 % 60, slot.at_s % 60), tz)
    return int(local.timestamp() * 1000)


def local_minute(now_ms: int, tz: tzinfo) -> int:
    local = datetime.fromtimestamp(now_ms / 1000, tz)
    return local.hour * 60 + local.minute


def window_opens_ms(now_ms: int, window: tuple[int, int], tz: tzinfo) -> int:
    """When a quiet window that contains `now_ms` ends (the next local time equal to its end minute)."""
    local = datetime.fromtimestamp(now_ms / 1000, tz)
    end = local.replace(hour=window[1] // 60, minute=window[1] % 60, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return int(end.timestamp() * 1000)

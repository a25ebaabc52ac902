"""The programme's date rules (what the HTTTN's schedules need): a slot within a date range (`from`/`to`), a slot
on one-off dates (kind once, weeks ahead), the kinds daily/weekly/once, and dates that do not exist refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.agent.core.device_helpers import sound_device
from tests.agent.core.test_sound import VN, send
from tests.agent.core.world import World

DAY_MS = 86_400_000
START = int(datetime(2026, 12, 1, 6, 0, tzinfo=VN).timestamp() * 1000)  # Tuesday 1 December 2026, 06:00


def programmed(slots: list[dict[str, Any]]) -> World:
    w = World(sound_device(), now=START)
    send(w, "store", {"id": "bt", "url": "http://x/b.mp3", "sha256": "b" * 64}, "st")
    w.run_until(START + 1000)
    send(w, "schedule", {"version": 1, "slots": slots}, "sc")
    return w


def played_dates(w: World) -> list[str]:
    return [datetime.fromtimestamp(p["started_ts"] / 1000, VN).strftime("%Y-%m-%d %H:%M")
            for p in w.playlogs() if p["jti"] is None]


def test_a_daily_slot_plays_only_within_its_date_range() -> None:
    w = programmed([{"kind": "daily", "at": "07:00", "source": {"ref": "bt"}, "from": "2026-12-03", "to": "2026-12-05"}])
    w.run_until(START + 10 * DAY_MS)
    assert w.acks("sc") == ["accepted", "finished"]
    assert played_dates(w) == ["2026-12-03 07:00", "2026-12-04 07:00", "2026-12-05 07:00"]


def test_a_weekly_slot_with_a_range_starting_weeks_ahead_is_armed() -> None:
    w = programmed([{"kind": "weekly", "days": [1], "at": "07:00", "source": {"ref": "bt"}, "from": "2026-12-20"}])
    w.run_until(START + 30 * DAY_MS)
    assert played_dates(w) == ["2026-12-21 07:00", "2026-12-28 07:00"]


def test_one_off_dates_play_once_each_even_weeks_ahead() -> None:
    w = programmed([{"kind": "once", "dates": ["2026-12-24", "2026-12-02", "2027-01-10"], "at": "19:30:00",
                     "source": {"ref": "bt"}}])
    w.run_until(START + 45 * DAY_MS)
    assert played_dates(w) == ["2026-12-02 19:30", "2026-12-24 19:30", "2027-01-10 19:30"]


def test_a_date_today_whose_time_has_passed_is_not_played_late() -> None:
    w = programmed([{"dates": ["2026-12-01"], "at": "05:00", "source": {"ref": "bt"}}])
    w.run_until(START + 3 * DAY_MS)
    assert w.acks("sc") == ["accepted", "finished"] and played_dates(w) == []


def test_the_programme_ends_after_its_last_date() -> None:
    w = programmed([{"at": "07:00", "source": {"ref": "bt"}, "to": "2026-12-02"}])
    w.run_until(START + 5 * DAY_MS)
    assert played_dates(w) == ["2026-12-01 07:00", "2026-12-02 07:00"]
    assert w.device.sound is not None and w.device.sound.armed is None


def bad(slot: dict[str, Any]) -> list[str]:
    w = programmed([{"at": "07:00", "source": {"ref": "bt"}} | slot])
    w.run_until(START + 2000)
    return w.ack_codes("sc")


def test_impossible_or_contradictory_dates_are_refused() -> None:
    assert bad({"dates": ["2026-02-30"]}) == ["bad_args"]
    assert bad({"from": "2026-12-10", "to": "2026-12-03"}) == ["bad_args"]
    assert bad({"dates": ["2026-13-01"]}) == ["bad_args"]
    assert bad({"kind": "once"}) == ["bad_args"]  # once needs dates
    assert bad({"kind": "weekly"}) == ["bad_args"]  # weekly needs days
    assert bad({"kind": "daily", "days": [1]}) == ["bad_args"]
    assert bad({"days": [1], "dates": ["2026-12-24"]}) == ["bad_args"]


def test_the_week_ahead_limit_is_gone_but_weekly_slots_still_repeat() -> None:
    w = programmed([{"days": [2], "at": "07:00", "source": {"ref": "bt"}}])
    w.run_until(START + 15 * DAY_MS)
    first = datetime(2026, 12, 1, 7, 0, tzinfo=VN)
    assert played_dates(w) == [(first + timedelta(days=7 * n)).strftime("%Y-%m-%d %H:%M") for n in range(3)]

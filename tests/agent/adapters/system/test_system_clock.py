"""The system clock and its test hook: an offset file named by LOA_TEST_CLOCK_OFFSET_FILE moves the clock (read
again at most every 0.2 s); a clock years behind in `auto` mode, where timesyncd does not run, is not synchronised."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent.adapters.system import system_clock
from agent.adapters.system.system_clock import OFFSET_ENV, SystemClock


def test_without_the_hook_it_is_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OFFSET_ENV, raising=False)
    assert abs(SystemClock().now_ms() - time.time() * 1000) < 1000


def test_the_offset_file_moves_the_clock_and_a_bad_file_counts_as_none(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    offset = tmp_path / "offset"
    offset.write_text("3600")
    monkeypatch.setenv(OFFSET_ENV, str(offset))
    clock = SystemClock("assume")
    assert abs(clock.now_ms() - (time.time() + 3600) * 1000) < 1000
    offset.write_text("-1.5")
    time.sleep(system_clock.OFFSET_REREAD_S + 0.05)
    assert abs(clock.now_ms() - (time.time() - 1.5) * 1000) < 500
    offset.write_text("soon")
    time.sleep(system_clock.OFFSET_REREAD_S + 0.05)
    assert abs(clock.now_ms() - time.time() * 1000) < 500


def test_a_clock_years_behind_is_unsynchronised_in_auto_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_clock, "TIMESYNC_FLAG", tmp_path / "no-timesyncd" / "synchronized")
    offset = tmp_path / "offset"
    offset.write_text(str(-20 * 365 * 86400))
    monkeypatch.setenv(OFFSET_ENV, str(offset))
    assert SystemClock("auto").synced() is False and SystemClock("assume").synced() is True
    offset.write_text("0")
    assert SystemClock("auto").synced() is True

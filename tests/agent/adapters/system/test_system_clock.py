"""The system clock and its test hook: an offset file named by LOA_TEST_CLOCK_OFFSET_FILE moves the clock (read
again at most every 0.2 s) and, while not zero, makes the clock unsynchronised in every mode; `kernel` reads the
kernel's flag (adjtimex), or timesyncd's flag file where adjtimex is refused (ProtectClock)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent.adapters.system import kernel_time, system_clock
from agent.adapters.system.kernel_time import STA_UNSYNC, TIME_ERROR, kernel_synced, read_adjtimex, synchronised
from agent.adapters.system.system_clock import OFFSET_ENV, SystemClock
from agent.config import unit as config
from agent.errors import ConfigError


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


@pytest.mark.parametrize("state, status, synced", [
    (0, 0, True),  # TIME_OK
    (1, 0, True),  # TIME_INS: a leap second is coming, still synchronised
    (TIME_ERROR, 0, False),
    (0, STA_UNSYNC, False),
    (0, STA_UNSYNC | 0x1, False),
    (-1, 0, False),
])
def test_the_kernel_flag(state: int, status: int, synced: bool) -> None:
    assert synchronised(state, status) is synced


def test_adjtimex_is_read_for_real() -> None:
    state, status = read_adjtimex()
    assert 0 <= state <= 5 and status >= 0
    assert kernel_synced() is synchronised(state, status)


def test_where_adjtimex_is_refused_timesyncds_flag_file_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused() -> tuple[int, int]:
        raise OSError(1, "adjtimex: EPERM")

    monkeypatch.setattr(kernel_time, "read_adjtimex", refused)
    flag = tmp_path / "synchronized"
    assert kernel_synced(flag) is False
    flag.touch()
    assert kernel_synced(flag) is True


def test_a_clock_moved_by_the_hook_is_unsynchronised_in_every_mode(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A clock a year behind reads a plausible date: only the flag (here the hook playing an unset clock) tells."""
    monkeypatch.setattr(system_clock, "kernel_synced", lambda: True)
    offset = tmp_path / "offset"
    offset.write_text(str(-365 * 86400))
    monkeypatch.setenv(OFFSET_ENV, str(offset))
    assert [SystemClock(m).synced() for m in ("kernel", "assume", "none")] == [False, False, False]
    offset.write_text("0")
    assert [SystemClock(m).synced() for m in ("kernel", "assume", "none")] == [True, True, False]
    monkeypatch.setattr(system_clock, "kernel_synced", lambda: False)
    assert SystemClock("kernel").synced() is False and SystemClock("assume").synced() is True


def test_the_old_modes_are_refused_with_the_new_ones_named() -> None:
    raw = {"device": {"id": "u1"}, "mqtt": {"url": "mqtts://b"}, "trust": {"jwks": "t.jwks", "time_sync": "auto"}}
    with pytest.raises(ConfigError, match='trust.time_sync.*"auto" is no longer a mode: use "kernel"'):
        config.parse(raw)
    assert config.parse({**raw, "trust": {"jwks": "t.jwks"}}).trust.time_sync == "kernel"
    with pytest.raises(ValueError, match="must be one of kernel, assume, none"):
        SystemClock("systemd")

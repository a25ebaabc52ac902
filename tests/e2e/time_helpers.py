"""Helpers for end-to-end trusted-time tests: units whose clock boots wrong (the test hook
LOA_TEST_CLOCK_OFFSET_FILE: a moved clock is not synchronised), with NTP absent unless a test gives a server, and a
scripted modem for the cellular network's time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.adapters.system.system_clock import OFFSET_ENV
from agent.fakes.scripted_modem import ScriptedModem
from tests.chrony import free_udp_port
from tests.conftest import Unit
from tests.e2e.sound_helpers import FAST_POWER, LOCAL_STREAMS

YEAR_S = 365 * 86400
BOOTS: dict[str, Callable[[], float]] = {  # how far the unit's clock is from the true time when it boots
    "1970": lambda: 86400 - time.time(),  # 2 January 1970, as a board without a battery-backed clock boots
    "a year old": lambda: -YEAR_S,  # the time saved at a shutdown a year ago: a date that looks sane
    "ten years ahead": lambda: 10 * YEAR_S,
}
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def modem() -> Iterator[ScriptedModem]:
    m = ScriptedModem(noise=True).start()
    yield m
    m.stop()


@pytest.fixture
def booted(make_unit: Callable[..., Unit], tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Callable[..., Unit]:
    """A unit whose clock is `offset_s` away from the true time from its first instant (trust.time_sync = assume:
    only the hook makes it unsynchronised)."""

    def boot(offset_s: float, audio: dict[str, Any] | None = None, **sections: dict[str, Any]) -> Unit:
        clock_file = tmp_path / f"clock-offset-{time.monotonic_ns()}"
        clock_file.write_text(f"{offset_s:.3f}")
        monkeypatch.setenv(OFFSET_ENV, str(clock_file))
        sections.setdefault("time", {"ntp_servers": [f"127.0.0.1:{free_udp_port()}"], "ntp_untrusted_poll_s": 2,
                                     "ntp_timeout_s": 0.5})  # NTP absent: nothing answers there
        unit = make_unit(start=False, audio={"output": "wav:wavs", "quiet_hours": "off", **FAST_POWER, **(audio or {})},
                         sources=LOCAL_STREAMS, reports={"heartbeat_s": 5}, **sections)
        unit.start()
        return unit

    return boot

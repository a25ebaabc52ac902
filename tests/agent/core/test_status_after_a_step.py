"""The status after the agent's time steps backwards (a unit that booted years ahead finds the true time): the
change goes out at once, not when the old clock's coalescing gap would have passed (years later)."""

from __future__ import annotations

from agent.core.events import ClockSyncChanged
from tests.agent.core.device_helpers import T0, arrive, make_device, statuses

TEN_YEARS_MS = 10 * 365 * 86_400_000


def test_a_status_change_after_a_backward_step_goes_out_at_once() -> None:
    device = make_device()
    device.state.clock_synced = False  # booted with a clock nobody set
    ahead = T0 + TEN_YEARS_MS
    assert statuses(arrive(device, "ping", {}, "p0", ahead))  # sent on the wrong clock, ten years ahead
    effects = device.handle(ClockSyncChanged(T0 + 5, True, "network", -TEN_YEARS_MS, -TEN_YEARS_MS))
    sent = statuses(effects)
    assert sent, effects
    assert sent[-1]["ts"] == T0 + 5

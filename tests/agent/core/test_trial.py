"""The launcher's decisions as a table: marker -> what to switch to, what to run, what to write."""

from __future__ import annotations

from typing import Any

import pytest

from agent.core import trial

PENDING = {"jti": "u1", "version": "0.2.0", "slot": "b", "previous": "a", "from_version": "0.1.0", "state": "pending"}
TRYING = PENDING | {"state": "trying", "tried_ms": 5}


@pytest.mark.parametrize("marker, current, run, switch_to, writes_trial, clears, outcome", [
    (None, "a", "a", None, False, False, False),
    (None, "base", "base", None, False, False, False),
    (PENDING, "a", "b", "b", True, False, False),
    (PENDING, "b", "b", "b", True, False, False),  # the switch was done, the marker write was not: do both again
    (TRYING, "b", "a", "a", False, True, True),
    (TRYING | {"previous": "base"}, "b", "base", "base", False, True, True),
    (PENDING | {"slot": "c"}, "a", "a", None, False, True, False),
    (PENDING | {"slot": "a"}, "a", "a", None, False, True, False),  # slot == previous: nonsense
    (PENDING | {"state": "kept"}, "a", "a", None, False, True, False),
    ({"state": "pending"}, "a", "a", None, False, True, False),
])
def test_plan(marker: dict[str, Any] | None, current: str, run: str, switch_to: str | None, writes_trial: bool,
              clears: bool, outcome: bool) -> None:
    boot = trial.plan(marker, current, now_ms=1000)
    assert (boot.run, boot.switch_to, boot.trial is not None, boot.clear_trial, boot.outcome is not None) == (
        run, switch_to, writes_trial, clears, outcome)


def test_a_pending_release_is_tried_once_with_the_time_it_was_tried() -> None:
    boot = trial.plan(PENDING, "a", now_ms=1234)
    assert boot.trial == PENDING | {"state": "trying", "tried_ms": 1234}
    again = trial.plan(boot.trial, "b", now_ms=9999)
    assert again.run == "a" and again.outcome is not None and again.outcome["code"] == "update_no_start"
    assert again.outcome["jti"] == "u1" and "0.2.0" in again.outcome["msg"]


@pytest.mark.parametrize("marker, running, watched", [
    (TRYING, "b", True), (TRYING, "a", False), (PENDING, "b", False), (None, "b", False),
])
def test_only_the_slot_on_trial_is_watched(marker: dict[str, Any] | None, running: str, watched: bool) -> None:
    assert trial.on_trial(marker, running) is watched
    assert trial.trying(marker) is (marker is TRYING)


@pytest.mark.parametrize("quick, delay", [(0, 0.5), (1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (50, 30.0)])
def test_restart_delay_backs_off_while_the_agent_keeps_dying(quick: int, delay: float) -> None:
    assert trial.restart_delay_s(quick) == delay

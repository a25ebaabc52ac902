"""What the launcher starts, decided from the trial marker: a pending release is switched to and tried once; a release
still on trial at the next start did not prove itself healthy (it crashed, hung, or failed its check) and is rolled
back to the slot it replaced. Also how long to wait before starting an agent that stopped again.

Pure: tables in tests. Must not import adapters or any I/O module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SLOTS = ("a", "b")
RUNNABLE = ("a", "b", "base")
STATES = ("pending", "trying")
MAX_DELAY_S = 30.0


@dataclass(frozen=True)
class Boot:
    """The launcher's steps before a start, to be done in this order: outcome, switch, trial marker."""

    run: str  # the slot to run: a, b or base
    switch_to: str | None = None  # point `current` here first
    trial: dict[str, Any] | None = None  # write this trial marker
    clear_trial: bool = False
    outcome: dict[str, Any] | None = None  # write this outcome, unless the agent already wrote its own
    note: str = ""  # a staff log key saying what happened


def plan(marker: dict[str, Any] | None, current: str, now_ms: int) -> Boot:
    if marker is None:
        return Boot(run=current)
    if not valid(marker):
        return Boot(run=current, clear_trial=True, note="launcher_bad_marker")
    if marker["state"] == "pending":
        trying = {**marker, "state": "trying", "tried_ms": now_ms}
        return Boot(run=marker["slot"], switch_to=marker["slot"], trial=trying, note="launcher_trial")
    return Boot(run=marker["previous"], switch_to=marker["previous"], clear_trial=True,
                outcome=outcome(marker, "it stopped before its health check passed"), note="launcher_rollback")


def valid(marker: dict[str, Any]) -> bool:
    return (
        isinstance(marker.get("jti"), str) and isinstance(marker.get("version"), str)
        and marker.get("slot") in SLOTS and marker.get("previous") in RUNNABLE
        and marker.get("slot") != marker.get("previous") and marker.get("state") in STATES
    )


def outcome(marker: dict[str, Any], reason: str) -> dict[str, Any]:
    """Why a trial ended in a roll-back, in the words the rolled-back version reports."""
    return {"jti": marker.get("jti"), "code": "update_no_start", "version": marker.get("version"),
            "msg": f"release {marker.get('version')} did not come up healthy: {reason}"}


def trying(marker: dict[str, Any] | None) -> bool:
    """A release was started on trial and has not kept itself yet (it removes the marker when healthy)."""
    return marker is not None and valid(marker) and marker["state"] == "trying"


def on_trial(marker: dict[str, Any] | None, running: str) -> bool:
    """Whether the process just started in `running` is a trial the launcher must watch."""
    return trying(marker) and marker is not None and marker["slot"] == running


def restart_delay_s(quick_exits: int) -> float:
    """Like systemd's RestartSec with steps: 0.5 s after a first stop, doubling up to 30 s while it keeps dying."""
    return 0.5 if quick_exits <= 1 else min(MAX_DELAY_S, 0.5 * 2 ** (quick_exits - 1))

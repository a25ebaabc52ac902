"""The core's time rule: nothing timed runs on a time the unit does not trust (docs/protocol.md, 3.4 and 4), and the
signed time beacon (`time`), the province's own time source.

While no source is trusted the programme does not fire, and normal, priority and programme items, and timed e-board
bulletins, wait; emergencies always play. When a trusted time is found, or the trusted time steps, the desks arm
their wall-time timers again from the corrected time and judge `until` and quiet hours by it. Which sources are
trusted is agent.core.timekeeping's rule, applied by the runtime's clock; this module only follows its verdicts.

Pure: must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from agent.core.effects import Effect, ObserveTime
from agent.core.events import ClockSyncChanged
from agent.core.timekeeping import BEACON
from agent.core.verify import Command

if TYPE_CHECKING:
    from agent.core.device_state import DeviceState
    from agent.core.eboard import BoardDesk
    from agent.core.sound import SoundDesk

BEACON_SKEW_MS = 5000  # a beacon's t_ms and its signed iat come from the same signer, at the same moment
BEACON_ERROR_MS = 2000  # the delivery delay of a beacon is unknown: a QoS 0 message on a 4G link
FLOOR_SLACK_MS = 1000  # iat counts whole seconds: a t_ms up to 1 s before the floor is the same moment


class Host(Protocol):
    """What the time rule needs from the device core."""

    state: DeviceState
    sound: SoundDesk | None
    board: BoardDesk | None

    def emit(self, effect: Effect) -> None: ...
    def ack(self, now: int, jti: str | None, cmd: str | None, state: str, code: str, msg: str) -> None: ...
    def log(self, level: str, key: str, **params: Any) -> None: ...


def beacon_problem(t_ms: int, iat_s: int, floor_s: int) -> tuple[str, str] | None:
    """Why a verified beacon's time must not be used; None when it may. `floor_s` already counts the beacon's iat."""
    if abs(t_ms - iat_s * 1000) > BEACON_SKEW_MS:
        return ("bad_args", f"t_ms is {t_ms - iat_s * 1000} ms from the token's iat; a beacon's must be within 5 s")
    if t_ms < floor_s * 1000 - FLOOR_SLACK_MS:
        return ("stale", f"t_ms is {floor_s * 1000 - t_ms} ms before the unit's time floor: an old beacon")
    return None


def verify_now_s(state: DeviceState, now_ms: int) -> int:
    """The time commands are verified against (s): the trusted time, or without one the time floor alone. An
    untrusted clock adds nothing: one that lags is below the floor anyway, and one that runs ahead (a unit booting
    years ahead) would refuse every command as expired, emergencies included, and forget the ids it must remember."""
    return now_ms // 1000 if state.clock_synced else state.time_floor_s


class TimeDesk:
    """Follows the trusted time for the desks; answers `time` beacons."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def started(self, now: int, synced: bool, source: str | None, offset_ms: int) -> None:
        st = self.host.state
        st.clock_synced, st.time_source, st.time_offset_ms = synced, source if synced else None, offset_ms if synced else 0
        self._desks_trust(synced)
        if not synced:
            self.host.log("warning", "time_untrusted")

    def changed(self, e: ClockSyncChanged) -> None:
        st = self.host.state
        was, old_source, old_offset = st.clock_synced, st.time_source, st.time_offset_ms
        st.clock_synced = e.synced
        st.time_source, st.time_offset_ms = (e.source, e.offset_ms) if e.synced else (None, 0)
        if (was, old_source, old_offset) != (st.clock_synced, st.time_source, st.time_offset_ms):
            st.status_dirty = True
        self._log_change(was, old_source, e)
        self._desks_trust(e.synced)
        if e.synced and (not was or e.step_ms != 0):
            self._retime(e.now_ms, e.step_ms)

    def _log_change(self, was: bool, old_source: str | None, e: ClockSyncChanged) -> None:
        offset_s = round(e.offset_ms / 1000, 1)
        if e.synced and not was:
            self.host.log("info", "time_trusted", source=e.source or "-", offset_s=offset_s)
        elif was and not e.synced:
            self.host.log("warning", "time_untrusted")
        elif e.synced and e.source != old_source:
            self.host.log("info", "time_source_changed", source=e.source or "-", offset_s=offset_s)

    def _desks_trust(self, trusted: bool) -> None:
        if self.host.sound:
            self.host.sound.trust(trusted)
        if self.host.board:
            self.host.board.trusted = trusted

    def _retime(self, now: int, step_ms: int) -> None:
        """Timers armed on the old time fire at the wrong moment: arm them again from the corrected time."""
        if self.host.sound:
            self.host.sound.retime(now)
        if self.host.board:
            self.host.board.retime(now, step_ms)

    def beacon(self, c: Command, now: int) -> None:
        """A verified `time` beacon: its time is handed to the agent's clock. No ack (every unit of a province gets
        one every few minutes); a refusal is answered, counted and logged like any other."""
        t_ms = int(c.args["t_ms"])
        problem = beacon_problem(t_ms, c.iat, self.host.state.time_floor_s)
        if problem:
            self.host.ack(now, c.jti, c.cmd, "rejected", problem[0], problem[1])
            return
        self.host.emit(ObserveTime(BEACON, t_ms, BEACON_ERROR_MS))

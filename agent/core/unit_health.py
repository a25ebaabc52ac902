"""What the province's system (HTTTN) asks of a unit beside its sound: where it stands, how warm it is, whether it
has mains and amplifier power, how full its card is, and how it is linked (docs/protocol.md 5.2, `health`, `link`).

Readings come as events (Telemetry from the modem, UnitReadings from the unit's sensors); this module keeps them
and says what the status and heartbeat carry. Pure: must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

from typing import Any

from agent.core.device_state import DeviceSettings, DeviceState
from agent.core.events import Telemetry, UnitReadings

# Only these republish the status when they change; the others move all the time and ride on the heartbeat.
MODEM_SLOW: tuple[str, ...] = ("operator", "registration", "iccid")
READINGS_SLOW: tuple[str, ...] = ("mains", "link_type")


def observe(state: DeviceState, event: Telemetry | UnitReadings) -> None:
    """Keep the newest readings; mark the status for republishing when a slow-moving one changed."""
    if isinstance(event, Telemetry):
        old, new, slow = state.modem, dict(event.modem), MODEM_SLOW
        state.modem = new
    else:
        old, new, slow = state.readings, dict(event.readings), READINGS_SLOW
        state.readings = new
    if any(new.get(k) != old.get(k) for k in slow):
        state.status_dirty = True


def body(s: DeviceSettings, st: DeviceState) -> dict[str, Any]:
    """`location`, `health` and `link`, as the status and the heartbeat carry them (null where nothing is known)."""
    r = st.readings
    used, total = r.get("storage_used_bytes"), r.get("storage_total_bytes")
    location = None if s.location is None else {"lat": s.location[0], "lon": s.location[1]}
    return {
        "location": location,
        "health": {"temp_c": r.get("temp_c"), "mains": r.get("mains"), "amp_w": r.get("amp_w"),
                   "storage": None if used is None or total is None else {"used_bytes": used, "total_bytes": total}},
        "link": {"type": s.link_type or r.get("link_type"), "signal_dbm": st.modem.get("signal_dbm")},
    }


def beat(s: DeviceSettings, st: DeviceState) -> dict[str, Any]:
    """The heartbeat's share: as in the status, but without a location the unit does not have (it stays small)."""
    out = body(s, st)
    return out if out["location"] is not None else {k: v for k, v in out.items() if k != "location"}

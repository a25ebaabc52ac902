"""The unit's retained status report: what it says (the device core decides when it goes out).

Pure: must not import adapters, runtime or any I/O module, and never reads the clock (times come as arguments).
"""

from __future__ import annotations

from typing import Any

from agent.core.device_state import DeviceSettings, DeviceState
from agent.core.unit_health import body as health_body


def body(s: DeviceSettings, st: DeviceState, now: int, *desks: dict[str, Any]) -> dict[str, Any]:
    """The status document (docs/protocol/status.json); each desk adds its own fields."""
    out: dict[str, Any] = {
        "online": True, "dev": s.device_id, "role": s.role, "ver": s.version, "ts": now,
        "relays": {str(z): on for z, on in sorted(st.relays.items())},
        "volume_pct": s.volume_pct, "heartbeat_s": s.heartbeat_s, "groups": list(s.groups),
        "clock_synced": st.clock_synced, "time": time_body(st), "rejected": dict(sorted(st.rejected.items())), "since_ts": st.started_ms,
        "errors": sorted(st.faults),
        **({"modem": st.modem} if st.modem else {}), **health_body(s, st),
        **({"install": s.install} if s.install else {}),
        **({"broker": {"index": st.broker[0], "host": st.broker[1]}} if st.broker[1] else {}),
    }
    for fields in desks:
        out |= fields
    return out



def time_body(st: DeviceState) -> dict[str, Any]:
    """Whether the unit has a trusted time, its source and its offset to the system clock (status and heartbeat)."""
    return {"trusted": st.clock_synced, "source": st.time_source, "offset_ms": st.time_offset_ms}

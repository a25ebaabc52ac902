"""The view the unit's pages read: a copy of what the status page and the kiosk need, built on the loop thread after
every event and handed to the page server whole (its handler threads never see the core itself).

Must not import adapters; reads the device core but never changes it.
"""

from __future__ import annotations

from typing import Any

from agent.core.device import Device

LOG_LINES, PLAY_LOGS = 50, 20


def build(device: Device, now_ms: int) -> dict[str, Any]:
    st = device.state
    return {
        "ts": now_ms,
        "status": device.status(now_ms),
        "link_up": st.online,
        "outbox": st.outbox,
        "board": device.board.view() if device.board else None,
        "logs": list(st.log_lines)[-LOG_LINES:],
        "playlogs": list(st.playlogs)[-PLAY_LOGS:],
    }

"""What a unit's core is set up with (DeviceSettings) and what it remembers between events (DeviceState).

Values only, shared by the device core and its unit desk. Pure: must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from agent.core.backoff import RECONNECT_MAX_S, RECONNECT_MIN_S
from agent.core.eboard import BoardSettings
from agent.core.sound import SoundSettings
from agent.core.topics import Topics
from agent.core.update import UpdateSettings
from agent.core.verify import Command, Policy

HISTORY = 500  # recent log lines and play logs the unit can send back on a `logs` command
# A beacon's id stays in memory and the floor it raises reaches the card at most this often (docs/protocol.md 4.2).
BEACON_FLOOR_SAVE_S = 3600
STATUS_MIN_GAP_MS = 800  # the first change at once, later ones coalesced: "within 1 s of any change", with room
# for the link; an emergency to a whole province then costs its server one or two statuses per unit, not four


@dataclass(frozen=True)
class DeviceSettings:
    device_id: str
    groups: tuple[str, ...]
    zones: tuple[int, ...]
    version: str
    policy: Policy
    topics: Topics = field(default_factory=Topics)
    role: str = "cluster"
    heartbeat_s: int = 60
    volume_pct: int = 70
    max_volume_pct: int = 90
    reconnect_min_s: float = RECONNECT_MIN_S
    reconnect_max_s: float = RECONNECT_MAX_S
    reconnect_jitter: bool = True
    sound: SoundSettings | None = None
    update: UpdateSettings = field(default_factory=UpdateSettings)  # release updates (agent.core.update)
    board: BoardSettings | None = None  # an e-board (role eboard)
    location: tuple[float, float] | None = None  # latitude, longitude from provisioning (agent.core.unit_health)
    link_type: str | None = None  # cellular, ethernet or wifi when configured; else as the unit's sensors find it
    install: dict[str, str] | None = None  # how the unit's first boot went (firstrun.sh's firstboot.json)


@dataclass
class DeviceState:
    """What the core remembers between events; the runtime restores the persisted parts at start."""

    seen: dict[str, int] = field(default_factory=dict)
    time_floor_s: int = 0
    time_floor_saved_s: int = 0  # the floor last saved: a beacon's floor is saved at most every BEACON_FLOOR_SAVE_S
    relays: dict[int, bool] = field(default_factory=dict)
    relay_jobs: dict[int, Command] = field(default_factory=dict)
    online: bool = False
    broker: tuple[int, str] = (0, "")  # the broker of the link: its index in the ordered list, host:port
    clock_synced: bool = True  # a trusted time (agent.core.time_rule): else only emergencies play
    time_source: str | None = None  # the source of the trusted time (agent.core.timekeeping), None while untrusted
    time_offset_ms: int = 0  # the trusted time minus the system clock
    outbox: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    started_ms: int = 0
    status_sent_ms: int = -STATUS_MIN_GAP_MS
    status_dirty: bool = False
    status_timer_ms: int | None = None  # when the armed status timer fires (not armed again for the same moment)
    observed: dict[int, bool] = field(default_factory=dict)  # relay read-back
    faults: dict[str, str] = field(default_factory=dict)  # name -> detail, shown as status "errors"
    stuck: set[int] = field(default_factory=set)  # zones whose read-back disagrees with the command
    modem: dict[str, Any] = field(default_factory=dict)
    readings: dict[str, Any] = field(default_factory=dict)  # the unit's own sensors (agent.core.unit_health)
    saved: dict[str, Any] = field(default_factory=dict)  # settings persisted by earlier runs
    log_lines: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    playlogs: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY))

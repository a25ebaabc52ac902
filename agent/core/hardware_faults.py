"""Hardware faults in the core: an adapter's operation that raised (a relay switch or its read-back, a play, a stop)
becomes a fault in the status `errors` and a staff log line, and is done again with capped backoff until it
succeeds, when the fault clears. Audio never waits for a relay: the playout goes on, and its play log says whether
the relay was confirmed. When the co-processor answers again after an outage, every relay's commanded state is sent
again (its fail-safe cut them while the agent could not reach it).

Pure: it returns effects through its host (the Device). Must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Protocol

from agent.core.arbiter import Item
from agent.core.backoff import Backoff
from agent.core.device_state import DeviceState
from agent.core.effects import Effect, PlayAudio, SetRelay, StopAudio
from agent.core.events import HardwareFailed

PREFIX = "hw:"  # retry timers, one per part: hw:relays, hw:player
RETRY_MIN_S = 1.0
RETRY_MAX_S = 10.0  # a relay that comes back is switched within this; each try may cost the loop a serial timeout
PARTS = ("relays", "player")
FAULT_OF = {"relays": "relay_io", "player": "player"}  # the status `errors` name of each part's fault


class Host(Protocol):
    """What the hardware faults need from the device core."""

    def emit(self, effect: Effect) -> None: ...
    def timer(self, name: str, at_ms: int) -> None: ...
    def cancel(self, name: str) -> None: ...
    def fault(self, name: str, active: bool, detail: str) -> None: ...


class HardwareFaults:
    """`current` is the sound desk's playing item (None on a unit without sound): a failed play is tried again only
    while its item is still the one to play."""

    def __init__(self, host: Host, state: DeviceState, rng: random.Random, current: Callable[[], Item | None]) -> None:
        self.host, self.state, self.current = host, state, current
        self.backoff = {part: Backoff(RETRY_MIN_S, RETRY_MAX_S, rng) for part in PARTS}
        self.pending: dict[str, dict[tuple[str, int, str], HardwareFailed]] = {part: {} for part in PARTS}

    def failed(self, e: HardwareFailed) -> None:
        if e.part not in PARTS:
            return
        if e.part == "relays":
            self.state.observed.pop(e.zone, None)  # not confirmed: a play starting now must not claim it is on
        what = f"zone {e.zone}" if e.part == "relays" else e.play_id
        self._show(e.part, True, f"{e.op} {what}: {e.detail}")
        first = not self.pending[e.part]
        op = "set" if e.part == "relays" else e.op  # a failed read-back is redone by switching again, like a set
        self.pending[e.part][(op, e.zone, e.play_id)] = e
        if first:
            delay_ms = int(self.backoff[e.part].next_delay_s() * 1000)
            self.host.timer(PREFIX + e.part, e.now_ms + delay_ms)

    def fault(self, name: str, active: bool, detail: str) -> None:
        """A Fault event: a part's fault clears only when nothing of it waits to be tried again."""
        part = next((p for p, f in FAULT_OF.items() if f == name), None)
        if part is not None and not active:
            if self.pending[part]:
                return
            self.backoff[part].reset()
        self.host.fault(name, active, detail)
        if name == "coproc" and not active:
            for zone, on in sorted(self.state.relays.items()):
                self.host.emit(SetRelay(zone, on))

    def timer(self, now: int, name: str) -> None:
        part = name[len(PREFIX):]
        if part not in PARTS:
            return
        due, self.pending[part] = self.pending[part], {}
        effects = [fx for fx in map(self._redo, due.values()) if fx is not None]
        for fx in effects:
            self.host.emit(fx)
        if not effects:  # nothing left to try (the play ended meanwhile): the fault has no cause any more
            self.fault(FAULT_OF[part], False, "")

    def _redo(self, e: HardwareFailed) -> Effect | None:
        """The operation to do again, as things stand now (not as they were when it failed)."""
        if e.part == "relays":
            return SetRelay(e.zone, self.state.relays.get(e.zone, False))
        item = self.current()
        if item is None or item.play_id != e.play_id:
            return StopAudio(e.play_id) if e.op == "stop" else None
        return PlayAudio(item.play_id, item.media, item.volume_pct) if e.op == "play" and item.media else None

    def _show(self, part: str, active: bool, detail: str) -> None:
        if part == "relays":  # literal names: the protocol document's table of log keys is checked against them
            self.host.fault("relay_io", active, detail)
        else:
            self.host.fault("player", active, detail)

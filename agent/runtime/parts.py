"""What the runtime is given: the adapters as one typed bundle (`Parts`), and the `Inbox` through which those
adapters reach the runtime.

Parts are made before the runtime that drives them (they are its constructor's argument), so an adapter that reports
back (the link's callbacks, a worker thread's events) is given an inbox's methods; the runtime takes the inbox when it
is made. Whoever makes the parts starts and stops them: the runtime never closes a part.

Must not import an adapter: it names the ports only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from agent.core.events import Event
from agent.ports import (
    Camera,
    Clock,
    Link,
    Pages,
    Player,
    Preparing,
    Relays,
    ServiceManager,
    StaffLog,
    Store,
    Updating,
)
from agent.runtime.loop import Loop

EventFactory = Callable[[int], Event]  # builds the event from the time it is handled at


@dataclass(frozen=True)
class Parts:
    """The unit's adapters; an absent part is a feature this unit does not have (no pages, no camera...)."""

    relays: Relays
    store: Store
    clock: Clock
    link: Link | None = None
    player: Player | None = None
    preparer: Preparing | None = None
    updater: Updating | None = None
    pages: Pages | None = None
    camera: Camera | None = None
    service: ServiceManager | None = None  # systemd's notify protocol, when the unit runs under it
    staff_log: StaffLog | None = None  # staff log lines on the card (the simulator keeps them in memory only)


class Reader(Protocol):
    """What an inbox hands over to (the agent runtime)."""

    def deliver(self, make: EventFactory) -> None: ...
    def link_up(self) -> None: ...
    def link_down(self, reason: str) -> None: ...
    def message(self, topic: str, payload: bytes, retained: bool) -> None: ...
    def puback(self, mid: int, refused: str = "") -> None: ...
    def internal_fault(self, detail: str) -> None: ...


class Inbox:
    """The parts' way into the runtime. post_event() is safe from any thread (it goes through the loop, which runs
    only once the runtime exists); the link's callbacks come on the loop thread and are handed over at once."""

    def __init__(self, loop: Loop) -> None:
        self._loop = loop
        self._reader: Reader | None = None

    def open_for(self, reader: Reader) -> None:
        """Called once by the runtime as it is made."""
        if self._reader is not None:
            raise RuntimeError("an inbox serves one runtime")
        self._reader = reader

    def post_event(self, make: EventFactory) -> None:
        self._loop.post(lambda: self._to().deliver(make))

    def link_up(self) -> None:
        self._to().link_up()

    def link_down(self, reason: str) -> None:
        self._to().link_down(reason)

    def message(self, topic: str, payload: bytes, retained: bool) -> None:
        self._to().message(topic, payload, retained)

    def puback(self, mid: int, refused: str = "") -> None:
        self._to().puback(mid, refused)

    def internal_fault(self, detail: str) -> None:
        """The loop's error hook: a callback that raised is a fault in status, never an exit."""
        self._to().internal_fault(detail)

    def _to(self) -> Reader:
        if self._reader is None:
            raise RuntimeError("no runtime reads this inbox yet")
        return self._reader

"""The ports of the unit's pages and of the board's camera: what the runtime needs from the page server and from
the snapshot maker. Shapes follow the runtime's needs, not a library's API.

Imports only the standard library — never http.server or subprocess; adapters in `agent/adapters/` implement these.
"""

from __future__ import annotations

from typing import Any, Protocol


class Pages(Protocol):
    """The status page and the kiosk page: they read what the runtime publishes, and post actions back to it."""

    def publish(self, view: dict[str, Any]) -> None:
        """Hand over the newest view (called on the loop thread after every event; must only swap a reference)."""
        ...

    def close(self) -> None: ...


class Camera(Protocol):
    """Makes an image of what the board shows; the answer goes back to the loop as a SnapshotTaken event."""

    def take(self, request_id: str, max_bytes: int) -> None: ...

    def close(self) -> None: ...

"""What the core's desks (sound, board, update) need from the device core that hosts them: one definition.

Pure typing. Must not import adapters or any I/O module.
"""

from __future__ import annotations

from typing import Any, Protocol

from agent.core.effects import Effect


class DeskHost(Protocol):
    """Outputs every desk uses: effects, acks, reports, timers, persisted settings, staff log lines."""

    def emit(self, effect: Effect) -> None: ...
    def ack(self, now: int, jti: str | None, cmd: str | None, state: str, code: str, msg: str) -> None: ...
    def report(self, now: int, kind: str, body: dict[str, Any]) -> None: ...
    def timer(self, name: str, at_ms: int) -> None: ...
    def cancel(self, name: str) -> None: ...
    def save(self, key: str, value: Any) -> None: ...
    def log(self, level: str, key: str, **params: Any) -> None: ...


class SwitchingHost(DeskHost, Protocol):
    """A desk that also switches relays (sound, and the update's relay-path health check)."""

    def switch(self, zone: int, on: bool) -> None: ...

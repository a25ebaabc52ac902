"""A simulated LC Technology LCUS USB relay module behind socket://127.0.0.1:PORT (the byte protocol of
hw/boards/lcus-*.toml: start 0xA0, relay, state, sum). It answers nothing, like the real module.

Records every accepted command and counts the bytes it skipped; a relay can be stuck (fault injection).
Imports only the stdlib.
"""

from __future__ import annotations

import selectors
import socket
import threading
from dataclasses import dataclass, field

START = 0xA0
FRAME = 4


@dataclass
class LcusState:
    """What the module's relays do; `history` is (relay, on) of every accepted command."""

    relays: int
    states: dict[int, bool] = field(default_factory=dict)
    history: list[tuple[int, bool]] = field(default_factory=list)
    dropped_bytes: int = 0  # bytes skipped while looking for a valid frame
    stuck: dict[int, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.states = {relay: False for relay in range(1, self.relays + 1)}

    def stick(self, relay: int, on: bool) -> None:
        """Fault injection: the relay stays `on` whatever it is told (a welded contact)."""
        self.stuck[relay] = on
        self.states[relay] = on

    def feed(self, buf: bytearray) -> None:
        """Consume whole frames from buf; a bad frame loses its start byte only, like a resynchronising parser."""
        while len(buf) >= FRAME or (buf and buf[0] != START):
            if buf[0] != START or not self._apply(bytes(buf[:FRAME])):
                self.dropped_bytes += 1
                del buf[:1]
            else:
                del buf[:FRAME]

    def _apply(self, frame: bytes) -> bool:
        start, relay, state, check = frame
        if (start + relay + state) & 0xFF != check or relay not in self.states or state not in (0, 1):
            return False
        self.history.append((relay, bool(state)))
        self.states[relay] = self.stuck.get(relay, bool(state))
        return True


class LcusModuleSim:
    """Serves one client at a time on 127.0.0.1 (port 0 picks a free one) from a daemon thread."""

    def __init__(self, relays: int = 2, port: int = 0) -> None:
        self.module = LcusState(relays)
        self._listener = socket.create_server(("127.0.0.1", port))
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._buffers: dict[socket.socket, bytearray] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lcus-sim", daemon=True)
        self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> LcusModuleSim:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(0.02):
                    self._ready(key.fileobj)  # type: ignore[arg-type]  # only sockets are registered; the selector types it wider
        finally:
            for conn in list(self._buffers):
                conn.close()
            self._listener.close()

    def _ready(self, sock: socket.socket) -> None:
        if sock is self._listener:
            conn, _ = sock.accept()
            self._buffers[conn] = bytearray()
            self._selector.register(conn, selectors.EVENT_READ)
            return
        data = sock.recv(4096)
        if not data:
            self._selector.unregister(sock)
            del self._buffers[sock]
            sock.close()
            return
        self._buffers[sock] += data
        self.module.feed(self._buffers[sock])

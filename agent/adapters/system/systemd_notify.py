"""systemd's notify protocol (sd_notify) over $NOTIFY_SOCKET: READY=1 once the agent is up, WATCHDOG=1 from the
loop, STOPPING=1 on the way out, STATUS= for `systemctl status`. A no-op when not started by systemd.

Standard library only (one datagram socket, no libsystemd). Must not import the core, the runtime or any other
adapter. Never raises: a vanished socket must not take the agent down; send() answers whether it was delivered.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class SystemdNotifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = _address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog_usec = _watchdog_usec(env)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def watchdog_interval_s(self) -> float | None:
        """How often to call watchdog(): half of WatchdogSec=, as systemd advises; None when no watchdog is set."""
        return self._watchdog_usec / 2_000_000 if self._watchdog_usec else None

    def send(self, *fields: str) -> bool:
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(fields).encode(), self.address)
            return True
        except OSError:
            return False


def _address(value: str) -> str | None:
    """A path, or an abstract socket written with a leading '@' (sent with a leading NUL byte)."""
    if value.startswith("@"):
        return "\0" + value[1:]
    return value if value.startswith("/") else None


def _watchdog_usec(env: Mapping[str, str]) -> int:
    """WATCHDOG_USEC applies to us only if WATCHDOG_PID is unset or names this process (not a child we started)."""
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return 0
    try:
        return max(int(env.get("WATCHDOG_USEC", "0")), 0)
    except ValueError:
        return 0

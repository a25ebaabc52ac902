"""Local TCP helpers for the tools, the simulator and the tests: a free port to listen on, and whether a port listens.

Standard library only.
"""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at this moment (the kernel picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def accepting(port: int, host: str = "127.0.0.1") -> bool:
    """Something listens on host:port (a broker that was just started is ready once this holds)."""
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        return True
    except OSError:
        return False

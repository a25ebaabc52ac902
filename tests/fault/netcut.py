"""Network cuts for the fault campaign: a TCP forwarder that can drop every connection and refuse new ones (an
unreachable broker), and a network namespace whose only link can be taken down (packets vanish: the agent only
learns from its keepalive, as on a dead 4G link).

Needs root for the namespace (`ip netns`); the forwarder needs nothing. Imports only the standard library.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading


class Forwarder:
    """Listens on (host, port) and forwards to 127.0.0.1:target. `cut()` closes everything and refuses new
    connections until `restore()`."""

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target_port, self.host = target_port, host
        self.server = socket.create_server((host, 0))
        self.port = self.server.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.cut_now = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.cut_now:
                _close(client)  # refused: a connect reaches nothing
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            _close(s)
            with self._lock:
                self._open.discard(s)

    def cut(self) -> None:
        self.cut_now = True
        with self._lock:
            doomed = list(self._open)
        for s in doomed:
            _close(s)

    def restore(self) -> None:
        self.cut_now = False

    def close(self) -> None:
        self.cut()
        _close(self.server)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


class Netns:
    """A namespace joined to the host by one veth pair: host side 10.77.N.1, namespace side 10.77.N.2."""

    def __init__(self, index: int) -> None:
        tag = f"{os.getpid() % 10000}x{index % 100}"
        self.name, self.host_if, self.ns_if = f"loa-fault-{tag}", f"lfh{tag}", f"lfn{tag}"
        self.host_ip = f"10.77.{index % 250}.1"
        self.ns_ip = f"10.77.{index % 250}.2"
        self.created = False

    @staticmethod
    def available() -> bool:
        """Whether `ip netns add` works here (root, iproute2, a kernel that allows it)."""
        probe = Netns(99)
        try:
            probe.create()
        except (OSError, subprocess.SubprocessError):
            return False
        probe.delete()
        return True

    def create(self) -> None:
        _ip("netns", "add", self.name)
        self.created = True
        _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        _ip("link", "set", self.ns_if, "netns", self.name)
        _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        _ip("link", "set", self.host_if, "up")
        for args in (("addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if), ("link", "set", self.ns_if, "up"),
                     ("link", "set", "lo", "up")):
            _ip("netns", "exec", self.name, "ip", *args)

    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def cut(self) -> None:
        """The link goes down on the host side: what was in flight is lost, nothing is answered."""
        _ip("link", "set", self.host_if, "down")

    def restore(self) -> None:
        _ip("link", "set", self.host_if, "up")

    def delete(self) -> None:
        if self.created:
            subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=10, check=False)
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=10, check=False)
            self.created = False

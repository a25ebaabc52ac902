"""A TCP proxy on 127.0.0.1 that counts the bytes each way and the MQTT packets by type (for link-cost numbers).

Must not import the agent.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from dataclasses import dataclass, field

PACKET_TYPES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 8: "SUBSCRIBE", 9: "SUBACK",
                12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT"}


@dataclass
class Counts:
    up: int = 0
    down: int = 0
    packets_up: Counter[str] = field(default_factory=Counter)
    bytes_up_by_type: Counter[str] = field(default_factory=Counter)


class ByteProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.counts = Counts()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        parser = _MqttSplitter(self.counts) if up else None
        while data := _recv(src):
            if up:
                self.counts.up += len(data)
                assert parser is not None
                parser.feed(data)
            else:
                self.counts.down += len(data)
            dst.sendall(data)
        dst.close()

    def close(self) -> None:
        self.server.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


class _MqttSplitter:
    """Splits the client->broker byte stream into MQTT packets to count them by type and size."""

    def __init__(self, counts: Counts) -> None:
        self.buf = b""
        self.counts = counts

    def feed(self, data: bytes) -> None:
        self.buf += data
        while (size := _packet_size(self.buf)) and len(self.buf) >= size:
            kind = PACKET_TYPES.get(self.buf[0] >> 4, str(self.buf[0] >> 4))
            self.counts.packets_up[kind] += 1
            self.counts.bytes_up_by_type[kind] += size
            self.buf = self.buf[size:]


def _packet_size(buf: bytes) -> int:
    """Fixed header + remaining length, or 0 while the length is incomplete."""
    length, shift = 0, 0
    for i in range(1, min(len(buf), 5)):
        length |= (buf[i] & 0x7F) << shift
        if not buf[i] & 0x80:
            return 1 + i + length
        shift += 7
    return 0

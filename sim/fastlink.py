"""The simulator's MQTT link: thousands of them on one shard's loop, over the fast paho clients of sim.fastpaho.

The same port and callbacks as the unit's link (agent.adapters.mqtt.mqtt_paho), driven for throughput: packets are
written as they are made (a writer is registered only for leftovers), a plain-TCP link batches a loop turn's writes
into one send and never waits for a TCP connect, messages and PUBACKs reach the unit during the read, and the shard
calls misc() for all its links in one sweep. It never starts a thread. Used by sim.unit only; tied to the paho
release sim.fastpaho names.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from agent.adapters.mqtt.mqtt_paho import LinkCallbacks, LinkSettings, make_client, paho_connect, refusal, subscriptions
from agent.runtime.loop import Loop
from sim.fastpaho import BatchedClient, BatchedNonBlockingClient, CheapPubackClient, NonBlockingClient, puback_code


@dataclass(frozen=True)
class FastOptions:
    bind_address: str = ""  # source address of the TCP connection (a shard spreads clients over 127.0.0.x)
    batched: bool = True  # mqtt:// only: a loop turn's packets leave in one write, a read takes all the socket holds


class FastLink:
    def __init__(self, loop: Loop, settings: LinkSettings, callbacks: LinkCallbacks,
                 options: FastOptions = FastOptions()) -> None:
        self.loop, self.settings, self.cb, self.options = loop, settings, callbacks, options
        self.client = self._make_client()
        self._closing = False
        self._sock: Any = None  # the socket the loop watches
        self._draining = False  # batched: a writer waits for the socket to take the rest
        self._reading = False

    def _make_client(self) -> CheapPubackClient:
        plain = urlsplit(self.settings.url).scheme != "mqtts"  # TLS handshakes need a blocking socket
        batched = self.options.batched and plain
        cls = {(False, False): CheapPubackClient, (True, False): NonBlockingClient, (True, True): BatchedNonBlockingClient}
        client = make_client(cls[(plain, batched)], self.settings)
        if isinstance(client, BatchedClient):
            client.corked, client.on_corked, client.awaiting = bytearray(), self._arm_flush, set()
        self._wire(client)
        return client

    def _wire(self, c: CheapPubackClient) -> None:
        """No register_write callbacks: with none, paho writes a packet as soon as it makes it."""
        c.on_socket_open = lambda _c, _u, sock: self.loop.post(lambda: self._opened(sock))
        c.on_socket_close = lambda _c, _u, sock: self._closed(sock.fileno())
        c.on_connect = self._on_connect
        c.on_disconnect = lambda _c, _u, _f, rc, _p: self.loop.post(lambda: self._down(str(rc)))
        on_message, on_puback = self.cb.on_message, self.cb.on_puback
        c.on_message = lambda _c, _u, m: on_message(m.topic, bytes(m.payload), bool(m.retain))
        c.on_publish = lambda _c, _u, mid, rc, _p: on_puback(mid, refusal(rc))
        if isinstance(c, BatchedClient):  # the short paths hand over without paho's message and reason objects
            c.on_fast_message = on_message
            c.on_fast_puback = lambda mid, code: on_puback(mid, "" if code < 0x80 else refusal(puback_code(code)))

    def _on_connect(self, _c: Any, _u: Any, _flags: Any, rc: Any, _props: Any) -> None:
        if rc.is_failure:
            self.loop.post(lambda: self._down(f"refused: {rc}"))
        else:
            self.loop.post(self.cb.on_up)

    def _down(self, reason: str) -> None:
        if not self._closing:
            self.cb.on_down(reason)

    # ---- socket driving ------------------------------------------------------------------------------------

    def _opened(self, sock: Any) -> None:
        self._sock = sock
        self.loop.add_reader(sock, self._read)
        self._check_write()

    def _closed(self, fd: int) -> None:
        """The number is read now, before paho closes the socket, so the loop forgets the right registration."""
        self._sock = None
        if isinstance(self.client, BatchedClient):
            self.client.forget_io()
            self.client.on_corked, self._draining = self._arm_flush, False
        if fd >= 0:
            self.loop.post(lambda: self.loop.forget(fd))

    def _read(self) -> None:
        self._reading = True
        try:
            self.client.loop_read()
            while isinstance(self.client, BatchedClient) and (left := self.client.buffered_bytes()):
                self.client.loop_read()
                if self.client.buffered_bytes() == left:  # paho took nothing (the link is closing)
                    break
        finally:
            self._reading = False
        if self.client.want_write():  # what inline callbacks published while paho held its callback lock
            self.client.loop_write()
        self._check_write()

    def _arm_flush(self) -> None:
        self.loop.at_end_of_turn(self._flush)

    def _flush(self) -> None:
        """Batched writes: send what the turn gathered. What the socket cannot take now waits for it to drain (and
        whatever paho gathers meanwhile goes after it); a broken link is left to paho's next read to report."""
        client = cast(BatchedClient, self.client)
        sock = client.socket()
        try:
            sent = sock.send(client.corked) if sock is not None else len(client.corked)
        except BlockingIOError:
            sent = 0
        except OSError:
            sent = len(client.corked)
        del client.corked[:sent]
        waiting = bool(client.corked) and sock is not None
        client.on_corked = (lambda: None) if waiting else self._arm_flush
        if waiting != self._draining and sock is not None:
            (self.loop.add_writer(sock, self._flush) if waiting else self.loop.remove_writer(sock))
        self._draining = waiting

    def _write(self) -> None:
        self.client.loop_write()
        if self._sock is not None and not self.client.want_write():
            self.loop.remove_writer(self._sock)

    def _check_write(self) -> None:
        """paho wrote what it could at once; watch for writability only while bytes are left over."""
        s = self._sock
        if s is not None and self.client.want_write() and self.client.socket() is s:
            self.loop.add_writer(s, self._write)

    def misc(self) -> None:
        """Keepalive pings, and closing a link whose broker stopped answering. The shard calls it for every link in
        one sweep, about once a second each."""
        self.client.loop_misc()
        self._check_write()

    # ---- the port ------------------------------------------------------------------------------------------

    def connect(self) -> None:
        """On the loop: a plain-TCP connect never waits (the outcome shows when the socket turns writable); a TLS
        one blocks for its handshake."""
        try:
            paho_connect(self.client, self.settings, self.options.bind_address)
        except (OSError, ssl.SSLError, ValueError) as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
            self.loop.post(lambda: self._down(reason))

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        if isinstance(self.client, BatchedClient):
            mid = self.client.publish_now(topic, payload, qos, retain)
            if mid is not None:
                return mid
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if not self._reading:  # during a read, _read writes it all once paho is done
            self._check_write()
        return info.mid if info.rc == 0 else None

    def subscribe(self, topics: tuple[str, ...], qos: int = 1) -> None:
        self.client.subscribe(subscriptions(self.settings, topics, qos))
        self._check_write()

    def drop(self) -> None:
        """Cut the connection without a DISCONNECT, as a dying 4G link does: the broker sends the last will."""
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # paho reads end-of-stream next and reports the link down

    def close(self) -> None:
        self._closing = True
        self.client.disconnect()
        self.client.loop_write()
        if isinstance(self.client, BatchedClient):
            self._flush()

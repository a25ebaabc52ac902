"""The MQTT link over paho-mqtt 2.x in external-socket mode, driven by agent.runtime.loop.

Only this file imports paho. Every paho callback only hands off to the loop (post); state is never touched from
the connect thread. Reconnect timing is the core's (capped exponential backoff with full jitter), so paho's own
automatic reconnect is never used.
"""

from __future__ import annotations

import errno
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from agent.runtime.loop import Loop, TimerHandle


@dataclass(frozen=True)
class LinkSettings:
    url: str
    client_id: str
    will_topic: str
    will_payload: bytes
    username: str = ""
    password: str = ""
    ca: str = ""
    cert: str = ""
    key: str = ""
    keepalive_s: int = 60
    protocol: str = "5"  # MQTT 5 keeps the retain flag on live retained commands (retain-as-published)
    session_expiry_s: int = 7 * 86400  # commands sent while the unit is offline wait at the broker this long
    connect_in_thread: bool = True  # a unit on 4G must not freeze its relay timers on a slow TCP connect
    # For many links on one loop (the fleet simulator); the defaults are what a unit runs.
    bind_address: str = ""  # source address of the TCP connection (a shard spreads clients over 127.0.0.x)
    misc_interval_s: float = 1.0  # keepalive timer per link; 0 = the owner calls misc() (one sweep for thousands)
    nonblocking_connect: bool = False  # mqtt:// only: the loop learns the TCP outcome when the socket turns writable
    inline_write: bool = False  # write packets as they are made, register a writer only for what is left over


@dataclass(frozen=True)
class LinkCallbacks:
    on_up: Callable[[], None]
    on_down: Callable[[str], None]
    on_message: Callable[[str, bytes, bool], None]
    on_puback: Callable[[int], None]


class _NonBlockingClient(mqtt.Client):
    """paho's client with a TCP connect that never waits: the outcome shows when the socket turns writable, and
    the CONNECT packet waits in paho's queue until then. Plain TCP only (TLS handshakes need a blocking socket)."""

    def _create_socket_connection(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if self._bind_address:
                sock.bind((self._bind_address, self._bind_port))
            code = sock.connect_ex((self._host, self._port))
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, errno.errorcode.get(code, str(code)))
        except OSError:
            sock.close()
            raise
        return sock


class PahoLink:
    def __init__(self, loop: Loop, settings: LinkSettings, callbacks: LinkCallbacks) -> None:
        self.loop, self.settings, self.cb = loop, settings, callbacks
        if settings.inline_write and settings.connect_in_thread:
            raise ValueError("inline_write needs connect_in_thread=False: only the loop thread may write")
        self.client = self._make_client()
        self._misc_timer: TimerHandle | None = None
        if settings.misc_interval_s > 0:
            self._misc_timer = loop.call_later(settings.misc_interval_s, self._misc)
        self._closing = False
        self._sock: Any = None  # the socket the loop watches (inline_write mode)

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        plain = urlsplit(s.url).scheme != "mqtts"
        cls = _NonBlockingClient if s.nonblocking_connect and plain else mqtt.Client
        if s.protocol == "5":
            client = cls(mqtt.CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=mqtt.MQTTv5)
        else:
            client = cls(mqtt.CallbackAPIVersion.VERSION2, client_id=s.client_id, clean_session=False,
                         protocol=mqtt.MQTTv311)
        client.will_set(s.will_topic, s.will_payload, qos=1, retain=True)
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if urlsplit(s.url).scheme == "mqtts":
            client.tls_set(ca_certs=s.ca or None, certfile=s.cert or None, keyfile=s.key or None,
                           cert_reqs=ssl.CERT_REQUIRED)
        client.max_inflight_messages_set(100)
        self._wire(client)
        return client

    def _wire(self, c: mqtt.Client) -> None:
        post = self.loop.post
        c.on_socket_open = lambda _c, _u, sock: post(lambda: self._opened(sock))
        c.on_socket_close = lambda _c, _u, sock: self._closed(sock.fileno())
        if not self.settings.inline_write:
            c.on_socket_register_write = lambda _c, _u, sock: post(lambda: self.loop.add_writer(sock, self._write))
            c.on_socket_unregister_write = lambda _c, _u, sock: post(lambda: self.loop.remove_writer(sock))
        c.on_connect = self._on_connect
        c.on_disconnect = lambda _c, _u, _f, rc, _p: post(lambda: self._down(str(rc)))
        c.on_message = lambda _c, _u, m: post(lambda: self.cb.on_message(m.topic, m.payload, bool(m.retain)))
        c.on_publish = lambda _c, _u, mid, _rc, _p: post(lambda: self.cb.on_puback(mid))

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
        if fd >= 0:
            self.loop.post(lambda: self.loop.forget(fd))

    def _read(self) -> None:
        self.client.loop_read()
        self._check_write()

    def _write(self) -> None:
        self.client.loop_write()
        if self.settings.inline_write and self._sock is not None and not self.client.want_write():
            self.loop.remove_writer(self._sock)

    def _check_write(self) -> None:
        """inline_write: paho wrote what it could at once; watch for writability only while bytes are left over."""
        s = self._sock
        if self.settings.inline_write and s is not None and self.client.want_write() and self.client.socket() is s:
            self.loop.add_writer(s, self._write)

    def misc(self) -> None:
        """Keepalive pings, and closing a link whose broker stopped answering. Due about once a second."""
        self.client.loop_misc()
        self._check_write()

    def _misc(self) -> None:
        self.misc()
        if not self._closing:
            self._misc_timer = self.loop.call_later(self.settings.misc_interval_s, self._misc)

    # ---- the port ------------------------------------------------------------------------------------------

    def connect(self) -> None:
        if self.settings.connect_in_thread:
            threading.Thread(target=self._connect_blocking, name="mqtt-connect", daemon=True).start()
        else:
            self._connect_blocking()

    def _connect_blocking(self) -> None:
        url = urlsplit(self.settings.url)
        default_port = 8883 if url.scheme == "mqtts" else 1883
        host, port, keepalive = url.hostname or "localhost", url.port or default_port, self.settings.keepalive_s
        try:
            bind = self.settings.bind_address
            if self.settings.protocol == "5":
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = self.settings.session_expiry_s
                self.client.connect(host, port, keepalive, bind_address=bind, clean_start=False, properties=props)
            else:
                self.client.connect(host, port, keepalive, bind_address=bind)
        except (OSError, ssl.SSLError, ValueError) as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
            self.loop.post(lambda: self._down(reason))

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        self._check_write()
        return info.mid if info.rc == mqtt.MQTT_ERR_SUCCESS else None

    def subscribe(self, topics: tuple[str, ...], qos: int = 1) -> None:
        if self.settings.protocol == "5":
            options = SubscribeOptions(qos=qos, retainAsPublished=True)
            self.client.subscribe([(t, options) for t in topics])
        else:
            self.client.subscribe([(t, qos) for t in topics])
        self._check_write()

    def drop(self) -> None:
        """Cut the connection without a DISCONNECT, as a dying 4G link does: the broker sends the last will."""
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)  # paho reads end-of-stream next and reports the link down
            except OSError:
                pass

    def close(self) -> None:
        self._closing = True
        if self._misc_timer is not None:
            self._misc_timer.cancel()
        self.client.disconnect()
        self.client.loop_write()

"""The MQTT link over paho-mqtt 2.x in external-socket mode, driven by agent.runtime.loop.

Only this file imports paho. Every paho callback only hands off to the loop (post); state is never touched from
the connect thread. Reconnect timing is the core's (capped exponential backoff with full jitter), so paho's own
automatic reconnect is never used.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
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
    batched_io: bool = False  # with inline_write, mqtt:// only: a loop turn's packets leave in one write, and a read
    # takes all the socket holds at once (paho asks for a packet a few bytes at a time)
    inline_callbacks: bool = False  # with inline_write: messages and PUBACKs reach the owner during the read, not posted


@dataclass(frozen=True)
class LinkCallbacks:
    on_up: Callable[[], None]
    on_down: Callable[[str], None]
    on_message: Callable[[str, bytes, bool], None]
    on_puback: Callable[[int, str], None]  # message id, and why the broker refused it ("" when it took it)


# Shared by every fast PUBACK (the callbacks never change them): success, and "no matching subscribers" (0x10), which
# Mosquitto answers under MQTT 5 for a report nobody subscribes to at that moment (statuses, most of the time).
_PUBACK_CODES = {code: ReasonCode(PacketTypes.PUBACK, identifier=code) for code in (0x00, 0x10)}
_NO_PROPERTIES = Properties(PacketTypes.PUBACK)  # type: ignore[no-untyped-call]
DISCONNECT = bytes([mqtt.DISCONNECT])


def _puback_code(code: int) -> ReasonCode:
    try:
        return ReasonCode(PacketTypes.PUBACK, identifier=code)
    except KeyError:  # a code MQTT 5 does not define: a failure all the same
        return ReasonCode(PacketTypes.PUBACK, identifier=0x80)


def _refusal(rc: ReasonCode) -> str:
    """Why the broker refused a QoS 1 message (MQTT 5 PUBACK reason 0x80 and above, e.g. "Not authorized"), or ""."""
    return f"{rc} (0x{rc.value:02x})" if rc.is_failure else ""


class _Client(mqtt.Client):
    """paho's client with a cheaper PUBACK. paho builds a fresh Properties and ReasonCode for every PUBACK (about a
    tenth of a simulator shard's CPU in an emergency, where each unit gets about five); a PUBACK without properties
    whose reason is success or "no matching subscribers" (nearly all of them) needs neither. Anything else goes
    through paho's own decoder."""

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> MQTTErrorCode:
        packet = self._in_packet["packet"]
        size = len(packet)
        code = 0 if size == 2 else packet[2] if size == 3 or (size == 4 and packet[3] == 0) else None
        if cmd != "PUBACK" or code not in _PUBACK_CODES:
            return super()._handle_pubackcomp(cmd)
        mid = (packet[0] << 8) | packet[1]
        self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received PUBACK (Mid: %d)", mid)
        with self._out_message_mutex:
            if mid in self._out_messages:
                return self._do_on_publish(mid, _PUBACK_CODES[code], _NO_PROPERTIES)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


class _BatchedClient(_Client):
    """paho for thousands of links on one loop (the fleet simulator), with batched socket I/O and lean hot packets.

    What is written is gathered and sent once at the end of the loop's turn (the acks and status a command causes
    leave in one segment, not three); paho takes a gathered packet as sent and the link writes it out, in order,
    before anything newer (`PahoLink._flush`). A read takes all the socket holds.

    The three packets an emergency is made of take a short path; paho keeps everything else (CONNECT, SUBSCRIBE,
    keepalive, DISCONNECT, QoS 2, any packet with MQTT 5 properties, a packet split across reads):
    - `publish_now`: a QoS 0/1 PUBLISH while connected, packed straight into the batch. paho's publish() builds a
      message, an info object with its own lock and condition, and queues the packet: about a sixth of a shard's
      CPU. Such a message is not in paho's session store, so paho never sends it again after a reconnect; the
      agent's outbox does that for the reports that must arrive, and the status goes out again at every connect.
    - the PUBACK of such a message reaches `on_fast_puback` with its reason code;
    - an incoming QoS 0/1 PUBLISH without properties reaches `on_fast_message`, and its PUBACK follows (paho's
      order: the message first, then the acknowledgement).
    A shard in an emergency spent about 45% of its time in paho's per-packet work, and before that a quarter in
    send() and recv()."""

    corked: bytearray
    on_corked: Callable[[], None]
    on_fast_message: Callable[[str, bytes, bool], None]
    on_fast_puback: Callable[[int, int], None]  # message id, MQTT reason code
    awaiting: set[int]  # message ids sent by publish_now, not yet acknowledged
    _inbox = b""
    _inbox_at = 0

    def _sock_send(self, buf: bytes | bytearray) -> int:
        if self._sock is None:
            raise ConnectionError("self._sock is None")
        if not self.corked:
            self.on_corked()
        self.corked += buf
        if buf[:1] == DISCONNECT:  # paho closes the socket right after it: it, and all before it, leave now
            with contextlib.suppress(OSError):
                self._sock.send(self.corked)
            self.corked.clear()
        return len(buf)

    def _refill(self) -> bytes:
        """All the socket holds now becomes the read buffer (b"" at the end of the stream)."""
        if self._sock is None:
            raise ConnectionError("self._sock is None")
        self._inbox, self._inbox_at = self._sock.recv(65536), 0
        return self._inbox

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._inbox_at >= len(self._inbox) and not self._refill():
            return b""
        chunk = self._inbox[self._inbox_at:self._inbox_at + bufsize]
        self._inbox_at += len(chunk)
        return chunk

    def buffered_bytes(self) -> int:
        """Read from the socket but not yet taken by paho (the socket will not say it is readable again)."""
        return len(self._inbox) - self._inbox_at

    def forget_io(self) -> None:
        """The connection ended: nothing of it may reach the next one."""
        self.corked.clear()
        self._inbox, self._inbox_at = b"", 0
        self.awaiting.clear()

    # ---- the short paths ---------------------------------------------------------------------------------------

    def publish_now(self, topic: str, payload: bytes, qos: int, retain: bool) -> int | None:
        """The message id of a PUBLISH packed into the batch, or None when paho must take it (not connected)."""
        if qos > 1 or self._sock is None or not self.is_connected():
            return None
        name = topic.encode()
        if not name or b"+" in name or b"#" in name or len(name) > 65535:
            raise ValueError(f"not a topic to publish on: {topic!r}")
        mid = self._mid_generate()
        v5 = self._protocol == mqtt.MQTTv5
        packet = bytearray((mqtt.PUBLISH | qos << 1 | retain,))
        _pack_length(packet, 2 + len(name) + (2 if qos else 0) + v5 + len(payload))
        packet += len(name).to_bytes(2, "big")
        packet += name
        if qos:
            packet += mid.to_bytes(2, "big")
            self.awaiting.add(mid)
        if v5:
            packet.append(0)  # no properties
        packet += payload
        self._sock_send(packet)
        self._last_msg_out = mqtt.time_func()
        return mid

    def _packet_read(self) -> MQTTErrorCode:
        """Every whole packet the socket holds, taken from memory; a packet split across reads is paho's."""
        if self._in_packet["command"] or self._sock is None:
            return super()._packet_read()
        if self._inbox_at >= len(self._inbox):
            try:
                if not self._refill():
                    return MQTTErrorCode.MQTT_ERR_CONN_LOST
            except BlockingIOError:
                return MQTTErrorCode.MQTT_ERR_AGAIN
            except OSError as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
                return MQTTErrorCode.MQTT_ERR_CONN_LOST
        self._last_bytes_received = mqtt.time_func()
        while self._sock is not None:
            whole = _next_packet(self._inbox, self._inbox_at)
            if whole is None:
                break
            header, start, end = whole
            self._inbox_at = end
            rc = self._take(header, self._inbox[start:end])
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
        if self._sock is not None and self._inbox_at < len(self._inbox):
            return super()._packet_read()  # the start of a packet whose rest is still on its way
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _take(self, header: int, body: bytes) -> MQTTErrorCode:
        kind = header & 0xF0
        if kind == mqtt.PUBACK and len(body) >= 2:
            mid = body[0] << 8 | body[1]
            if mid in self.awaiting:
                self.awaiting.discard(mid)
                self.on_fast_puback(mid, body[2] if len(body) > 2 else 0)
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        elif kind == mqtt.PUBLISH and (header >> 1) & 3 < 2:
            rc = self._publish_in(header, body)
            if rc is not None:
                return rc
        return self._paho_takes(header, body)

    def _publish_in(self, header: int, body: bytes) -> MQTTErrorCode | None:
        qos, mid = (header >> 1) & 3, 0
        try:
            at = 2 + (body[0] << 8 | body[1])
            topic = body[2:at].decode()
            if qos:
                mid, at = body[at] << 8 | body[at + 1], at + 2
            if self._protocol == mqtt.MQTTv5:
                if body[at] != 0:  # properties: paho decodes them
                    return None
                at += 1
        except (IndexError, UnicodeDecodeError):
            return None  # malformed: paho's decoder says what is wrong
        if not topic or at > len(body):
            return None
        self.on_fast_message(topic, body[at:], bool(header & 1))
        if qos and self._sock is not None:
            self._sock_send(bytes((mqtt.PUBACK, 2, mid >> 8, mid & 0xFF)))
            self._last_msg_out = mqtt.time_func()
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _paho_takes(self, header: int, body: bytes) -> MQTTErrorCode:
        """A whole packet handed to paho's decoder, as its own framing would have."""
        self._in_packet = {"command": header, "have_remaining": 1, "remaining_count": [], "remaining_mult": 1,
                           "remaining_length": len(body), "packet": bytearray(body), "to_process": 0, "pos": 0}
        try:
            rc = self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._in_packet = {"command": 0, "have_remaining": 0, "remaining_count": [], "remaining_mult": 1,
                           "remaining_length": 0, "packet": bytearray(b""), "to_process": 0, "pos": 0}
        return rc


def _pack_length(packet: bytearray, n: int) -> None:
    """MQTT's remaining length: seven bits a byte, low first."""
    while True:
        byte, n = n & 0x7F, n >> 7
        packet.append(byte | 0x80 if n else byte)
        if not n:
            return


def _next_packet(buf: bytes, at: int) -> tuple[int, int, int] | None:
    """(fixed header byte, body start, body end) of the whole packet at `at`, or None if it is not all there (or its
    length field is malformed: paho's framing then says so)."""
    length, shift, i, end = 0, 0, at + 1, len(buf)
    while True:
        if i >= end or shift > 21:
            return None
        byte = buf[i]
        i += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return (buf[at], i, i + length) if i + length <= end else None


class _NonBlockingClient(_Client):
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


class _BatchedNonBlockingClient(_NonBlockingClient, _BatchedClient):
    pass


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
        self._draining = False  # batched_io: a writer waits for the socket to take the rest
        self._reading = False

    def _make_client(self) -> _Client:
        s = self.settings
        plain = urlsplit(s.url).scheme != "mqtts"
        nonblocking, corked = s.nonblocking_connect and plain, s.batched_io and s.inline_write and plain
        cls = {(False, False): _Client, (True, False): _NonBlockingClient, (False, True): _BatchedClient,
               (True, True): _BatchedNonBlockingClient}[(nonblocking, corked)]
        if s.protocol == "5":
            client = cls(CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=mqtt.MQTTv5)
        else:
            client = cls(CallbackAPIVersion.VERSION2, client_id=s.client_id, clean_session=False,
                         protocol=mqtt.MQTTv311)
        client.will_set(s.will_topic, s.will_payload, qos=1, retain=True)
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if urlsplit(s.url).scheme == "mqtts":
            client.tls_set(ca_certs=s.ca or None, certfile=s.cert or None, keyfile=s.key or None,
                           cert_reqs=ssl.CERT_REQUIRED)
        client.max_inflight_messages_set(100)
        if isinstance(client, _BatchedClient):
            client.corked, client.on_corked, client.awaiting = bytearray(), self._arm_flush, set()
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
        on_message, on_puback = self.cb.on_message, self.cb.on_puback
        if not (self.settings.inline_write and self.settings.inline_callbacks):  # else paho reads on the loop thread
            on_message = lambda topic, payload, retained: post(lambda: self.cb.on_message(topic, payload, retained))
            on_puback = lambda mid, refused: post(lambda: self.cb.on_puback(mid, refused))
        c.on_message = lambda _c, _u, m: on_message(m.topic, bytes(m.payload), bool(m.retain))
        c.on_publish = lambda _c, _u, mid, rc, _p: on_puback(mid, _refusal(rc))
        if isinstance(c, _BatchedClient):  # the short paths hand over without paho's message and reason objects
            c.on_fast_message = on_message
            c.on_fast_puback = lambda mid, code: on_puback(mid, "" if code < 0x80 else _refusal(_puback_code(code)))

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
        if isinstance(self.client, _BatchedClient):
            self.client.forget_io()
            self.client.on_corked, self._draining = self._arm_flush, False
        if fd >= 0:
            self.loop.post(lambda: self.loop.forget(fd))

    def _read(self) -> None:
        self._reading = True
        try:
            self.client.loop_read()
            while isinstance(self.client, _BatchedClient) and (left := self.client.buffered_bytes()):
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
        client = cast(_BatchedClient, self.client)
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
                props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                props.SessionExpiryInterval = self.settings.session_expiry_s
                self.client.connect(host, port, keepalive, bind_address=bind, clean_start=False, properties=props)
            else:
                self.client.connect(host, port, keepalive, bind_address=bind)
        except (OSError, ssl.SSLError, ValueError) as exc:
            reason = f"{exc.__class__.__name__}: {exc}"
            self.loop.post(lambda: self._down(reason))

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        if isinstance(self.client, _BatchedClient):
            mid = self.client.publish_now(topic, payload, qos, retain)
            if mid is not None:
                return mid
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if not self._reading:  # during a read, _read writes it all once paho is done
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
        if isinstance(self.client, _BatchedClient):
            self._flush()

"""paho's client made fast for thousands of links on one loop (the fleet simulator only): a cheaper PUBACK, batched
socket I/O, short paths for the packets an emergency is made of, and a TCP connect that never waits.

These classes override paho's private members, so they are tied to one paho release: importing this module
refuses any other version (PAHO_VERSION), and tests/sim/test_fastpaho_internals.py fails when a private member
they rely on changes. The unit never uses this (agent/adapters/mqtt is on paho's public API only).
Must not be imported by agent/.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Callable
from typing import Literal

import paho.mqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

PAHO_VERSION = "2.2.0"  # the one release whose internals these classes were written and tested against


class PahoVersionError(RuntimeError):
    """The installed paho-mqtt is not the release the simulator's fast client was tested against."""


def require_paho(found: str) -> None:
    if found != PAHO_VERSION:
        raise PahoVersionError(
            f"the simulator's fast MQTT client needs paho-mqtt=={PAHO_VERSION} (it overrides paho's private "
            f"members), but paho-mqtt {found} is installed: install paho-mqtt=={PAHO_VERSION}, or check the client "
            f"against the new release (tests/sim/test_fastpaho_internals.py) and update PAHO_VERSION")


require_paho(paho.mqtt.__version__)


# Shared by every fast PUBACK (the callbacks never change them): success, and "no matching subscribers" (0x10), which
# Mosquitto answers under MQTT 5 for a report nobody subscribes to at that moment (statuses, most of the time).
_PUBACK_CODES = {code: ReasonCode(PacketTypes.PUBACK, identifier=code) for code in (0x00, 0x10)}
_NO_PROPERTIES = Properties(PacketTypes.PUBACK)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
DISCONNECT = bytes([mqtt.DISCONNECT])


def puback_code(code: int) -> ReasonCode:
    try:
        return ReasonCode(PacketTypes.PUBACK, identifier=code)
    except KeyError:  # a code MQTT 5 does not define: a failure all the same
        return ReasonCode(PacketTypes.PUBACK, identifier=0x80)


class CheapPubackClient(mqtt.Client):
    """paho's client with a cheaper PUBACK. paho builds a fresh Properties and ReasonCode for every PUBACK (a
    noticeable share of a shard's CPU in an emergency, where each unit gets several); a PUBACK without properties
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


class BatchedClient(CheapPubackClient):
    """paho for thousands of links on one loop (the fleet simulator), with batched socket I/O and lean hot packets.

    What is written is gathered and sent once at the end of the loop's turn (the acks and status a command causes
    leave in one segment, not three); paho takes a gathered packet as sent and the link writes it out, in order,
    before anything newer (`FastLink._flush`). A read takes all the socket holds.

    The three packets an emergency is made of take a short path; paho keeps everything else (CONNECT, SUBSCRIBE,
    keepalive, DISCONNECT, QoS 2, any packet with MQTT 5 properties, a packet split across reads):
    - `publish_now`: a QoS 0/1 PUBLISH while connected, packed straight into the batch. paho's publish() builds a
      message, an info object with its own lock and condition, and queues the packet. Such a message is not in paho's session store, so paho never sends it again after a reconnect; the
      agent's outbox does that for the reports that must arrive, and the status goes out again at every connect.
    - the PUBACK of such a message reaches `on_fast_puback` with its reason code;
    - an incoming QoS 0/1 PUBLISH without properties reaches `on_fast_message`, and its PUBACK follows (paho's
      order: the message first, then the acknowledgement).
    Profiles of a shard in an emergency (sim/README.md) showed paho's per-packet work, and before it send() and
    recv(), as the largest costs."""

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
            whole = next_packet(self._inbox, self._inbox_at)
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


def next_packet(buf: bytes, at: int) -> tuple[int, int, int] | None:
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


class NonBlockingClient(CheapPubackClient):
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


class BatchedNonBlockingClient(NonBlockingClient, BatchedClient):
    pass


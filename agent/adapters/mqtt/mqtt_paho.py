"""The unit's MQTT link over paho-mqtt 2.x, on paho's public API only, driven by agent.runtime.loop.

Only this file imports paho. It never starts a thread, never subclasses paho's client and never touches a private
member of it (a test scans agent/ for that): a paho minor release must not be able to break a unit.

- External-socket mode: `socket()`, `loop_read`/`loop_write`/`loop_misc` and `want_write`, with the loop told of the
  socket by paho's on_socket_open/close and register/unregister_write callbacks. No other thread exists, so those
  run on the loop's thread; what reaches the runtime (up, down, messages, PUBACKs) is posted, so the runtime never
  runs inside paho's call stack.
- Connecting without freezing the loop: paho's connect blocks for the TCP connect and the TLS handshake. So an
  attempt first makes a non-blocking TCP probe to the broker's address on the loop (`TcpProbe`): while the
  broker does not answer (a dark 4G cell, a SYN that is dropped) the loop keeps running its relay timers and the
  attempt simply ends "down" after `probe_timeout_s`. Only when the probe connects is paho's `connect` called:
  then one round trip, with the TLS handshake bounded by paho's public `connect_timeout`. The cost is one extra,
  empty TCP connection per attempt, which the broker sees close at once. A broker name (not an IP address) is
  still looked up by the resolver, which can block: the standard library has no other way without a thread.
- Reconnect timing is the core's (`agent.core.backoff`: capped exponential backoff with full jitter): each
  attempt is one `connect()` from the runtime, and a failed attempt is one `on_down`. paho's own automatic
  reconnect is never used.
- PUBACKs: paho 2.x (CallbackAPIVersion.VERSION2) hands `on_publish` the broker's reason code; a refusal
  (0x80 and above under MQTT 5, e.g. "Not authorized") reaches the runtime with its reason, so the outbox drops the
  row and says why. MQTT 5 and 3.1.1, plain or TLS with a pinned CA and client certificates.

The fleet simulator's faster client (batched socket I/O, short paths through paho's internals) is in sim/, not here.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from agent.adapters.mqtt.probe import TcpProbe
from agent.runtime.loop import Loop, TimerHandle

C = TypeVar("C", bound=mqtt.Client)


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
    probe_timeout_s: float = 10.0  # a TCP connect on 4G may need a few SYN retransmissions; the loop runs meanwhile
    connect_timeout_s: float = 5.0  # bounds paho's blocking part (TCP to an address that just answered, TLS)
    misc_interval_s: float = 1.0  # keepalive timer
    fallbacks: tuple[str, ...] = ()  # brokers to try, in order, after `url` (the preferred one) fails
    prefer_probe_s: float = 60.0  # while on a fallback, how often the preferred broker is probed to return to it

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.fallbacks)


@dataclass(frozen=True)
class LinkCallbacks:
    on_up: Callable[[], None]
    on_down: Callable[[str], None]
    on_message: Callable[[str, bytes, bool], None]
    on_puback: Callable[[int, str], None]  # message id, and why the broker refused it ("" when it took it)


def refusal(rc: ReasonCode) -> str:
    """Why the broker refused a QoS 1 message (MQTT 5 PUBACK reason 0x80 and above, e.g. "Not authorized"), or ""."""
    return f"{rc} (0x{rc.value:02x})" if rc.is_failure else ""


def broker_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "localhost", parts.port or (8883 if parts.scheme == "mqtts" else 1883)


def make_client(cls: type[C], s: LinkSettings) -> C:
    """paho's client (or the simulator's) as the settings say, its callbacks not yet set."""
    if s.protocol == "5":
        client = cls(CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=mqtt.MQTTv5)
    else:
        client = cls(CallbackAPIVersion.VERSION2, client_id=s.client_id, clean_session=False, protocol=mqtt.MQTTv311)
    client.will_set(s.will_topic, s.will_payload, qos=1, retain=True)
    if s.username:
        client.username_pw_set(s.username, s.password or None)
    if urlsplit(s.url).scheme == "mqtts":
        client.tls_set(ca_certs=s.ca or None, certfile=s.cert or None, keyfile=s.key or None,
                       cert_reqs=ssl.CERT_REQUIRED)
    client.max_inflight_messages_set(100)
    client.connect_timeout = s.connect_timeout_s
    return client


def paho_connect(client: mqtt.Client, s: LinkSettings, bind_address: str = "", url: str = "") -> None:
    """paho's connect with the settings' session: kept across connects (MQTT 5 session expiry, 3.1.1 clean=False).
    `url` is the broker of this attempt (one of the settings' list); empty: the preferred one."""
    host, port = broker_address(url or s.url)
    if s.protocol == "5":
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
        props.SessionExpiryInterval = s.session_expiry_s
        client.connect(host, port, s.keepalive_s, bind_address=bind_address, clean_start=False, properties=props)
    else:
        client.connect(host, port, s.keepalive_s, bind_address=bind_address)


def subscriptions(s: LinkSettings, topics: tuple[str, ...], qos: int) -> list[tuple[str, Any]]:
    if s.protocol == "5":
        options = SubscribeOptions(qos=qos, retainAsPublished=True)
        return [(t, options) for t in topics]
    return [(t, qos) for t in topics]


class PahoLink:
    def __init__(self, loop: Loop, settings: LinkSettings, callbacks: LinkCallbacks) -> None:
        self.loop, self.settings, self.cb = loop, settings, callbacks
        self.client = make_client(mqtt.Client, settings)
        self._wire(self.client)
        self._probe: TcpProbe | None = None
        self._closing = False
        self._at = 0  # index in settings.urls of the broker of the current (or last) attempt
        self._returning = False  # the preferred broker answered a probe: the next attempt goes back to it
        self._prefer_timer: TimerHandle | None = None
        self._misc_timer: TimerHandle | None = loop.call_later(settings.misc_interval_s, self._misc)

    def _wire(self, c: mqtt.Client) -> None:
        post = self.loop.post
        c.on_socket_open = lambda _c, _u, sock: self.loop.add_reader(sock, self._read)
        c.on_socket_close = lambda _c, _u, sock: self.loop.forget(sock.fileno())
        c.on_socket_register_write = lambda _c, _u, sock: self.loop.add_writer(sock, self._write)
        c.on_socket_unregister_write = lambda _c, _u, sock: self.loop.remove_writer(sock)
        c.on_connect = self._on_connect
        c.on_disconnect = lambda _c, _u, _f, rc, _p: post(lambda: self._down(str(rc)))
        cb = self.cb
        c.on_message = lambda _c, _u, m: self._message(m.topic, bytes(m.payload), bool(m.retain))
        c.on_publish = lambda _c, _u, mid, rc, _p: post(lambda: cb.on_puback(mid, refusal(rc)))

    def _message(self, topic: str, payload: bytes, retained: bool) -> None:
        self.loop.post(lambda: self.cb.on_message(topic, payload, retained))

    def _on_connect(self, _c: Any, _u: Any, _flags: Any, rc: Any, _props: Any) -> None:
        if rc.is_failure:
            self.loop.post(lambda: self._down(f"refused: {rc}"))
        else:
            self.loop.post(self._up)

    def _up(self) -> None:
        if self._at and self._prefer_timer is None:
            self._prefer_timer = self.loop.call_later(self.settings.prefer_probe_s, self._probe_preferred)
        self.cb.on_up()

    def _down(self, reason: str) -> None:
        """Failover: the next attempt goes to the next broker of the list (wrapping round), or back to the
        preferred one when a probe found it answering again."""
        self._next_broker()
        if not self._closing:
            self.cb.on_down(reason)

    def _next_broker(self) -> None:
        if self._prefer_timer is not None:
            self._prefer_timer.cancel()
            self._prefer_timer = None
        self._at = 0 if self._returning else (self._at + 1) % len(self.settings.urls)
        self._returning = False

    def _probe_preferred(self) -> None:
        """While on a fallback: a TCP probe of the preferred broker; when it answers, the link is closed so that
        the runtime's reconnect (with its backoff) goes back to it, and the subscriptions and outbox follow."""
        self._prefer_timer = None

        def outcome(unreachable: str) -> None:
            if self._closing or not self._at:
                return
            if unreachable:
                self._prefer_timer = self.loop.call_later(self.settings.prefer_probe_s, self._probe_preferred)
                return
            self._returning = True
            self.client.disconnect()

        TcpProbe(self.loop, broker_address(self.settings.url), self.settings.probe_timeout_s, outcome)

    def broker(self) -> tuple[int, str]:
        """Which broker the link is on (or trying): its index in the ordered list and its host:port."""
        host, port = broker_address(self.settings.urls[self._at])
        return self._at, f"{host}:{port}"

    # ---- socket driving ------------------------------------------------------------------------------------

    def _read(self) -> None:
        self.client.loop_read()

    def _write(self) -> None:
        self.client.loop_write()

    def _misc(self) -> None:
        """Keepalive pings, and closing a link whose broker stopped answering."""
        self.client.loop_misc()
        if not self._closing:
            self._misc_timer = self.loop.call_later(self.settings.misc_interval_s, self._misc)

    # ---- the port ------------------------------------------------------------------------------------------

    def connect(self) -> None:
        """One attempt: the probe first; its outcome (on the loop) either lets paho connect or reports the link down."""
        if self._probe is not None:
            self._probe.cancel()
        self._probe = TcpProbe(self.loop, broker_address(self.settings.urls[self._at]), self.settings.probe_timeout_s,
                               self._probed)

    def _probed(self, unreachable: str) -> None:
        self._probe = None
        if unreachable:
            self._down(unreachable)
            return
        if self._closing:
            return
        try:
            paho_connect(self.client, self.settings, url=self.settings.urls[self._at])
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._down(f"{exc.__class__.__name__}: {exc}")

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> int | None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return info.mid if info.rc == mqtt.MQTT_ERR_SUCCESS else None

    def subscribe(self, topics: tuple[str, ...], qos: int = 1) -> None:
        self.client.subscribe(subscriptions(self.settings, topics, qos))

    def close(self) -> None:
        self._closing = True
        if self._probe is not None:
            self._probe.cancel()
        if self._misc_timer is not None:
            self._misc_timer.cancel()
        if self._prefer_timer is not None:
            self._prefer_timer.cancel()
        self.client.disconnect()
        self.client.loop_write()

"""A raw MQTT client for broker-rule tests: connects with a unit's bundle (certificate) or a user name and password,
with a clean or a persistent session, and records everything the broker answers (CONNACK, SUBACK and PUBACK reason codes, deliveries, disconnects), so a test can assert on both
return codes and actual delivery."""

from __future__ import annotations

import queue
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions


@dataclass
class Probe:
    url_port: int
    ca: Path | None  # None: plain MQTT (the password listeners)
    cert: Path | None
    key: Path | None
    protocol: MQTTProtocolVersion = mqtt.MQTTv5
    client_id: str = ""
    username: str = ""
    password: str = ""
    clean: bool = True  # False: a persistent session (MQTT 5: one that outlives the connection by an hour)
    connected: queue.Queue[str] = field(default_factory=queue.Queue)
    inbox: queue.Queue[tuple[str, bytes]] = field(default_factory=queue.Queue)
    subacks: dict[int, list[Any]] = field(default_factory=dict)
    pubacks: dict[int, Any] = field(default_factory=dict)
    disconnects: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        clean_session = self.clean if self.protocol == mqtt.MQTTv311 else None  # MQTT 5 says it at connect
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=self.protocol, clean_session=clean_session,
                                  client_id=self.client_id or f"probe-{uuid.uuid4().hex[:8]}")
        if self.ca is not None:
            self.client.tls_set(ca_certs=str(self.ca), certfile=str(self.cert) if self.cert else None,
                                keyfile=str(self.key) if self.key else None)
        if self.username:
            self.client.username_pw_set(self.username, self.password or "not-a-password")
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self.connected.put(str(rc))
        self.client.on_message = lambda _c, _u, m: self.inbox.put((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda _c, _u, mid, codes, _p: self.subacks.__setitem__(mid, codes)
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self.pubacks.__setitem__(mid, rc)
        self.client.on_disconnect = self._on_disconnect

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.disconnects.append(str(rc))
        self.connected.put(f"disconnected: {rc}")  # a refused TLS handshake ends here, without a CONNACK

    def connect(self, timeout: float = 5.0) -> str:
        """'Success', a refusal reason, 'disconnected: ...' (a TLS handshake the broker cut) or 'no answer'."""
        v5: dict[str, Any] = {}
        if self.protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
            props.SessionExpiryInterval = 0 if self.clean else 3600
            v5 = {"clean_start": self.clean, "properties": props}
        try:
            self.client.connect("127.0.0.1", self.url_port, keepalive=30, **v5)
        except OSError as exc:
            return f"error: {exc}"
        self.client.loop_start()
        try:
            return self.connected.get(timeout=timeout)
        except queue.Empty:
            return "no answer"

    def subscribe(self, topic: str, timeout: float = 5.0) -> list[Any] | None:
        """The SUBACK's reason codes, or None when none came (paho sends nothing while not connected)."""
        request: Any = (topic, SubscribeOptions(qos=1)) if self.protocol == mqtt.MQTTv5 else (topic, 1)
        _, mid = self.client.subscribe(request)
        if mid is None:
            return None
        codes: list[Any] | None = _wait_for(self.subacks, mid, timeout)
        return codes

    def publish(self, topic: str, payload: bytes, timeout: float = 5.0) -> Any:
        info = self.client.publish(topic, payload, qos=1)
        return _wait_for(self.pubacks, info.mid, timeout)

    def received(self, until_topic: str, timeout: float = 5.0) -> list[tuple[str, bytes]]:
        """Everything delivered up to and including the first message on `until_topic` (a barrier: what the broker
        would have delivered before it has been delivered by then, in order)."""
        got: list[tuple[str, bytes]] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.inbox.get(timeout=left))
            except queue.Empty:
                break
            if got[-1][0] == until_topic:
                break
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _wait_for(answers: dict[int, Any], mid: int, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while mid not in answers and time.monotonic() < deadline:
        time.sleep(0.01)
    return answers.get(mid)


def unit_probe(port: int, bundle: Path, **options: Any) -> Probe:
    return Probe(port, bundle / "ca.pem", bundle / "unit.pem", bundle / "unit.key", **options)

"""The provincial console: sign a command, publish it to a device or a group, and follow its acks live.

Uses paho-mqtt directly (a short-lived client with its own network thread). Must not import the agent's runtime.
"""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from joserfc.jwk import OKPKey
from paho.mqtt.enums import CallbackAPIVersion

from agent.core.topics import Target, Topics
from agent.errors import LoaError
from province.keys import sign_command

DEFAULT_TOPICS = Topics()
TERMINAL = {"rejected", "finished", "preempted", "stopped", "failed", "expired"}


class LinkError(LoaError, ConnectionError):
    code = "link_error"


@dataclass(frozen=True)
class BrokerAccess:
    url: str
    username: str = ""
    password: str = ""
    ca: str = ""
    cert: str = ""
    key: str = ""
    fallbacks: tuple[str, ...] = ()  # brokers tried in order after `url` (the preferred one) does not answer

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.fallbacks)


class Console:
    """A connected console session; messages on subscribed topics arrive in `inbox` as (topic, payload, retained)."""

    def __init__(self, access: BrokerAccess, topics: Topics = DEFAULT_TOPICS, timeout_s: float = 10.0,
                 client_id: str = "", persistent: bool = False) -> None:
        """`persistent` keeps the session (and QoS 1 messages for it) at the broker between connections."""
        self.topics = topics
        self.inbox: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self._connected: queue.Queue[str] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, clean_session=not persistent,
                                  client_id=client_id or f"loa-console-{uuid.uuid4().hex[:8]}")
        if access.username:
            self.client.username_pw_set(access.username, access.password)
        if urlsplit(access.url).scheme == "mqtts":
            self.client.tls_set(ca_certs=access.ca or None, certfile=access.cert or None, keyfile=access.key or None)
        self.client.on_connect = lambda _c, _u, _f, rc, _p: self._connected.put(str(rc))
        self.client.on_message = lambda _c, _u, m: self.inbox.put((m.topic, bytes(m.payload), bool(m.retain)))
        self.url = access.url  # the broker the console is on: the first of the list that took it
        self._open_first(access.urls, timeout_s)

    def _open_first(self, urls: tuple[str, ...], timeout_s: float) -> None:
        """Failover: the first broker of the ordered list that takes the console; the last one's error otherwise."""
        for i, url in enumerate(urls):
            try:
                self._open(url, timeout_s)
                self.url = url
                return
            except LinkError:
                if i == len(urls) - 1:
                    raise
                self.client.loop_stop()  # paho's thread of the failed attempt, if it started one

    def _open(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
            self.client.connect(parts.hostname or "localhost", port, keepalive=30)
        except OSError as exc:
            raise LinkError(f"cannot reach the broker at {url}: {exc.strerror or exc}") from None
        self.client.loop_start()
        try:
            rc = self._connected.get(timeout=timeout_s)
        except queue.Empty:
            raise LinkError(f"no answer from the broker at {url} within {timeout_s:g} s") from None
        if rc != "Success":
            raise LinkError(f"the broker at {url} refused the console: {rc}")

    def subscribe(self, *filters: str) -> None:
        results = [self.client.subscribe(f, qos=1) for f in filters]
        if any(rc != mqtt.MQTT_ERR_SUCCESS for rc, _ in results):
            raise LinkError("subscription failed")
        time.sleep(0.2)  # let SUBACKs arrive before a command goes out, so no early ack is missed

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False, qos: int = 1) -> None:
        """QoS 1 unless told (the time beacon goes QoS 0: a lost one is replaced by the next)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout=10)

    def send(self, key: OKPKey, target: Target, cmd: str, args: dict[str, Any], **sign: Any) -> str:
        token, jti = sign_command(key, target.audience, cmd, args, **sign)
        self.publish(self.topics.command(target), token)
        return jti

    def messages(self, until: float) -> Iterator[tuple[str, bytes, bool]]:
        while (left := until - time.monotonic()) > 0:
            try:
                yield self.inbox.get(timeout=left)
            except queue.Empty:
                return

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def follow_acks(console: Console, jti: str, wait_s: float, show: Callable[[str, dict[str, Any]], None],
                expected: int = 1, other: Callable[[str, str, dict[str, Any]], None] | None = None
                ) -> dict[str, dict[str, Any]]:
    """Print each ack of one command as it arrives; return the last ack per device (stops when all are terminal).
    `other` sees the command's other reports that arrive meanwhile (a snapshot's image: device, kind, report)."""
    last: dict[str, dict[str, Any]] = {}
    for topic, payload, _ in console.messages(time.monotonic() + wait_s):
        where = console.topics.device_of(topic)
        ack = json_object(payload)
        if where and where[1] != "ack" and ack.get("jti") == jti and other is not None:
            other(where[0], where[1], ack)
        if not where or where[1] != "ack" or ack.get("jti") != jti:
            continue
        last[where[0]] = ack
        show(where[0], ack)
        if len(last) >= expected and all(a["state"] in TERMINAL for a in last.values()):
            break
    return last


def json_object(payload: bytes) -> dict[str, Any]:
    """A report's JSON object, or {} for anything else (a report is data from the field: never trusted)."""
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

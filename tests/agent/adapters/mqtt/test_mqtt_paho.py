"""The unit's paho link (public API only) against a real Mosquitto: every kind of PUBACK reaches the runtime with the
broker's reason when it refused the message, messages arrive intact under MQTT 5 and 3.1.1, TLS works, and the loop
keeps running its timers while the broker's address does not answer, without a thread of the link's own."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agent.adapters.mqtt.mqtt_paho import LinkCallbacks, LinkSettings, PahoLink
from agent.runtime.loop import Loop
from province.console import BrokerAccess
from tests.conftest import Broker, TlsBroker


def run_until(loop: Loop, done: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        loop.run_once(0.05)
    assert done(), "timed out"


def run_for(loop: Loop, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        loop.run_once(0.05)


def unit_link(access: BrokerAccess, loop: Loop, client_id: str, *, on_up: Any = lambda: None,
              on_down: Any = lambda _r: None, on_message: Any = lambda *_: None,
              on_puback: Any = lambda _m, _r: None, **options: Any) -> PahoLink:
    """A link with the given identity (the console's may use loa/v1/test/#), as the unit builds it."""
    return PahoLink(loop, LinkSettings(url=access.url, client_id=client_id, will_topic="loa/v1/test/will",
                                       will_payload=b"gone", username=access.username, password=access.password,
                                       ca=access.ca, cert=access.cert, key=access.key, **options),
                    LinkCallbacks(on_up=on_up, on_down=on_down, on_message=on_message, on_puback=on_puback))


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_every_kind_of_puback_reaches_the_runtime(broker: Broker, protocol: str) -> None:
    """MQTT 5 PUBACKs carry the broker's reason; MQTT 3.1.1 has none (Mosquitto acknowledges a refused publish)."""
    loop, up, pubacks = Loop(), [], []
    link = unit_link(broker.console_access(), loop, f"unit-pubacks-{protocol}", on_up=lambda: up.append(1),
                     on_puback=lambda mid, refused: pubacks.append((mid, refused)), protocol=protocol)
    try:
        link.connect()
        run_until(loop, lambda: up)
        link.subscribe(("loa/v1/test/heard",))
        run_for(loop, 0.3)  # the SUBACK
        heard = link.publish("loa/v1/test/heard", b"1", 1)  # a subscriber: reason 0x00 (success)
        nobody = link.publish("loa/v1/test/nobody", b"2", 1)  # reason 0x10 (no matching subscribers)
        refused = link.publish("outside/the/acl", b"3", 1)  # reason 0x87 (not authorized)
        run_until(loop, lambda: len(pubacks) == 3)
        why = "Not authorized (0x87)" if protocol == "5" else ""
        assert sorted(pubacks) == sorted([(heard, ""), (nobody, ""), (refused, why)])
    finally:
        link.close()
        loop.close()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_the_unit_link_receives_every_message_intact_and_in_order(broker: Broker, protocol: str) -> None:
    """QoS 0 and 1, retained, a message with MQTT 5 properties, one larger than a socket read, and a burst."""
    loop, up = Loop(), []
    access = broker.console_access()
    topic = f"loa/v1/test/unit-in/{protocol}"
    got: list[tuple[str, bytes, bool]] = []
    link = unit_link(access, loop, f"unit-receiver-{protocol}", on_up=lambda: up.append(1), protocol=protocol,
                     on_message=lambda t, payload, retained: got.append((t, payload, retained)))
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"unit-sender-{protocol}", protocol=mqtt.MQTTv5)
    sender.username_pw_set(access.username, access.password)
    try:
        link.connect()
        run_until(loop, lambda: up)
        link.subscribe((topic, topic + "/retained"))
        run_for(loop, 0.3)
        sender.connect("127.0.0.1", int(access.url.rsplit(":", 1)[1]))  # the console listener
        sender.loop_start()
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
        props.UserProperty = ("origin", "test")
        big = bytes(range(256)) * 800
        sent = [(b"qos0", 0, None), (b"qos1", 1, None), (b"with properties", 1, props), (big, 1, None),
                *((f"burst {i}".encode(), 1, None) for i in range(200))]
        for payload, qos, p in sent:
            sender.publish(topic, payload, qos=qos, properties=p).wait_for_publish(5)
        sender.publish(topic + "/retained", b"kept", qos=1, retain=True).wait_for_publish(5)
        run_until(loop, lambda: len(got) >= len(sent) + 1)
        assert got[:-1] == [(topic, payload, False) for payload, _q, _p in sent]
        assert got[-1] == (topic + "/retained", b"kept", protocol == "5")  # retain-as-published under MQTT 5 only
    finally:
        sender.publish(topic + "/retained", b"", qos=1, retain=True).wait_for_publish(5)
        sender.loop_stop()
        sender.disconnect()
        link.close()
        loop.close()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_the_unit_link_over_tls_with_its_certificate(tls_broker: TlsBroker, protocol: str) -> None:
    loop, up, pubacks = Loop(), [], []
    link = unit_link(tls_broker.console_access(), loop, f"unit-tls-{protocol}", on_up=lambda: up.append(1),
                     on_puback=lambda mid, refused: pubacks.append((mid, refused)), protocol=protocol)
    threads_before = threading.active_count()
    try:
        link.connect()
        run_until(loop, lambda: up)
        assert threading.active_count() == threads_before  # the handshake ran on the loop, bounded by connect_timeout
        mid = link.publish("loa/v1/test/tls", b"over tls", 1)
        run_until(loop, lambda: pubacks)
        assert pubacks == [(mid, "")]
    finally:
        link.close()
        loop.close()


@pytest.fixture
def silent_address() -> Iterator[tuple[str, int]]:
    """A listening socket whose accept queue is full and never drained: the kernel drops further SYNs, so a TCP
    connect to it neither succeeds nor fails (a broker behind a dark 4G cell, as far as the unit can tell)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = server.getsockname()
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    time.sleep(0.2)
    try:
        yield address
    finally:
        for s in (*fillers, server):
            s.close()


def test_the_loop_runs_its_timers_while_the_broker_does_not_answer(silent_address: tuple[str, int]) -> None:
    loop, ticks = Loop(), []
    downs: list[str] = []
    threads_before = threading.active_count()

    def tick() -> None:  # a relay timer's stand-in: due every 50 ms
        ticks.append(time.monotonic())
        loop.call_later(0.05, tick)

    host, port = silent_address
    access = BrokerAccess(f"mqtt://{host}:{port}", "nobody", "x")
    link = unit_link(access, loop, "unit-silent", on_down=downs.append, probe_timeout_s=1.5)
    try:
        loop.call_later(0.05, tick)
        started = time.monotonic()
        link.connect()
        assert time.monotonic() - started < 0.1  # connect() itself never waits
        assert threading.active_count() == threads_before  # and starts no thread
        run_until(loop, lambda: downs, timeout_s=5)
        took = time.monotonic() - started
        assert 1.4 < took < 2.5, took
        assert downs == [f"TimeoutError: no answer from {host}:{port} in 1.5 s"]
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        assert len(ticks) >= 20 and max(gaps) < 0.3, gaps  # the timers kept their pace all along
    finally:
        link.close()
        loop.close()


def test_a_refused_connection_is_reported_down_at_once_and_the_next_attempt_connects(broker: Broker) -> None:
    """Each attempt is one connect() from the runtime (its backoff decides when); a closed port answers at once."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    loop, up = Loop(), []
    downs: list[str] = []
    access = broker.console_access()
    link = unit_link(BrokerAccess(f"mqtt://127.0.0.1:{port}", access.username, access.password), loop, "unit-refused",
                     on_down=downs.append, on_up=lambda: up.append(1))
    try:
        link.connect()
        run_until(loop, lambda: downs, timeout_s=1)
        assert downs[0].startswith("ConnectionRefusedError"), downs
        link.settings = replace(link.settings, url=access.url)  # the broker is back
        link.connect()
        run_until(loop, lambda: up)
        assert len(downs) == 1
    finally:
        link.close()
        loop.close()


def test_the_link_fails_over_to_the_next_broker_and_returns_to_the_preferred_one(broker: Broker) -> None:
    """An ordered list: the preferred broker does not answer, so the next attempt goes to the fallback; while there,
    a probe finds the preferred address answering again and the link closes so that the next attempt goes back."""
    access = broker.console_access()
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))  # bound, not listening: connections to it are refused
    preferred = f"mqtt://127.0.0.1:{dead.getsockname()[1]}"
    loop, up, down = Loop(), [], list[str]()
    link = unit_link(replace(access, url=preferred), loop, "unit-failover", on_up=lambda: up.append(1),
                     on_down=down.append, fallbacks=(access.url,), prefer_probe_s=0.2)
    try:
        link.connect()
        run_until(loop, lambda: down)
        assert link.broker()[0] == 1
        link.connect()
        run_until(loop, lambda: up)
        assert link.broker() == (1, access.url.split("://")[1])
        run_for(loop, 0.5)  # probes of the preferred broker keep failing: the link stays on the fallback
        assert len(down) == 1
        dead.listen()  # the preferred broker's address answers again
        run_until(loop, lambda: len(down) == 2)
        assert link.broker()[0] == 0
    finally:
        link.close()
        loop.close()
        dead.close()

"""The simulator's fast link against a real Mosquitto (MQTT 5): every kind of PUBACK reaches the runtime, with the
broker's reason when it refused the message; the plain ones (success, "no matching subscribers") through the cheap
path and any other through paho's own decoder. The batched link (short paths for PUBLISH and PUBACK, paho for the
rest) delivers what paho would: in order, intact, with properties and split packets handed to paho. (Moved with the
client from the unit's adapter tests; the unit's link has its own in tests/agent/adapters/mqtt.)"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.enums import _ConnectionState as ConnectionState  # private: the test fakes a connected client
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agent.adapters.mqtt.mqtt_paho import LinkCallbacks, LinkSettings
from agent.runtime.loop import Loop
from sim.fastlink import FastLink, FastOptions
from sim.fastpaho import BatchedClient, next_packet
from tests.conftest import Broker

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike


def run_until(loop: Loop, done: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        loop.run_once(0.05)
    assert done(), "timed out"


def console_link_on(broker: Broker, loop: Loop, client_id: str, *, on_up: Any = lambda: None,
                    on_message: Any = lambda *_: None, on_puback: Any = lambda _m, _r: None,
                    will_topic: str = "loa/v1/test/will", batched: bool = True, protocol: str = "5") -> FastLink:
    """A link with the console's credentials (the only identity that may use loa/v1/test/#)."""
    access = broker.console_access()
    return FastLink(loop, LinkSettings(url=access.url, client_id=client_id, will_topic=will_topic, will_payload=b"gone",
                                       username=access.username, password=access.password, protocol=protocol),
                    LinkCallbacks(on_up=on_up, on_down=lambda _r: None, on_message=on_message, on_puback=on_puback),
                    FastOptions(batched=batched))


@pytest.mark.parametrize("batched", [False, True], ids=["cheap-puback", "batched"])
def test_every_kind_of_puback_reaches_the_runtime(broker: Broker, monkeypatch: pytest.MonkeyPatch,
                                                  batched: bool) -> None:
    decoded_by_paho: list[bytes] = []
    paho_handler = mqtt.Client._handle_pubackcomp

    def spy(client: mqtt.Client, cmd: Any) -> Any:
        decoded_by_paho.append(bytes(client._in_packet["packet"]))
        return paho_handler(client, cmd)

    monkeypatch.setattr(mqtt.Client, "_handle_pubackcomp", spy)
    loop, up, pubacks = Loop(), [], []
    link = console_link_on(broker, loop, broker.console_access().username, on_up=lambda: up.append(1),
                           on_puback=lambda mid, refused: pubacks.append((mid, refused)), batched=batched)
    try:
        link.connect()
        run_until(loop, lambda: up)
        link.subscribe(("loa/v1/test/heard",))
        end = time.monotonic() + 0.3  # the SUBACK
        while time.monotonic() < end:
            loop.run_once(0.05)
        heard = link.publish("loa/v1/test/heard", b"1", 1)  # a subscriber: reason 0x00 (success)
        nobody = link.publish("loa/v1/test/nobody", b"2", 1)  # reason 0x10 (no matching subscribers)
        refused = link.publish("outside/the/acl", b"3", 1)  # reason 0x87 (not authorized)
        run_until(loop, lambda: len(pubacks) == 3)
        assert sorted(pubacks) == sorted([(heard, ""), (nobody, ""), (refused, "Not authorized (0x87)")])
        # cheap PUBACKs: only the refusal took paho's path; the batched short path takes every PUBACK of its own publishes
        assert [p[2:3] for p in decoded_by_paho] == ([] if batched else [b"\x87"]), decoded_by_paho
    finally:
        link.close()
        loop.close()


def console_link(broker: Broker, loop: Loop, received: list[bytes], *, corked: bool,
                 topic: str = "loa/v1/test/corked/n") -> tuple[FastLink, list[int]]:
    """The console's identity (its client id is its user name, so a second link resumes the first one's session:
    only messages on `topic` are kept)."""
    up: list[int] = []

    def keep(t: str, payload: bytes, _retained: bool) -> None:
        if t == topic:
            received.append(payload)

    link = console_link_on(broker, loop, broker.console_access().username, on_up=lambda: up.append(1), on_message=keep,
                           will_topic="loa/v1/test/corked/will", batched=corked)
    link.connect()
    run_until(loop, lambda: up)
    return link, up


def test_a_corked_link_sends_a_turns_packets_in_one_write_in_order_and_says_goodbye(broker: Broker) -> None:
    loop, received = Loop(), list[bytes]()
    writes: list[int] = []
    link, _ = console_link(broker, loop, received, corked=True)
    sock = link.client.socket()
    assert sock is not None
    real_send = sock.send

    class Spy:  # count the socket writes, pass everything else through
        def send(self, data: bytes) -> int:
            writes.append(len(data))
            return real_send(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(sock, name)

    link.client._sock = cast("SocketLike", Spy())
    link.subscribe(("loa/v1/test/corked/#",))
    for i in range(50):  # one turn of the loop: fifty publishes
        link.publish("loa/v1/test/corked/n", str(i).encode(), 1)
    assert writes == []  # nothing written yet: the turn is not over
    loop.run_once(0)
    assert len(writes) == 1 and writes[0] > 50 * 20  # the SUBSCRIBE and fifty PUBLISH packets in one send()
    run_until(loop, lambda: len(received) == 50)
    assert received == [str(i).encode() for i in range(50)]
    link.client._sock = sock
    link.close()  # a clean goodbye: DISCONNECT goes out before paho closes the socket, so no last will
    loop.run_once(0.2)

    will: list[bytes] = []
    other, _ = console_link(broker, loop, will, corked=False, topic="loa/v1/test/corked/will")
    other.subscribe(("loa/v1/test/corked/will",))
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        loop.run_once(0.05)
    assert will == []
    other.close()
    loop.close()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_the_batched_link_receives_what_paho_would(broker: Broker, monkeypatch: pytest.MonkeyPatch,
                                                   protocol: str) -> None:
    """QoS 0 and 1, retained, a message with MQTT 5 properties (paho decodes those; a 3.1.1 link gets it without
    them), one larger than a socket read (paho's framing finishes it), and a burst: each arrives once, intact and in
    order. Units of an older version speak 3.1.1."""
    decoded_by_paho: list[int] = []
    paho_handler = mqtt.Client._handle_publish

    def spy(client: mqtt.Client) -> Any:
        decoded_by_paho.append(len(client._in_packet["packet"]))
        return paho_handler(client)

    monkeypatch.setattr(mqtt.Client, "_handle_publish", spy)
    loop, received = Loop(), []
    access = broker.console_access()
    topic = "loa/v1/test/fast/in"
    got: list[tuple[str, bytes, bool]] = []
    link = console_link_on(broker, loop, f"fast-receiver-{protocol}", on_up=lambda: received.append(b"up"),
                           on_message=lambda t, payload, retained: got.append((t, payload, retained)),
                           protocol=protocol)
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="fast-sender", protocol=mqtt.MQTTv5)
    sender.username_pw_set(access.username, access.password)
    try:
        link.connect()
        run_until(loop, lambda: received)
        link.subscribe((topic, topic + "/retained"))
        end = time.monotonic() + 0.3  # the SUBACK
        while time.monotonic() < end:
            loop.run_once(0.05)
        sender.connect("127.0.0.1", int(access.url.rsplit(":", 1)[1]))  # the console listener
        sender.loop_start()
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
        props.UserProperty = ("origin", "test")
        big = bytes(range(256)) * 800  # 200 KiB: more than one read of the socket
        sent = [(topic, b"qos0", 0, None), (topic, b"qos1", 1, None), (topic, b"with properties", 1, props),
                (topic, big, 1, None), *((topic, f"burst {i}".encode(), 1, None) for i in range(200))]
        for t, payload, qos, p in sent:
            sender.publish(t, payload, qos=qos, properties=p).wait_for_publish(5)
        sender.publish(topic + "/retained", b"kept", qos=1, retain=True).wait_for_publish(5)
        run_until(loop, lambda: len(got) >= len(sent) + 1)
        assert got[:-1] == [(t, payload, False) for t, payload, _q, _p in sent]
        # MQTT 5 links subscribe retain-as-published; under 3.1.1 a live message is never flagged retained
        assert got[-1] == (topic + "/retained", b"kept", protocol == "5")
        assert link.client._in_packet["command"] == 0  # no packet left half-read
        assert max(decoded_by_paho) > len(big)  # the big one took paho's framing
        assert len(decoded_by_paho) == (2 if protocol == "5" else 1)  # and, under MQTT 5, the one with properties
    finally:
        sender.publish(topic + "/retained", b"", qos=1, retain=True).wait_for_publish(5)
        sender.loop_stop()
        sender.disconnect()
        link.close()
        loop.close()


def test_a_publish_before_the_connection_is_up_is_left_to_paho(broker: Broker) -> None:
    loop = Loop()
    link = console_link_on(broker, loop, "fast-early")
    client = link.client
    assert isinstance(client, BatchedClient)
    try:
        assert client.publish_now("loa/v1/test/fast/early", b"x", 1, False) is None
        with pytest.raises(ValueError):
            client._sock = cast("SocketLike", object())  # "connected" enough to reach the topic check
            client._state = ConnectionState.MQTT_CS_CONNECTED
            client.publish_now("loa/v1/test/+/wild", b"x", 1, False)
    finally:
        client._sock = None
        loop.close()


@pytest.mark.parametrize(("data", "expected"), [
    (b"\x40\x02\x00\x01", (0x40, 2, 4)),  # a PUBACK
    (b"\x40\x02\x00", None),  # its last byte still on its way
    (b"\x30", None),  # only the fixed header byte
    (b"\x30\x80", None),  # the length continues in the next read
    (b"\x30\x80\x01" + bytes(128), (0x30, 3, 131)),  # a two-byte length: 128
    (b"\x30\xff\xff\xff\xff\x01", None),  # a five-byte length is malformed: paho's framing says so
])
def test_packet_framing(data: bytes, expected: tuple[int, int, int] | None) -> None:
    assert next_packet(data, 0) == expected

"""The paho link against a real Mosquitto (MQTT 5): every kind of PUBACK reaches the runtime, with the broker's reason
when it refused the message; the plain ones (success, "no matching subscribers") through the adapter's cheap path and
any other through paho's own decoder."""

from __future__ import annotations

import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from agent.adapters.mqtt_paho import LinkCallbacks, LinkSettings, PahoLink
from agent.runtime.loop import Loop
from tests.conftest import Broker


def run_until(loop: Loop, done: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        loop.run_once(0.05)
    assert done(), "timed out"


def test_every_kind_of_puback_reaches_the_runtime(broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded_by_paho: list[bytes] = []
    paho_handler = mqtt.Client._handle_pubackcomp

    def spy(client: mqtt.Client, cmd: Any) -> Any:
        decoded_by_paho.append(bytes(client._in_packet["packet"]))
        return paho_handler(client, cmd)

    monkeypatch.setattr(mqtt.Client, "_handle_pubackcomp", spy)
    access = broker.console_access()
    loop, up, pubacks = Loop(), [], []
    link = PahoLink(loop, LinkSettings(url=access.url, client_id=access.username, will_topic="loa/v1/test/will",
                                       will_payload=b"{}", username=access.username, password=access.password,
                                       connect_in_thread=False, inline_write=True),
                    LinkCallbacks(on_up=lambda: up.append(1), on_down=lambda _r: None,
                                  on_message=lambda *_: None,
                                  on_puback=lambda mid, refused: pubacks.append((mid, refused))))
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
        assert [p[2:3] for p in decoded_by_paho] == [b"\x87"], decoded_by_paho  # only the refusal took paho's path
    finally:
        link.close()
        loop.close()


def console_link(broker: Broker, loop: Loop, received: list[bytes], *, corked: bool,
                 topic: str = "loa/v1/test/corked/n") -> tuple[PahoLink, list[int]]:
    """The console's identity (its client id is its user name, so a second link resumes the first one's session:
    only messages on `topic` are kept)."""
    access, up = broker.console_access(), []
    link = PahoLink(loop, LinkSettings(url=access.url, client_id=access.username, will_topic="loa/v1/test/corked/will",
                                       will_payload=b"gone", username=access.username, password=access.password,
                                       connect_in_thread=False, nonblocking_connect=True, inline_write=True,
                                       batched_io=corked),
                    LinkCallbacks(on_up=lambda: up.append(1), on_down=lambda _r: None,
                                  on_message=lambda t, payload, _r: t == topic and received.append(payload),
                                  on_puback=lambda _m, _r: None))
    link.connect()
    run_until(loop, lambda: up)
    return link, up


def test_a_corked_link_sends_a_turns_packets_in_one_write_in_order_and_says_goodbye(broker: Broker) -> None:
    loop, received = Loop(), []
    writes: list[int] = []
    link, _ = console_link(broker, loop, received, corked=True)
    sock = link.client.socket()
    real_send = sock.send
    link.client._sock = type("Spy", (), {  # count the socket writes, pass everything else through
        "send": lambda _self, data: writes.append(len(data)) or real_send(data),
        "__getattr__": lambda _self, name: getattr(sock, name)})()
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

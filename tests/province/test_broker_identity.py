"""On every listener `loa broker` writes, a unit's client id is its name: with its own credentials and another unit's
client id, a unit neither pushes that unit off nor loses or wipes the commands queued for it, and no client can
publish a 10 MiB message. Checked on a real Mosquitto, on the password listener and on the TLS listener, by what is
delivered (MQTT 3.1.1 has no code for a refused publish)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from agent.core.topics import Topics
from province import broker, ca
from tests.conftest import Broker, TlsBroker
from tests.tools.mqtt_probe import Probe, unit_probe
from tools.provision import UnitSpec, provision

T = Topics()


@dataclass
class Listener:
    """How units and the console reach one listener of a real broker."""

    unit: Callable[..., Probe]  # (name, **probe options)
    console: Callable[[], Probe]
    add_unit: Callable[[str], None]


def password_listener(b: Broker) -> Listener:
    folder = broker.BrokerDir(b.dir)

    def unit(name: str, **options: Any) -> Probe:
        return Probe(b.port, None, None, None, username=name,
                     password=folder.password_file(name).read_text().strip(), **options)

    def console() -> Probe:
        access = broker.console_access(b.dir)
        return Probe(folder.console_port(), None, None, None, username=access.username, password=access.password)

    def add_unit(name: str) -> None:
        broker.add_device(b.dir, name, ("xa-id",))

    return Listener(unit, console, add_unit)


def tls_listener(b: TlsBroker, keys: Path, out: Path) -> Listener:
    folder = broker.BrokerDir(b.dir)

    def add(name: str) -> None:
        provision(UnitSpec(name, keys / "trust.jwks", b.url, out / name, groups=("xa-id",), broker_dir=b.dir,
                           ca_dir=b.ca_dir))

    def console() -> Probe:
        return Probe(b.port, b.ca_dir / ca.CA_CERT, folder.cert_file(broker.CONSOLE), folder.key_file(broker.CONSOLE))

    return Listener(lambda name, **options: unit_probe(b.port, out / name, **options), console, add)


@pytest.fixture(params=["password", "tls"])
def listener(request: pytest.FixtureRequest, keys: Path, tmp_path: Path) -> Listener:
    if request.param == "password":
        return password_listener(request.getfixturevalue("broker"))
    return tls_listener(request.getfixturevalue("tls_broker"), keys, tmp_path)


def pair(listener: Listener) -> tuple[str, str]:
    a, b = f"ua-{uuid.uuid4().hex[:6]}", f"ub-{uuid.uuid4().hex[:6]}"
    listener.add_unit(a)
    listener.add_unit(b)
    return a, b


def connected(probe: Probe) -> Probe:
    assert probe.connect() == "Success"
    return probe


def test_another_units_client_id_neither_pushes_a_unit_off_nor_stops_its_commands(listener: Listener):
    a, b = pair(listener)
    console = connected(listener.console())
    unit_b = connected(listener.unit(b, client_id=f"loa-{b}", clean=False))  # as the agent connects
    intruders: list[Probe] = []
    try:
        unit_b.subscribe(T.device_command(b))
        for client_id in (f"loa-{b}", b):
            intruders.append(listener.unit(a, client_id=client_id))
            intruders[-1].connect()
            console.publish(T.device_command(b), f"for {b} while {a} claims {client_id}".encode())
            got = unit_b.received(until_topic=T.device_command(b))
            assert [p for _, p in got] == [f"for {b} while {a} claims {client_id}".encode()]
        assert unit_b.disconnects == []
        assert all(i.inbox.empty() for i in intruders)
    finally:
        for probe in (*intruders, unit_b, console):
            probe.close()


@pytest.mark.parametrize("protocol", [mqtt.MQTTv5, mqtt.MQTTv311], ids=["mqtt5", "mqtt311"])
def test_a_clean_start_with_another_units_client_id_does_not_wipe_its_queued_command(listener: Listener, protocol):
    a, b = pair(listener)
    unit_b = connected(listener.unit(b, client_id=f"loa-{b}", clean=False, protocol=protocol))
    unit_b.subscribe(T.device_command(b))
    unit_b.close()
    console = connected(listener.console())
    try:
        console.publish(T.device_command(b), b"queued while offline")
        for client_id in (f"loa-{b}", b):
            intruder = listener.unit(a, client_id=client_id, clean=True, protocol=protocol)
            intruder.connect()
            intruder.close()
        back = connected(listener.unit(b, client_id=f"loa-{b}", clean=False, protocol=protocol))
        try:
            assert [p for _, p in back.received(until_topic=T.device_command(b))] == [b"queued while offline"]
        finally:
            back.close()
    finally:
        console.close()


def test_a_10_mib_publish_is_refused(listener: Listener):
    _, b = pair(listener)
    console = connected(listener.console())
    sender = connected(listener.unit(b))
    try:
        console.subscribe(T.report(b, "hb"))
        console.subscribe(T.report(b, "event"))
        sender.publish(T.report(b, "hb"), bytes(10 << 20), timeout=3)
        after = connected(listener.unit(b))
        try:
            after.publish(T.report(b, "event"), b"small")
            got = console.received(until_topic=T.report(b, "event"))
        finally:
            after.close()
        assert [(t, len(p)) for t, p in got] == [(T.report(b, "event"), 5)]
        assert sender.disconnects, "the broker kept the connection of a client that sent 10 MiB"
    finally:
        sender.close()
        console.close()

"""The locked-down broker for real: Mosquitto on the generated TLS configuration, units with their own certificates
from `loa provision --ca-dir`, and what each identity can and cannot read or write (checked by delivery, not only
by return codes: MQTT 3.1.1 gives no code for a refused publish)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from agent.core.topics import Topics
from province import broker, ca
from province.console import Console
from province.keys import load_signing
from tests.conftest import TlsBroker, Unit, wait_until
from tests.tools.mqtt_probe import Probe, unit_probe
from tools.provision import UnitSpec, dev_clock, provision

T = Topics()
PROTOCOLS = pytest.mark.parametrize("protocol", [mqtt.MQTTv5, mqtt.MQTTv311], ids=["mqtt5", "mqtt311"])


def make(tls_broker: TlsBroker, keys: Path, out: Path, name: str, groups: tuple[str, ...]) -> Path:
    spec = UnitSpec(name, keys / "trust.jwks", tls_broker.url, out / name, groups=groups,
                    broker_dir=tls_broker.dir, ca_dir=tls_broker.ca_dir, extra=dev_clock())
    provision(spec)
    return out / name


@pytest.fixture(scope="module")
def units(tls_broker: TlsBroker, keys: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("tls-units")
    return {"ua": make(tls_broker, keys, out, "ua", ("xa-a", "province")),
            "ub": make(tls_broker, keys, out, "ub", ("xa-b", "province"))}


def console_probe(tls_broker: TlsBroker, name: str = broker.CONSOLE) -> Probe:
    b = broker.BrokerDir(tls_broker.dir)
    probe = Probe(tls_broker.port, tls_broker.ca_dir / ca.CA_CERT, b.cert_file(name), b.key_file(name))
    assert probe.connect() == "Success"
    return probe


@PROTOCOLS
def test_a_unit_reads_only_its_own_and_its_groups_commands(tls_broker, units, protocol):
    """Mosquitto's ACL file grants every SUBSCRIBE (even '#') and filters each message on delivery (its maintainer:
    eclipse-mosquitto/mosquitto#744), so what counts is what arrives: only its own and its groups' commands."""
    a = unit_probe(tls_broker.port, units["ua"], protocol=protocol)
    console = console_probe(tls_broker)
    try:
        assert a.connect() == "Success"
        for topic_filter in ("#", "loa/v1/#", "loa/v1/dev/+/cmd", "loa/v1/grp/+/cmd", T.device_command("ub"),
                             T.group_command("xa-b"), T.report("ub", "status"), T.device_command("ua"),
                             T.group_command("xa-a"), T.group_command("province")):
            assert a.subscribe(topic_filter) is not None, topic_filter
        for topic in (T.device_command("ub"), T.group_command("xa-b"), T.report("ub", "status"),
                      T.report("ua", "status"), "elsewhere/x", T.group_command("xa-a"), T.group_command("province"),
                      T.device_command("ua")):
            console.publish(topic, b"x")
        got = list(dict.fromkeys(t for t, _ in a.received(until_topic=T.device_command("ua"))))
        assert got == [T.group_command("xa-a"), T.group_command("province"), T.device_command("ua")]
    finally:
        a.close()
        console.close()


@PROTOCOLS
def test_a_unit_writes_only_its_own_reports(tls_broker, units, protocol):
    a = unit_probe(tls_broker.port, units["ua"], protocol=protocol)
    console = console_probe(tls_broker)
    try:
        assert a.connect() == "Success"
        console.subscribe("loa/v1/#")
        console.subscribe("elsewhere/#")
        forbidden = (T.report("ub", "status"), T.report("ub", "ack"), T.device_command("ub"),
                     T.device_command("ua"), T.group_command("xa-a"), T.group_command("province"), "elsewhere/x")
        codes = [a.publish(topic, b"forged") for topic in forbidden]
        a.publish(T.report("ua", "hb"), b"{}")
        got = [t for t, _ in console.received(until_topic=T.report("ua", "hb"))]
        assert got == [T.report("ua", "hb")]
        if protocol == mqtt.MQTTv5:  # MQTT 5 also says so in the PUBACK; 3.1.1 has no way to
            assert all(c is not None and c.is_failure for c in codes), codes
    finally:
        a.close()
        console.close()


def test_the_user_name_a_unit_sends_is_ignored(tls_broker, units):
    """With the certificate's name as the identity, claiming to be the console in CONNECT gains nothing."""
    a = unit_probe(tls_broker.port, units["ua"], username=broker.CONSOLE)
    console = console_probe(tls_broker)
    try:
        console.subscribe(T.all_reports("status"))
        assert a.connect() == "Success"
        a.subscribe("loa/v1/#")
        console.publish(T.device_command("ub"), b"for-b")
        a.publish(T.report("ub", "status"), b"forged")
        console.publish(T.device_command("ua"), b"for-a")
        a.publish(T.report("ua", "status"), b"own")
        assert list(dict.fromkeys(t for t, _ in a.received(until_topic=T.device_command("ua")))) == [
            T.device_command("ua")]
        assert [p for _, p in console.received(until_topic=T.report("ua", "status"))] == [b"own"]
    finally:
        a.close()
        console.close()


def test_a_unit_cannot_take_over_another_units_session(tls_broker, units):
    """The client id is the certificate name: A asking for B's client id neither kicks B off nor gets B's commands."""
    b = unit_probe(tls_broker.port, units["ub"], client_id="loa-ub")
    a = unit_probe(tls_broker.port, units["ua"], client_id="ub")
    console = console_probe(tls_broker)
    try:
        assert b.connect() == "Success"
        b.subscribe(T.device_command("ub"))
        assert a.connect() == "Success"
        console.publish(T.device_command("ub"), b"for-b")
        assert [t for t, _ in b.received(until_topic=T.device_command("ub"))] == [T.device_command("ub")]
        assert b.disconnects == [] and a.inbox.empty()
    finally:
        for probe in (a, b, console):
            probe.close()


def test_no_certificate_or_a_foreign_one_is_refused(tls_broker, units, tmp_path):
    nobody = Probe(tls_broker.port, tls_broker.ca_dir / ca.CA_CERT, None, None)
    stray = ca.init(tmp_path / "stray-ca")
    ca.issue(stray, "ua", "unit", tmp_path / "ua.key", tmp_path / "ua.pem")
    forged = Probe(tls_broker.port, tls_broker.ca_dir / ca.CA_CERT, tmp_path / "ua.pem", tmp_path / "ua.key")
    try:
        assert nobody.connect(timeout=2) != "Success"
        assert forged.connect(timeout=2) != "Success"
    finally:
        nobody.close()
        forged.close()


def test_a_revoked_unit_is_refused_and_its_open_session_loses_access(tls_broker, keys, tmp_path):
    bundle = make(tls_broker, keys, tmp_path, "uc", ("xa-c",))
    live = unit_probe(tls_broker.port, bundle)
    console = console_probe(tls_broker)
    try:
        assert live.connect() == "Success"
        live.subscribe(T.device_command("uc"))
        console.publish(T.device_command("uc"), b"before revocation")
        assert [p for _, p in live.received(until_topic=T.device_command("uc"))] == [b"before revocation"]
        assert [r.cn for r in ca.revoke(ca.load(tls_broker.ca_dir), "uc")] == ["uc"]
        assert broker.forget(tls_broker.dir, "uc") and broker.reload(tls_broker.dir)
        assert wait_until(lambda: _refused(tls_broker, bundle), 5), "a new session of a revoked unit was accepted"
        console.publish(T.device_command("uc"), b"after revocation")
        assert live.received(until_topic="never", timeout=0.5) == []
    finally:
        live.close()
        console.close()


def _refused(tls_broker: TlsBroker, bundle: Path) -> bool:
    probe = unit_probe(tls_broker.port, bundle)
    try:
        return probe.connect(timeout=1) != "Success"
    finally:
        probe.close()


def test_each_console_identity_has_its_own_session(tls_broker, units):
    broker.add_console(tls_broker.dir, "console-qa")
    first, second = console_probe(tls_broker), console_probe(tls_broker, "console-qa")
    try:
        second.subscribe(T.all_reports("hb"))
        first.publish(T.report("ua", "hb"), b"{}")
        assert [t for t, _ in second.received(until_topic=T.report("ua", "hb"))] == [T.report("ua", "hb")]
        assert first.disconnects == [] and second.disconnects == []
    finally:
        first.close()
        second.close()


def test_the_agent_runs_over_tls_with_its_own_certificate(tls_broker, keys, tmp_path):
    """The whole chain: a bundle from `loa provision --ca-dir`, the real agent, a signed command from the console."""
    unit = Unit("ud", make(tls_broker, keys, tmp_path, "ud", ("xa-d",)))
    console = Console(tls_broker.console_access())
    try:
        console.subscribe(T.report("ud", "ack"), T.report("ud", "status"))
        unit.start()
        assert _online(console), unit.output()
        target = T.target_of(T.device_command("ud"))
        assert target is not None
        jti = console.send(load_signing(keys / "signing.jwk"), target, "ping", {})
        states = _ack_states(console, jti)
        assert states[-1] == "finished", (states, unit.output())
    finally:
        console.close()
        unit.stop(signal.SIGKILL)


def _online(console: Console) -> bool:
    for topic, payload, _ in console.messages(time.monotonic() + 15):
        if topic.endswith("/status") and json.loads(payload).get("online") is True:
            return True
    return False


def _ack_states(console: Console, jti: str) -> list[str]:
    states: list[str] = []
    for topic, payload, _ in console.messages(time.monotonic() + 10):
        ack = json.loads(payload) if topic.endswith("/ack") else {}
        if ack.get("jti") == jti:
            states.append(ack["state"])
        if states and states[-1] in ("finished", "rejected", "failed"):
            break
    return states

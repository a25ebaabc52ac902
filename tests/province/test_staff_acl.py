"""Commune staff on a real Mosquitto (`loa broker`'s ACL): a staff identity of commune A reads the reports and logs
of A's units and nothing of commune B's; it cannot command a unit (the broker drops the publish and the unit never
sees it, even signed with the province's key); a revoked identity is cut off at once; `loa staff` manages them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.core.topics import Target
from province import staff
from province.console import BrokerAccess, Console, LinkError
from province.keys import load_signing
from tests.conftest import REPO, Broker, Unit, messages_of, wait_until
from tools import staff_logs


def loa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cli", *args], capture_output=True, text=True, timeout=60,
                          cwd=REPO, check=False)


def staff_access(broker: Broker, name: str, password_file: Path) -> BrokerAccess:
    return BrokerAccess(broker.url, username=name, password=password_file.read_text().strip())


@pytest.fixture
def communes(make_unit: Callable[..., Unit], console: Console) -> Iterator[tuple[Unit, Unit]]:
    """One unit in commune A, one in commune B, both online; their retained statuses are cleared afterwards."""
    tag = uuid.uuid4().hex[:6]
    a = make_unit(f"sa-{tag}", groups=(f"xa-a-{tag}", "province"))
    b = make_unit(f"sb-{tag}", groups=(f"xa-b-{tag}", "province"))
    console.subscribe(*(console.topics.report(u.device_id, "status") for u in (a, b)))
    online: set[str] = set()
    for topic, payload, _ in console.messages(time.monotonic() + 20):
        if json.loads(payload).get("online"):
            online.add(topic.split("/")[3])
        if online == {a.device_id, b.device_id}:
            break
    assert online == {a.device_id, b.device_id}, a.output() + b.output()
    yield a, b
    for u in (a, b):
        u.stop()
        console.publish(console.topics.report(u.device_id, "status"), b"", retain=True)


def commune_of(unit: Unit) -> str:
    return next(g for g in unit.config.read_text().split('"') if g.startswith("xa-"))


def test_staff_of_a_reads_a_and_nothing_of_b(broker: Broker, communes: tuple[Unit, Unit], console: Console) -> None:
    a, b = communes
    name = f"staff-{uuid.uuid4().hex[:6]}"
    reader = Console(staff_access(broker, name, staff.add(broker.dir, name, commune_of(a))))
    try:
        reader.subscribe("loa/v1/#")  # everything the broker lets it read
        seen = {t for t, _ in messages_of(reader, 2.0, lambda got: False)}
        assert reader.topics.report(a.device_id, "status") in seen  # A's retained status
        assert not [t for t in seen if b.device_id in t], seen
        answers = staff_logs.ask(reader, Target("dev", a.device_id), {"kind": "lines"}, 10)
        assert "agent_started" in [e["key"] for e in answers[a.device_id]]
        # B's unit: the request is dropped by the broker, so neither the staff nor the console sees an answer
        console.subscribe(console.topics.report(b.device_id, "logs"))
        assert staff_logs.ask(reader, Target("dev", b.device_id), {"kind": "lines"}, 3) == {}
        assert not messages_of(console, 0.5, lambda got: True)
        assert staff_logs.ask(reader, Target("grp", commune_of(b)), {"kind": "lines"}, 2) == {}
    finally:
        reader.close()
        staff.revoke(broker.dir, name)


def test_staff_cannot_command_a_unit_even_with_a_signed_token(broker: Broker, communes: tuple[Unit, Unit],
                                                              console: Console, keys: Path) -> None:
    a, _ = communes
    name = f"staff-{uuid.uuid4().hex[:6]}"
    reader = Console(staff_access(broker, name, staff.add(broker.dir, name, commune_of(a))))
    key = load_signing(keys / "signing.jwk")
    console.subscribe(console.topics.report(a.device_id, "ack"))
    try:
        dropped = [reader.send(key, Target("dev", a.device_id), "ping", {}),
                   reader.send(key, Target("grp", commune_of(a)), "ping", {})]
        control = console.send(key, Target("dev", a.device_id), "ping", {})  # the same path works for the console
        acks = messages_of(console, 10, lambda got: any(m.get("jti") == control and m.get("state") == "finished"
                                                         for _, m in got))
        time.sleep(1.0)
        acks += messages_of(console, 0.5, lambda got: False)
        jtis = {m.get("jti") for _, m in acks}
        assert control in jtis and not set(dropped) & jtis, acks  # a unit acks every command it sees, even refused
    finally:
        reader.close()
        staff.revoke(broker.dir, name)


def test_a_revoked_staff_identity_is_cut_off_at_once(broker: Broker) -> None:
    name = f"staff-{uuid.uuid4().hex[:6]}"
    password = staff.add(broker.dir, name, "xa-revoke").read_text().strip()
    dropped: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    client.username_pw_set(name, password)
    client.on_disconnect = lambda _c, _u, _f, rc, _p: dropped.append(str(rc))
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        assert wait_until(client.is_connected, 5)
        env = {**os.environ, "LOA_BROKER_DIR": str(broker.dir)}
        done = subprocess.run([sys.executable, "-m", "tools.cli", "--lang", "en", "staff", "revoke", name],
                              capture_output=True, text=True, timeout=30, cwd=REPO, env=env, check=False)
        assert done.returncode == 0 and "cut its session" in done.stdout, done.stdout + done.stderr
        t0 = time.monotonic()
        assert wait_until(lambda: dropped, 3), "the running session was not cut"
        print(f"session cut {time.monotonic() - t0:.2f} s after `loa staff revoke` returned: {dropped}")
        client.reconnect_delay_set(60, 60)  # paho must not reconnect behind the check below
    finally:
        client.loop_stop()
        client.disconnect()
    with pytest.raises(LinkError, match="refused"):
        Console(BrokerAccess(broker.url, username=name, password=password))


def test_loa_staff_add_list_revoke_in_both_languages(broker: Broker) -> None:
    name = f"can-bo-{uuid.uuid4().hex[:6]}"
    flags = ["--broker-dir", str(broker.dir)]
    added = loa("--lang", "vi", "staff", "add", name, "--commune", "xa-ia-grai", *flags)
    assert added.returncode == 0 and f"Đã thêm cán bộ {name} của xã xa-ia-grai" in added.stdout, added.stderr
    password = next(Path(w.rstrip(".,;")) for w in added.stdout.split() if w.endswith(".password"))
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    listed = loa("--lang", "en", "staff", "list", *flags)
    assert f"{name}  (commune xa-ia-grai)" in listed.stdout
    again = loa("--lang", "en", "staff", "add", name, "--commune", "xa-khac", *flags)
    assert again.returncode == 2 and "already an identity" in again.stdout and "Traceback" not in again.stderr
    assert loa("--lang", "vi", "staff", "revoke", name, *flags).returncode == 0
    assert not password.exists() and name not in loa("staff", "list", *flags).stdout
    unknown = loa("--lang", "vi", "staff", "revoke", name, *flags)
    assert unknown.returncode == 2 and "không phải là cán bộ" in unknown.stdout
    nodir = loa("--lang", "en", "staff", "list")
    assert nodir.returncode == 2 and "--broker-dir" in nodir.stdout

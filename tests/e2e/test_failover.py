"""Broker failover end to end: two independent Mosquitto processes sharing the same users and ACL (one `loa broker`
folder, copied with its own ports), a real agent on the ordered list [A, B], signed commands from consoles."""

from __future__ import annotations

import re
import shutil
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from agent.core.topics import Target
from province import broker as broker_tool
from province.console import Console
from province.keys import load_signing, sign_command
from province.localnet import free_port
from tests.conftest import Broker, Unit
from tests.e2e.link_helpers import UnitWatch
from tools.provision import UnitSpec, dev_clock, provision


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Broker, Broker]]:
    a = Broker(tmp_path / "a", free_port())
    broker_tool.init(a.dir, a.port)
    b = Broker(tmp_path / "b", free_port())
    yield a, b
    for x in (a, b):
        x.stop()


def twin(a: Broker, b: Broker) -> None:
    """B: A's folder (users, passwords, ACL) with its own ports and its own persistence."""
    shutil.copytree(a.dir, b.dir, ignore=shutil.ignore_patterns("data", "mosquitto.pid", "mosquitto.log"))
    broker_tool.init(b.dir, b.port, console_port=free_port())


def failover_unit(a: Broker, b: Broker, keys: Path, tmp_path: Path) -> Unit:
    spec = UnitSpec(device_id="fo-1", trust=keys / "trust.jwks", broker_url=a.url, out=tmp_path / "fo-1",
                    groups=("commune-a",), broker_dir=a.dir,
                    extra=dev_clock({"mqtt": {"reconnect_min_s": 0.2, "reconnect_max_s": 1.0, "keepalive_s": 5,
                                              "prefer_probe_s": 1.0}}))
    provision(spec)
    unit = Unit("fo-1", tmp_path / "fo-1")
    text = unit.config.read_text()
    unit.config.write_text(re.sub(r'^url = ".*"$', f'urls = ["{a.url}", "{b.url}"]', text, count=1, flags=re.MULTILINE))
    return unit


def test_a_unit_fails_over_to_b_runs_nothing_twice_loses_nothing_and_returns_to_a(
        pair: tuple[Broker, Broker], keys: Path, tmp_path: Path) -> None:
    a, b = pair
    key = load_signing(keys / "signing.jwk")
    unit = failover_unit(a, b, keys, tmp_path)
    twin(a, b)  # after provisioning: B knows the unit's password too
    a.start()
    b.start()
    unit.start()
    on_a = Console(a.console_access(), client_id="fo-watch-a")
    try:
        watch = UnitWatch(on_a, unit)
        assert watch.pump(10, lambda: watch.last_status().get("broker", {}).get("index") == 0), unit.output()
        assert watch.last_status()["broker"]["host"] == f"127.0.0.1:{a.port}"
        token, jti = sign_command(key, Target("dev", unit.device_id).audience, "relay",
                                  {"zone": 1, "on": True, "for_s": 2.0})
        on_a.publish(on_a.topics.device_command(unit.device_id), token)
        assert "started" in watch.wait_acks(jti, {"started"})
    finally:
        on_a.close()
    a.stop()  # the relay's "finished" ack is made while the unit has no broker or is moving to B
    on_b = Console(b.console_access(), client_id="fo-watch-b", persistent=True)
    try:
        watch = UnitWatch(on_b, unit)
        assert watch.pump(10, lambda: watch.last_status().get("broker", {}).get("index") == 1), unit.output()
        assert watch.last_status()["broker"]["host"] == f"127.0.0.1:{b.port}"
        assert watch.pump(10, lambda: "finished" in watch.states(jti)), unit.output()  # queued report: not lost
        other = watch.send(key, "relay", {"zone": 2, "on": True, "for_s": 0.5})
        assert "started" in watch.wait_acks(other, {"started"})
        on_b.publish(on_b.topics.device_command(unit.device_id), token)  # the same jti again, now through B
        assert watch.pump(10, lambda: [x for x in watch.acks(jti) if x["state"] == "rejected"]), unit.output()
        assert [x["code"] for x in watch.acks(jti) if x["state"] == "rejected"] == ["replay"]
        assert watch.states(jti).count("started") == 0  # its one start was on A: nothing runs twice
        zone1_on = [j for j in unit.relay_journal() if j.get("zone") == 1 and j.get("on") is True]
        assert len(zone1_on) == 1, unit.relay_journal()
    finally:
        on_b.close()
    a.start()
    on_a = Console(a.console_access(), client_id="fo-watch-a2")
    try:
        watch = UnitWatch(on_a, unit)
        assert watch.pump(12, lambda: watch.last_status().get("broker", {}).get("index") == 0), unit.output()
    finally:
        on_a.close()
        unit.stop(signal.SIGKILL)


def test_the_console_on_a_b_sends_through_b_when_a_is_down(pair: tuple[Broker, Broker], keys: Path,
                                                           tmp_path: Path) -> None:
    a, b = pair
    key = load_signing(keys / "signing.jwk")
    unit = failover_unit(a, b, keys, tmp_path)
    twin(a, b)
    b.start()  # A never starts: it is down
    unit.start()
    access = b.console_access()
    both = replace(access, url=f"mqtt://127.0.0.1:{a.dir.joinpath('console_port').read_text().strip()}",
                   fallbacks=(access.url,))
    console = Console(both, timeout_s=2.0)
    try:
        assert console.url == access.url
        watch = UnitWatch(console, unit)
        assert watch.pump(10, lambda: watch.last_status().get("broker", {}).get("index") == 1), unit.output()
        jti = watch.send(key, "ping", {})
        assert "finished" in watch.wait_acks(jti, {"finished", "rejected", "failed"}), unit.output()
    finally:
        console.close()
        unit.stop(signal.SIGKILL)

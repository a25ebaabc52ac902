"""The province's signed time beacon on a real Mosquitto: a `time` command per group, QoS 0, not retained, with a
120 s life and a fresh jti, that the agent's own verify() accepts."""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path

from agent.core.topics import Target
from agent.core.verify import Command, Policy, load_trust, verify
from province.beacon import BeaconSender
from province.console import Console
from province.keys import load_signing
from tests.conftest import Broker

Seen = queue.Queue[tuple[str, bytes, int, bool]]


def listen(broker: Broker, *filters: str) -> tuple[Console, Seen]:
    """A second console that records each message's QoS and retain flag as delivered."""
    c = Console(broker.console_access())
    seen: Seen = queue.Queue()
    c.client.on_message = lambda _c, _u, m: seen.put((m.topic, bytes(m.payload), m.qos, bool(m.retain)))
    c.subscribe(*filters)
    return c, seen


def sender(console: Console, keys: Path, groups: tuple[str, ...], every_s: float = 300.0) -> BeaconSender:
    return BeaconSender(load_signing(keys / "signing.jwk"), groups,
                        lambda topic, token: console.publish(topic, token, qos=0), every_s=every_s)


def check(token: bytes, group: str, keys: Path) -> Command:
    trust = load_trust(json.loads((keys / "trust.jwks").read_text()))
    policy = Policy(device_id="unit-beacon", groups=frozenset({group}), issuers=frozenset({"province"}))
    result = verify(token, target=Target("grp", group), retained=False, now_s=int(time.time()), clock_synced=True,
                    seen={}, keys=trust, policy=policy)
    assert isinstance(result, Command), result
    return result


def test_a_beacon_goes_to_each_group_qos0_not_retained_and_verifies(console: Console, broker: Broker, keys: Path):
    groups = ("xa-beacon-a", "xa-beacon-b")
    listener, seen = listen(broker, *(console.topics.group_command(g) for g in groups))
    try:
        before = time.time_ns() // 1_000_000
        assert sender(console, keys, groups).send_round() == 2
        got = [seen.get(timeout=5) for _ in groups]
    finally:
        listener.close()
    assert {topic for topic, *_ in got} == {console.topics.group_command(g) for g in groups}
    jtis = set()
    for topic, token, qos, retained in got:
        assert (qos, retained) == (0, False)
        group = topic.split("/")[-2]
        cmd = check(token, group, keys)
        assert cmd.cmd == "time" and cmd.exp - cmd.iat == 120
        assert before <= cmd.args["t_ms"] <= time.time_ns() // 1_000_000
        jtis.add(cmd.jti)
    assert len(jtis) == 2


def test_no_beacon_is_retained_for_a_unit_that_connects_later(console: Console, broker: Broker, keys: Path):
    sender(console, keys, ("xa-beacon-late",)).send_round()
    time.sleep(0.3)
    late, seen = listen(broker, console.topics.group_command("xa-beacon-late"))
    time.sleep(1.0)  # a retained message would arrive right after the SUBACK
    late.close()
    assert seen.empty()


def test_run_sends_every_period_with_fresh_jtis_until_stopped(console: Console, broker: Broker, keys: Path):
    listener, seen = listen(broker, console.topics.group_command("xa-beacon-run"))
    stop = threading.Event()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(sender(console, keys, ("xa-beacon-run",), 0.3).run(stop)))
    try:
        worker.start()
        time.sleep(1.0)
        stop.set()
        worker.join(5)
        time.sleep(0.3)
    finally:
        listener.close()
    tokens = []
    while not seen.empty():
        tokens.append(seen.get()[1])
    assert result and result[0] == len(tokens) and 3 <= len(tokens) <= 5
    assert len({check(t, "xa-beacon-run", keys).jti for t in tokens}) == len(tokens)


def test_a_broker_out_of_reach_costs_one_round_not_the_sender(keys: Path):
    published: list[str] = []
    failures: list[tuple[str, str]] = []

    def publish(topic: str, _token: bytes) -> None:
        if not published and not failures:
            raise RuntimeError("The client is not currently connected.")
        published.append(topic)

    sender = BeaconSender(load_signing(keys / "signing.jwk"), ("province",), publish,
                          on_failed=lambda group, why: failures.append((group, why)))
    assert sender.send_round() == 0 and sender.send_round() == 1
    assert failures == [("province", "The client is not currently connected.")]
    assert published == ["loa/v1/grp/province/cmd"]

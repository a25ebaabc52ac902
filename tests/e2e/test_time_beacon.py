"""The province's signed time beacon with a real agent process whose clock booted at 1970 and has no other source:
a good beacon makes its time trusted; a forged one, an old one recorded and played back, and a replay of a beacon
it already took are refused and change nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from joserfc.jwk import OKPKey

from province.beacon import beacon_token
from province.console import Console
from province.keys import load_signing
from tests.conftest import Unit
from tests.e2e.link_helpers import UnitWatch
from tests.e2e.time_helpers import BOOTS

GROUP = "province"  # make_unit's units are members of it


def publish_beacon(console: Console, token: str) -> None:
    console.publish(console.topics.group_command(GROUP), token, qos=0)


def refusal(watch: UnitWatch, jti: str) -> str:
    assert watch.wait_acks(jti, {"rejected"}, timeout=10) == ["rejected"], watch.unit.output()
    return str(watch.acks(jti)[0]["code"])


def untrusted(watch: UnitWatch) -> bool:
    watch.pump(2)
    return watch.last_status()["time"]["trusted"] is False


def test_only_a_good_beacon_makes_the_time_trusted(booted: Callable[..., Unit], console: Console, keys: Path) -> None:
    offset_s = BOOTS["1970"]()
    unit = booted(offset_s)
    watch = UnitWatch(console, unit)
    watch.wait_online(15)
    assert untrusted(watch)
    key = load_signing(keys / "signing.jwk")

    forger = OKPKey.generate_key("Ed25519", parameters={"kid": str(key.kid), "use": "sig", "alg": "EdDSA"},
                                 auto_kid=False)
    token, jti = beacon_token(forger, GROUP, time.time_ns() // 1_000_000)  # the province's key id, another key
    publish_beacon(console, token)
    assert refusal(watch, jti) == "bad_signature"
    assert untrusted(watch)

    ping = watch.send(key, "ping", {})  # a verified command: the time floor is now the true time
    assert "finished" in watch.wait_acks(ping, {"finished", "rejected"}), unit.output()
    recorded, old = beacon_token(key, GROUP, time.time_ns() // 1_000_000 - 3_600_000)  # signed an hour ago, unheard
    publish_beacon(console, recorded)
    assert refusal(watch, old) == "expired"
    assert untrusted(watch)

    token, jti = beacon_token(key, GROUP, time.time_ns() // 1_000_000)
    publish_beacon(console, token)
    assert watch.pump(10, lambda: watch.last_status().get("time", {}).get("trusted") is True), unit.output()
    status = watch.last_status()
    assert status["time"]["source"] == "beacon" and abs(status["time"]["offset_ms"] + offset_s * 1000) < 3000
    assert abs(status["ts"] / 1000 - time.time()) < 5
    assert watch.states(jti) == []  # an accepted beacon gets no ack: thousands of units hear it

    publish_beacon(console, token)  # the same beacon again
    assert refusal(watch, jti) == "replay"

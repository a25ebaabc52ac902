"""The provincial link end to end: a real Mosquitto, a real agent process, signed commands from a console."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import jwt as pyjwt

from province.console import Console
from province.keys import load_signing
from tests.conftest import Broker
from tests.e2e.link_helpers import UnitWatch

DONE = {"finished", "rejected", "failed", "stopped"}


def test_relay_command_switches_the_relay_and_status_follows_within_a_second(make_unit, console: Console, keys: Path):
    unit = make_unit()
    watch = UnitWatch(console, unit)
    watch.wait_online()
    sent = time.monotonic()
    jti = watch.send(load_signing(keys / "signing.jwk"), "relay", {"zone": 1, "on": True, "for_s": 1.5})
    assert watch.pump(5, lambda: watch.last_status().get("relays", {}).get("1") is True)
    on_at = next(t for t, k, m in watch.seen if k == "status" and m.get("relays", {}).get("1"))
    assert on_at - sent < 1.0
    assert watch.wait_acks(jti, {"finished"}) == ["accepted", "started", "finished"]
    assert watch.pump(3, lambda: watch.last_status()["relays"]["1"] is False)
    switches = [(j["zone"], j["on"], j["ts"]) for j in unit.relay_journal() if j["zone"] == 1]
    on = [ts for zone, is_on, ts in switches if is_on]
    off_after = [ts for zone, is_on, ts in switches if not is_on and on and ts > on[0]]
    assert len(on) == 1 and off_after, switches
    assert 1.3 < off_after[0] - on[0] < 2.5


def test_pyjwt_made_command_is_accepted(make_unit, console: Console, keys: Path):
    """A server using a standard JWT library (PyJWT here, not Loa's signing code) is understood."""
    unit = make_unit()
    watch = UnitWatch(console, unit)
    watch.wait_online()
    signing = pyjwt.PyJWK.from_json((keys / "signing.jwk").read_text())
    now = int(time.time())
    claims = {"iss": "province", "aud": f"dev:{unit.device_id}", "iat": now, "exp": now + 60, "jti": "pyjwt-1",
              "cmd": "relay", "args": {"zone": 2, "on": True, "for_s": 1}}
    token = pyjwt.encode(claims, signing.key, algorithm="EdDSA", headers={"kid": signing.key_id})
    watch.publish_raw(token)
    assert watch.wait_acks("pyjwt-1", {"finished"}) == ["accepted", "started", "finished"]
    assert any(j["zone"] == 2 and j["on"] for j in unit.relay_journal())


def test_last_will_marks_a_killed_agent_offline(make_unit, console: Console):
    unit = make_unit()
    watch = UnitWatch(console, unit)
    watch.wait_online()
    unit.stop(signal.SIGKILL)
    assert watch.pump(5, lambda: watch.last_status() == {"online": False})


def test_replay_after_restart_is_rejected(make_unit, console: Console, keys: Path):
    unit = make_unit()
    watch = UnitWatch(console, unit)
    watch.wait_online()
    from province.keys import sign_command

    token, jti = sign_command(load_signing(keys / "signing.jwk"), f"dev:{unit.device_id}", "ping", {})
    watch.publish_raw(token)
    assert watch.wait_acks(jti, DONE) == ["accepted", "finished"]
    unit.stop()
    unit.start()
    watch.pump(10, lambda: sum(1 for m in watch.of("status") if m.get("online")) >= 2)
    watch.publish_raw(token)
    watch.pump(5, lambda: "rejected" in watch.states(jti))
    rejection = watch.acks(jti)[-1]
    assert (rejection["state"], rejection["code"]) == ("rejected", "replay")


def test_acks_queued_during_an_outage_and_a_kill_arrive_after_the_broker_returns(
    make_unit, broker: Broker, keys: Path
):
    """Acks made while the broker is down sit in the outbox, survive kill -9, and are delivered afterwards."""
    key = load_signing(keys / "signing.jwk")
    watcher = Console(broker.console_access(), client_id="outage-watch", persistent=True)
    unit = make_unit(mqtt={"reconnect_max_s": 2.0})  # back soon after the broker, whatever the jitter
    watch = UnitWatch(watcher, unit)
    watch.wait_online()
    jtis = [watch.send(key, "relay", {"zone": z, "on": True, "for_s": 2.0}) for z in (1, 2)]
    for jti in jtis:
        assert "started" in watch.wait_acks(jti, {"started"})
    watcher.client.disconnect()
    watcher.client.loop_stop()
    broker.stop()
    time.sleep(3.0)  # both relay tests end now, with no broker: their "finished" acks go to the outbox
    assert all(j["on"] is False for j in unit.relay_journal()[-2:])
    unit.stop(signal.SIGKILL)
    broker.start()
    watcher = Console(broker.console_access(), client_id="outage-watch", persistent=True)
    try:
        watch = UnitWatch(watcher, unit)
        unit.start()
        assert watch.pump(15, lambda: all("finished" in watch.states(j) for j in jtis)), unit.output()
    finally:
        watcher.close()

"""Core reactions to hardware read-back and sensors: stuck relays, modem telemetry, proof-of-play levels."""

from __future__ import annotations

import json
from typing import Any

from agent.core.device import STATUS_MIN_GAP_MS
from agent.core.effects import Effect, Publish
from agent.core.events import LevelObserved, RelayObserved, Telemetry, TimerFired
from tests.agent.core.device_helpers import T0, arrive, make_device, statuses
from tests.agent.core.test_sound import FILE, send, world


def events_of(effects: list[Effect]) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in effects if isinstance(e, Publish) and e.topic.endswith("/event")]


def test_a_relay_that_does_not_follow_its_command_is_reported_stuck_once() -> None:
    device = make_device()
    arrive(device, "relay", {"zone": 1, "on": True, "for_s": 5}, "r", T0 + 1000)
    first = device.handle(RelayObserved(T0 + 1000 + STATUS_MIN_GAP_MS, 1, False))  # commanded on, reads off
    again = device.handle(RelayObserved(T0 + 1100 + STATUS_MIN_GAP_MS, 1, False))
    assert [e["event"] for e in events_of(first)] == ["relay_stuck"]
    assert events_of(first)[0]["detail"] == {"zone": 1, "commanded": True, "actual": False}
    assert not events_of(again) and statuses(first)[0]["errors"] == ["relay"]
    healed = device.handle(RelayObserved(T0 + 1000 + 2 * STATUS_MIN_GAP_MS, 1, True))
    assert statuses(healed)[0]["errors"] == []


def test_modem_signal_rides_on_the_heartbeat_and_operator_changes_republish_status() -> None:
    device = make_device()
    changed = device.handle(Telemetry(T0 + 1000, {"signal_dbm": -71, "operator": "Viettel", "registration": "home"}))
    assert statuses(changed)[0]["modem"]["operator"] == "Viettel"
    quiet = device.handle(Telemetry(T0 + 1500, {"signal_dbm": -75, "operator": "Viettel", "registration": "home"}))
    assert not statuses(quiet)
    hb = [e for e in device.handle(TimerFired(T0 + 60_000, "hb")) if isinstance(e, Publish) and e.topic.endswith("/hb")]
    assert json.loads(hb[0].payload)["sig"] == -75


def test_measured_level_fills_the_play_log() -> None:
    w = world()
    send(w, "play", {"source": FILE}, "n1")
    w.run_until(T0 + 2000)
    for dbfs in (-30.0, -12.04, -20.0):
        w.feed(LevelObserved(w.now, dbfs))
    w.run_until(T0 + 10_000)
    assert w.playlogs()[0]["level_dbfs"] == -12.0
    assert not [m for k, m in w.published if k == "event" and m.get("event") == "no_audio"]


def test_relay_on_and_silence_raises_no_audio() -> None:
    w = world()
    send(w, "play", {"source": FILE}, "n1")
    w.run_until(T0 + 2000)
    w.feed(LevelObserved(w.now, -100.0))
    w.run_until(T0 + 10_000)
    assert [m["detail"]["jti"] for k, m in w.published if k == "event" and m.get("event") == "no_audio"] == ["n1"]

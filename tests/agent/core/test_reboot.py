"""The signed `reboot`: accepted at once, carried out after its delay (relays off, then the Reboot effect the
runtime turns into the agent's exit for systemd); never while an emergency plays; a gateway key may sign it."""

from __future__ import annotations

from typing import Any

from agent.core.effects import Reboot
from tests.agent.core.device_helpers import T0, arrive, fire, make_device
from tests.agent.core.test_sound import FILE, send
from tests.agent.core.test_sound import world as sound_world
from tests.agent.core.test_verify import GATEWAY, code, signed


def reboots(w: Any) -> list[int]:
    return [t - T0 for t, kind, _ in w.timeline if kind == "reboot"]


def test_a_reboot_is_acked_then_done_after_its_delay_with_the_relays_off() -> None:
    w = sound_world()
    send(w, "relay", {"zone": 1, "on": True, "for_s": 600}, "r1")
    send(w, "reboot", {"delay_s": 10, "reason": "modem hung"}, "rb")
    w.run_until(T0 + 9_000)
    assert w.acks("rb") == ["accepted"] and reboots(w) == []
    assert w.relays[1] is True  # the relay test still runs during the delay
    w.run_until(T0 + 11_000)
    assert w.acks("rb") == ["accepted", "finished"]
    assert reboots(w) == [10_000]
    assert w.relays == {1: False, 2: False}


def test_the_default_delay_is_five_seconds() -> None:
    d = make_device()
    arrive(d, "reboot", {}, "rb", T0 + 100)
    assert Reboot() in fire(d, "reboot", T0 + 5_100)


def test_a_reboot_during_an_emergency_is_refused() -> None:
    w = sound_world()
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(T0 + 2_000)
    send(w, "reboot", {}, "rb")
    w.run_until(T0 + 20_000)
    assert w.acks("rb") == ["rejected"] and w.ack_codes("rb") == ["busy"]
    assert reboots(w) == []


def test_an_emergency_during_the_delay_drops_the_reboot() -> None:
    w = sound_world()
    w.durations_ms["e1"] = 60_000
    send(w, "reboot", {"delay_s": 10}, "rb")
    send(w, "play", {"source": FILE, "priority": "emergency"}, "e1")
    w.run_until(T0 + 30_000)
    assert w.acks("rb") == ["accepted", "failed"] and w.ack_codes("rb")[-1] == "busy"
    assert reboots(w) == [] and w.audio == "e1"


def test_bad_reboot_args_are_refused() -> None:
    w = sound_world()
    send(w, "reboot", {"delay_s": 0}, "rb")
    w.run_until(T0 + 10_000)
    assert w.ack_codes("rb") == ["bad_args"] and reboots(w) == []


def test_a_gateway_key_may_sign_a_reboot() -> None:
    assert code(signed(GATEWAY, "reboot", {})) == "ok"

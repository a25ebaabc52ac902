"""The device core as tables of events -> effects on a fake clock."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import OKPKey

from agent.core.device import STATUS_MIN_GAP_MS
from agent.core.effects import Connect, Publish, RememberCommand, SaveSetting, SetRelay, StartTimer, Subscribe
from agent.core.events import LinkDown, LinkUp, MessageArrived, Started, TimerFired
from agent.core.topics import Topics
from tests.agent.core.device_helpers import T0, acks, arrive, fire, make_device, relays, statuses, timers


def test_start_turns_every_relay_off_and_connects() -> None:
    from agent.core.device import Device

    device = make_device()
    fresh = Device(device.settings, device.keys, type(device.state)(), device.backoff.rng)
    effects = fresh.handle(Started(T0))
    assert relays(effects) == [(1, False), (2, False)]
    assert Connect() in effects and timers(effects)["hb"] == T0 + 60_000


def test_link_up_subscribes_to_own_and_group_topics_and_publishes_retained_status() -> None:
    device = make_device()
    effects = device.handle(LinkDown(T0 + 1))
    effects = device.handle(LinkUp(T0 + 2))
    assert Subscribe(("loa/v1/dev/d1/cmd", "loa/v1/grp/g1/cmd", "loa/v1/dev/d1/logreq", "loa/v1/grp/g1/logreq")) in effects
    status = [e for e in effects if isinstance(e, Publish) and e.topic.endswith("/status")]
    assert status and status[0].retain and status[0].qos == 1


def test_relay_lifecycle_on_then_off_after_for_s() -> None:
    device = make_device()
    effects = arrive(device, "relay", {"zone": 1, "on": True, "for_s": 5}, "r1", T0 + 1000)
    assert relays(effects) == [(1, True)]
    assert acks(effects) == [("r1", "accepted", "ok"), ("r1", "started", "ok")]
    assert timers(effects)["relay:1"] == T0 + 6000
    assert RememberCommand("r1", T0 // 1000 + 1 + 60 + 60) in effects
    assert statuses(effects)[0]["relays"] == {"1": True, "2": False}
    effects = fire(device, "relay:1", T0 + 6000)
    assert relays(effects) == [(1, False)] and acks(effects) == [("r1", "finished", "ok")]


def test_a_second_relay_command_replaces_the_first() -> None:
    device = make_device()
    arrive(device, "relay", {"zone": 2, "on": True, "for_s": 30}, "a", T0 + 1000)
    effects = arrive(device, "relay", {"zone": 2, "on": False}, "b", T0 + 2000)
    assert acks(effects) == [("a", "stopped", "ok"), ("b", "accepted", "ok"), ("b", "finished", "ok")]
    assert relays(effects) == [(2, False)]


def test_unwired_zone_is_bad_args_and_switches_nothing() -> None:
    effects = arrive(make_device(), "relay", {"zone": 7, "on": True}, "z", T0 + 1000)
    assert acks(effects) == [("z", "rejected", "bad_args")] and relays(effects) == []


def test_volume_is_capped_by_the_unit() -> None:
    device = make_device(max_volume_pct=80)
    effects = arrive(device, "volume", {"volume_pct": 95}, "v", T0 + 1000)
    assert statuses(effects)[0]["volume_pct"] == 80


def test_config_changes_heartbeat_and_trust_is_checked() -> None:
    device = make_device()
    effects = arrive(device, "config", {"heartbeat_s": 10}, "c1", T0 + 1000)
    assert timers(effects)["hb"] == T0 + 11_000
    bad = {"trust": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": ""}]}}
    assert acks(arrive(device, "config", bad, "c2", T0 + 2000))[0][1:] == ("rejected", "bad_args")


def test_heartbeat_is_qos0_and_only_when_online() -> None:
    device = make_device()
    effects = fire(device, "hb", T0 + 60_000)
    hb = [e for e in effects if isinstance(e, Publish) and e.topic.endswith("/hb")]
    assert hb and hb[0].qos == 0 and not hb[0].durable
    device.handle(LinkDown(T0 + 61_000))
    assert not [e for e in fire(device, "hb", T0 + 120_000) if isinstance(e, Publish)]


def test_link_down_schedules_a_jittered_reconnect_within_the_ceiling() -> None:
    device = make_device(reconnect_min_s=1.0, reconnect_max_s=8.0)
    delays = []
    for i in range(6):
        effects = device.handle(LinkDown(T0))
        delays.append(timers(effects)["reconnect"] - T0)
        assert Connect() in fire(device, "reconnect", T0 + 1)
    assert all(0 <= d <= min(8000, 1000 * 2**i) for i, d in enumerate(delays))


def test_status_is_coalesced_under_a_storm_but_never_later_than_the_gap() -> None:
    """The first change goes out at once; later ones wait for the gap (800 ms: "within 1 s of any change", with room
    for the link), one timer for them all."""
    device = make_device()
    first = statuses(arrive(device, "ping", {}, "p0", T0 + 1000))
    second = arrive(device, "ping", {}, "p1", T0 + 1050)
    assert first and not statuses(second) and timers(second)["status"] == T0 + 1000 + STATUS_MIN_GAP_MS
    third = arrive(device, "ping", {}, "p2", T0 + 1100)
    assert not statuses(third) and "status" not in timers(third)  # already armed for that moment
    assert statuses(device.handle(TimerFired(T0 + 1000 + STATUS_MIN_GAP_MS, "status")))
    assert STATUS_MIN_GAP_MS <= 800


def test_acks_and_events_are_durable_heartbeats_are_not() -> None:
    effects = arrive(make_device(), "ping", {}, "p", T0 + 1000)
    assert all(e.durable for e in effects if isinstance(e, Publish) and e.topic.endswith("/ack"))
    assert not any(isinstance(e, SetRelay) for e in effects)
    assert not any(isinstance(e, StartTimer) and e.name.startswith("relay") for e in effects)


def test_a_signed_config_with_an_unreadable_key_is_bad_args_not_a_crash() -> None:
    device = make_device()
    bad = {"trust": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "not-32-bytes", "kid": "k9"}]}}
    assert acks(arrive(device, "config", bad, "c3", T0 + 1000)) == [("c3", "rejected", "bad_args")]
    assert acks(arrive(device, "ping", {}, "p", T0 + 2000))[0][1] == "accepted"  # still trusting the old key


def test_time_floor_is_persisted_and_a_fast_signer_cannot_push_it_far() -> None:
    from agent.core.effects import SaveSetting
    from agent.core.events import MessageArrived
    from agent.core.topics import Topics
    from tests.agent.core.device_helpers import command

    device = make_device()
    topic = Topics().device_command("d1")
    far = device.handle(MessageArrived(T0 + 1000, topic, command("ping", {}, "far", now_ms=T0 + 3_000_000)))
    near = device.handle(MessageArrived(T0 + 1000, topic, command("ping", {}, "near", now_ms=T0 + 31_000)))
    assert acks(far)[0][1:] == ("rejected", "not_yet_valid")
    floors = [e.value for e in near if isinstance(e, SaveSetting) and e.key == "time_floor_s"]
    assert floors == [(T0 + 31_000) // 1000] and device.state.time_floor_s == floors[0]


def test_a_store_fault_shows_in_status_errors_and_clears() -> None:
    from agent.core.events import Fault

    device = make_device()
    raised = device.handle(Fault(T0 + 1000, "store", True, "disk full"))
    assert statuses(raised)[0]["errors"] == ["store"]
    assert any(line["key"] == "store_error" for line in device.state.log_lines)
    cleared = device.handle(Fault(T0 + 2000, "store", False))
    assert statuses(cleared)[0]["errors"] == []


def test_logs_command_returns_recent_lines_as_keys_filtered_by_level() -> None:
    import json

    device = make_device()
    arrive(device, "relay", {"zone": 9, "on": True}, "bad", T0 + 1000)  # a warning line
    effects = arrive(device, "logs", {"level": "warning"}, "l1", T0 + 2000)
    body = next(json.loads(e.payload) for e in effects if isinstance(e, Publish) and e.topic.endswith("/logs"))
    assert [e["key"] for e in body["entries"]] == ["command_rejected"] and body["jti"] == "l1"


def test_an_empty_message_on_a_command_topic_is_ignored_silently() -> None:
    """An empty retained publish is how a server clears a command left retained by mistake (docs/protocol.md 8.1):
    whether it arrives retained (MQTT 5) or not (MQTT 3.1.1), it gets no ack, no count and no log line."""
    device = make_device()
    lines = len(device.state.log_lines)
    for topic in (Topics().device_command("d1"), Topics().group_command("g1")):
        for retained in (True, False):
            assert device.handle(MessageArrived(T0 + 1000, topic, b"", retained)) == []
    assert device.state.rejected == {} and len(device.state.log_lines) == lines
    assert acks(arrive(device, "ping", {}, "p", T0 + 2000)) == [("p", "accepted", "ok"), ("p", "finished", "ok")]


# ---- key scopes: a stolen command key cannot lock the province out -----------------------------------------------

def scoped_device() -> tuple[Any, OKPKey, OKPKey]:
    from tests.agent.core.device_helpers import KEY

    root = OKPKey.generate_key("Ed25519", parameters={"kid": "root"})
    gateway = OKPKey.generate_key("Ed25519", parameters={"kid": "gw"})
    trust = {"keys": [KEY.as_dict(private=False) | {"loa_scope": "console"},
                      root.as_dict(private=False) | {"loa_scope": "root"},
                      gateway.as_dict(private=False) | {"loa_scope": "gateway"}]}
    return make_device(trust=trust), root, gateway


def kids(device: Any) -> list[str]:
    return sorted(str(k.kid) for k in device.keys.keys)


def saved(effects: list[Any]) -> list[str]:
    return [e.key for e in effects if isinstance(e, SaveSetting)]


def test_a_console_key_cannot_replace_the_trust_set_and_the_root_key_can() -> None:
    device, root, _ = scoped_device()
    thief = OKPKey.generate_key("Ed25519", parameters={"kid": "thief"})
    takeover = {"trust": {"keys": [thief.as_dict(private=False) | {"loa_scope": "root"}]}}
    before = kids(device)
    effects = arrive(device, "config", takeover, "c1", T0 + 1000)
    assert acks(effects) == [("c1", "rejected", "not_allowed")]
    assert kids(device) == before and "trust" not in saved(effects)
    assert acks(arrive(device, "ping", {}, "p1", T0 + 2000))[0][1] == "accepted"  # the console key still works
    fresh = OKPKey.generate_key("Ed25519", parameters={"kid": "k2"})
    rotated = {"trust": {"keys": [root.as_dict(private=False) | {"loa_scope": "root"},
                                  fresh.as_dict(private=False) | {"loa_scope": "console"}]}}
    effects = arrive(device, "config", rotated, "c2", T0 + 3000, key=root)
    assert [a[1] for a in acks(effects)] == ["accepted", "finished"] and "trust" in saved(effects)
    assert kids(device) == ["k2", "root"]
    assert acks(arrive(device, "ping", {}, "p2", T0 + 4000, key=fresh))[0][1] == "accepted"


def test_a_console_key_cannot_change_the_issuers() -> None:
    device, _, _ = scoped_device()
    effects = arrive(device, "config", {"issuers": ["mallory"]}, "c1", T0 + 1000)
    assert acks(effects) == [("c1", "rejected", "not_allowed")]
    assert device.settings.policy.issuers == frozenset({"province"})


def test_a_gateway_key_cannot_sign_update_or_config() -> None:
    device, _, gateway = scoped_device()
    update = {"url": "https://example.org/r.tar", "sha256": "0" * 64}
    effects = arrive(device, "update", update, "u1", T0 + 1000, key=gateway)
    assert acks(effects) == [("u1", "rejected", "not_allowed")] and not saved(effects)
    effects = arrive(device, "config", {"heartbeat_s": 5}, "c1", T0 + 2000, key=gateway)
    assert acks(effects) == [("c1", "rejected", "not_allowed")] and "hb" not in timers(effects)
    assert device.settings.heartbeat_s == 60 and device.state.rejected["not_allowed"] == 2
    assert acks(arrive(device, "ping", {}, "p1", T0 + 3000, key=gateway))[0][1] == "accepted"

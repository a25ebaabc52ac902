"""Every rejection code comes from a real hostile input over a real broker, and none of them moves a relay."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from joserfc.jwk import OKPKey

from province.console import Console
from province.keys import load_signing, sign_command
from tests.e2e.link_helpers import UnitWatch

RELAY_ON = {"zone": 1, "on": True, "for_s": 5}


def claims(unit_id: str, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": "province", "aud": f"dev:{unit_id}", "iat": now, "exp": now + 120, "jti": f"h-{time.monotonic_ns()}",
            "cmd": "relay", "args": RELAY_ON}
    return base | over


def ed25519(key: OKPKey | Any, body: dict[str, Any], kid: str) -> str:
    pem = key.as_pem(private=True) if isinstance(key, OKPKey) else key
    return pyjwt.encode(body, pem, algorithm="EdDSA", headers={"kid": kid})


def hostile_inputs(unit_id: str, keys: Path) -> dict[str, tuple[str, bytes | str]]:
    """code -> (jti or '', payload)."""
    good = load_signing(keys / "signing.jwk")
    good_kid = good.kid
    assert good_kid is not None  # keys init gives every signing key a kid
    intruder = OKPKey.generate_key("Ed25519", parameters={"kid": "intruder"})
    out: dict[str, tuple[str, bytes | str]] = {}

    def add(code: str, body: dict[str, Any], key: Any = good, kid: str | None = None) -> None:
        out[code] = (body["jti"], ed25519(key, body, kid or good_kid))

    out["bad_token"] = ("", b"\xff\xfenot a token at all")
    body = claims(unit_id)
    out["bad_alg"] = (body["jti"], pyjwt.encode(body, "guessable-secret-0123456789abcdef", algorithm="HS256",
                                                headers={"kid": good.kid}))
    add("unknown_key", claims(unit_id), intruder, "intruder-key")
    add("bad_signature", claims(unit_id), intruder)
    add("bad_issuer", claims(unit_id, iss="someone-else"))
    add("expired", claims(unit_id, iat=int(time.time()) - 7200, exp=int(time.time()) - 3700))
    add("not_yet_valid", claims(unit_id, iat=int(time.time()) + 3000, exp=int(time.time()) + 3100))
    add("wrong_audience", claims(unit_id, aud="dev:some-other-unit"))
    add("bad_args", claims(unit_id, args={"zone": 1, "on": True, "for_s": 99999}))
    add("unknown_command", claims(unit_id, cmd="open_all_relays_forever"))
    add("not_allowed", claims(unit_id, cmd="config", args={"trust": thief_trust(intruder)}))  # console key, no root
    big = claims(unit_id, args=RELAY_ON | {"pad": "x" * 20000})
    out["too_large"] = ("", ed25519(good, big, good_kid))
    return out


def thief_trust(thief: OKPKey) -> dict[str, Any]:
    """What a thief holding the console key would install: only keys of their own, one of them a root."""
    return {"keys": [thief.as_dict(private=False) | {"loa_scope": "root"}]}


def test_every_rejection_code_is_produced_by_a_real_hostile_input(make_unit, console: Console, keys: Path):
    unit = make_unit()
    watch = UnitWatch(console, unit)
    watch.wait_online()
    cases = hostile_inputs(unit.device_id, keys)
    for code, (_, payload) in cases.items():
        watch.publish_raw(payload)
    _, replay_jti = _replay(watch, keys)
    assert watch.pump(10, lambda: len([a for a in watch.of("ack") if a["state"] == "rejected"]) >= len(cases) + 1)
    rejected = {a["code"]: a for a in watch.of("ack") if a["state"] == "rejected"}
    assert set(rejected) == set(cases) | {"replay"}
    for code, (jti, _) in cases.items():
        if jti and code not in ("too_large",):
            assert rejected[code]["jti"] == jti, (code, rejected[code])
        assert rejected[code]["msg"]
    assert rejected["bad_token"]["jti"] is None
    assert rejected["replay"]["jti"] == replay_jti
    assert not any(j["on"] for j in unit.relay_journal()), unit.relay_journal()
    counted = {code: 1 for code in rejected}  # in the status within 1 s of the last change
    assert watch.pump(2, lambda: watch.last_status().get("rejected") == counted), watch.last_status()


def _replay(watch: UnitWatch, keys: Path) -> tuple[str, str]:
    """A valid ping, then the very same token again: the second one is a replay."""
    token, jti = sign_command(load_signing(keys / "signing.jwk"), f"dev:{watch.unit.device_id}", "ping", {})
    watch.publish_raw(token)
    watch.wait_acks(jti, {"finished"})
    watch.publish_raw(token)
    return token, jti


def test_a_retained_command_is_never_executed(make_unit, console: Console, keys: Path):
    """A valid, signed relay command left retained on the topic (a replay trap) is refused on subscribe."""
    unit = make_unit(start=False)
    watch = UnitWatch(console, unit)
    token, jti = sign_command(load_signing(keys / "signing.jwk"), f"dev:{unit.device_id}", "relay", RELAY_ON)
    watch.publish_raw(token, retain=True)
    try:
        unit.start()
        watch.wait_online()
        assert watch.wait_acks(jti, {"rejected"}) == ["rejected"]
        assert watch.acks(jti)[0]["code"] == "retained"
        assert not any(j["on"] for j in unit.relay_journal())
    finally:
        watch.publish_raw(b"", retain=True)  # clear the retained message


def test_group_command_reaches_members_and_audience_must_match_the_topic(make_unit, console: Console, keys: Path):
    unit = make_unit(groups=("commune-b", "province"))
    watch = UnitWatch(console, unit)
    watch.wait_online()
    key = load_signing(keys / "signing.jwk")
    from agent.core.topics import Target

    ok = console.send(key, Target("grp", "commune-b"), "ping", {})
    token, wrong = sign_command(key, "grp:province", "ping", {})
    console.publish(console.topics.group_command("commune-b"), token)  # aud names another group than the topic
    assert watch.wait_acks(ok, {"finished"}) == ["accepted", "finished"]
    assert watch.wait_acks(wrong, {"rejected"}) == ["rejected"]
    assert watch.acks(wrong)[0]["code"] == "wrong_audience"


def test_a_retained_command_published_while_the_unit_is_connected_is_refused(make_unit, console: Console, keys: Path):
    """MQTT 5 retain-as-published: the retain flag survives on a live delivery, so even this is never executed."""
    unit = make_unit()
    watch = UnitWatch(console, unit)
    watch.wait_online()
    token, jti = sign_command(load_signing(keys / "signing.jwk"), f"dev:{unit.device_id}", "relay", RELAY_ON)
    try:
        watch.publish_raw(token, retain=True)
        assert watch.wait_acks(jti, {"rejected", "finished"}) == ["rejected"]
        assert watch.acks(jti)[0]["code"] == "retained"
        assert not any(j["on"] for j in unit.relay_journal())
    finally:
        watch.publish_raw(b"", retain=True)


def test_a_command_signed_with_the_newer_alg_name_is_obeyed(make_unit, console: Console, keys: Path):
    """`loa keys init` marks its keys "alg": "EdDSA"; a client signing with RFC 9864's "Ed25519" (the name newer
    JOSE libraries prefer) uses the same key and the same algorithm, so the unit obeys it."""
    import json
    import warnings

    from joserfc import jws

    unit = make_unit()
    watch = UnitWatch(console, unit)
    watch.wait_online()
    jwk = json.loads((keys / "signing.jwk").read_text(encoding="utf-8"))
    key = OKPKey.import_key({name: value for name, value in jwk.items() if name != "alg"})
    body = claims(unit.device_id, cmd="ping", args={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        token = jws.serialize_compact({"alg": "Ed25519", "kid": jwk["kid"], "typ": "JWT"}, json.dumps(body), key,
                                      algorithms=["Ed25519"])
    watch.publish_raw(token)
    assert watch.wait_acks(body["jti"], {"finished", "rejected"}) == ["accepted", "finished"], watch.acks(body["jti"])


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_clearing_a_retained_command_with_an_empty_message_is_not_answered(make_unit, console: Console, keys: Path,
                                                                          protocol: str):
    """docs/protocol.md 8.1: an empty retained publish removes a command left retained by mistake. The unit, which
    receives the empty message too (flagged retained under MQTT 5, not under 3.1.1), neither acks nor counts it."""
    unit = make_unit(mqtt={"protocol": protocol})
    watch = UnitWatch(console, unit)
    watch.wait_online()
    watch.publish_raw(b"", retain=True)
    token, jti = sign_command(load_signing(keys / "signing.jwk"), f"dev:{unit.device_id}", "ping", {})
    watch.publish_raw(token)
    assert watch.wait_acks(jti, {"finished"}) == ["accepted", "finished"]
    watch.pump(1.5)  # room for a late answer to the empty message, which must not come
    assert [a for a in watch.of("ack") if a["state"] == "rejected"] == []
    assert watch.last_status().get("rejected") == {}, watch.last_status()
def test_a_stolen_console_key_cannot_lock_the_province_out(make_unit, console: Console, keys: Path):
    """The console key signs a trust set and issuers of the thief's own: both refused with not_allowed, nothing is
    persisted, and the unit still obeys the console key, also after a restart."""
    unit = make_unit()
    watch = UnitWatch(console, unit)
    watch.wait_online()
    stolen, audience = load_signing(keys / "signing.jwk"), f"dev:{unit.device_id}"
    thief = OKPKey.generate_key("Ed25519", parameters={"kid": "thief"})
    attempts = [sign_command(stolen, audience, "config", {"trust": thief_trust(thief)}),
                sign_command(stolen, audience, "config", {"issuers": ["thief"]}),
                sign_command(stolen, audience, "config", {"trust": thief_trust(thief), "issuers": ["thief"]})]
    for token, jti in attempts:
        watch.publish_raw(token)
        assert watch.wait_acks(jti, {"rejected", "finished"}) == ["rejected"], unit.output()
        assert watch.acks(jti)[0]["code"] == "not_allowed"
    thiefs_ping, thiefs_jti = sign_command(thief, audience, "ping", {}, issuer="thief")
    watch.publish_raw(thiefs_ping)
    assert watch.wait_acks(thiefs_jti, {"rejected", "finished"}) == ["rejected"]
    assert watch.acks(thiefs_jti)[0]["code"] == "unknown_key"
    assert _obeys(watch, stolen)
    unit.stop()
    unit.start()
    watch.pump(10, lambda: sum(1 for m in watch.of("status") if m.get("online")) >= 2)
    assert _obeys(watch, stolen), unit.output()


def test_the_root_key_changes_the_trust_set_and_a_gateway_key_signs_only_its_commands(make_unit, console: Console,
                                                                                      keys: Path):
    unit = make_unit()
    watch = UnitWatch(console, unit)
    watch.wait_online()
    root, console_key = load_signing(keys / "root" / "root.jwk"), load_signing(keys / "signing.jwk")
    gateway = OKPKey.generate_key("Ed25519", parameters={"kid": "gw-1"})
    trust = {"keys": [root.as_dict(private=False) | {"loa_scope": "root"},
                      console_key.as_dict(private=False) | {"loa_scope": "console"},
                      gateway.as_dict(private=False) | {"loa_scope": "gateway"}]}
    token, jti = sign_command(root, f"dev:{unit.device_id}", "config", {"trust": trust})
    watch.publish_raw(token)
    assert watch.wait_acks(jti, {"rejected", "finished"}) == ["accepted", "finished"], unit.output()
    token, jti = sign_command(gateway, f"dev:{unit.device_id}", "relay", RELAY_ON)
    watch.publish_raw(token)
    assert watch.wait_acks(jti, {"rejected", "finished"}) == ["rejected"]
    assert watch.acks(jti)[0]["code"] == "not_allowed"
    assert not any(j["on"] for j in unit.relay_journal())
    assert _obeys(watch, gateway) and _obeys(watch, console_key)


def _obeys(watch: UnitWatch, key: OKPKey) -> bool:
    token, jti = sign_command(key, f"dev:{watch.unit.device_id}", "ping", {})
    watch.publish_raw(token)
    return watch.wait_acks(jti, {"rejected", "finished"}) == ["accepted", "finished"]

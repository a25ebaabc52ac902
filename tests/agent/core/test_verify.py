"""Verification policy as a table: one token per rule, a fake clock, no broker."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.jwk import OKPKey

from agent.core.topics import Target
from agent.core.verify import ALGORITHMS, Command, Policy, Rejection, TrustError, TrustSet, load_trust, verify

NOW = 1_800_000_000
KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "k1"})
OTHER = OKPKey.generate_key("Ed25519", parameters={"kid": "k1"})
TRUST = load_trust({"keys": [KEY.as_dict(private=False)]})
POLICY = Policy(device_id="d1", groups=frozenset({"g1"}), issuers=frozenset({"province"}), max_bytes=4096)
DEV = Target("dev", "d1")


def token(alg: str = "EdDSA", kid: str = "k1", key: OKPKey = KEY, **over: Any) -> bytes:
    import json
    import warnings

    body = {"iss": "province", "aud": "dev:d1", "iat": NOW, "exp": NOW + 60, "jti": "j1", "cmd": "ping", "args": {}}
    body |= over
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jws.serialize_compact({"alg": alg, "kid": kid}, json.dumps(body).encode(), key, algorithms=[alg]).encode()


def _without(claim: str) -> bytes:
    import json

    body = {"iss": "province", "aud": "dev:d1", "iat": NOW, "exp": NOW + 60, "jti": "j1", "cmd": "ping", "args": {}}
    del body[claim]
    return jws.serialize_compact({"alg": "Ed25519", "kid": "k1"}, json.dumps(body).encode(), KEY,
                                 algorithms=["Ed25519"]).encode()


def check(tok: bytes, *, target: Target = DEV, retained: bool = False, now: int = NOW, synced: bool = True,
          seen: dict[str, int] | None = None, keys: TrustSet = TRUST) -> Command | Rejection:
    return verify(tok, target=target, retained=retained, now_s=now, clock_synced=synced, seen=seen or {},
                  keys=keys, policy=POLICY)


@pytest.mark.parametrize("tok, kwargs, code", [
    (b"x" * 5000, {}, "too_large"),
    (b"abc.def", {}, "bad_token"),
    (b"e30.e30.", {}, "bad_token"),
    (token(), {"retained": True}, "retained"),
    (token(kid="nope"), {}, "unknown_key"),
    (token(key=OTHER), {}, "bad_signature"),
    (token(iss="mallory"), {}, "bad_issuer"),
    (token(aud="dev:d2"), {}, "wrong_audience"),
    (token(aud="grp:g1"), {}, "wrong_audience"),
    (token(aud="grp:g2"), {"target": Target("grp", "g2")}, "wrong_audience"),
    (token(), {"now": NOW + 60 + 61}, "expired"),
    (token(), {"now": NOW - 61}, "not_yet_valid"),
    (token(exp=NOW + 4000), {}, "bad_token"),
    (token(iat="soon"), {}, "bad_token"),
    (token(), {"seen": {"j1": NOW + 100}}, "replay"),
    (token(args=[1]), {}, "bad_args"),
    (token(args=None), {}, "bad_args"),
    (_without("args"), {}, "bad_args"),
    (token(jti="j" * 129), {}, "bad_token"),
    (token(aud=["dev:d1"]), {}, "wrong_audience"),
    (token(aud=["dev:d1", "dev:d2"]), {}, "wrong_audience"),
    (token(aud=[]), {}, "wrong_audience"),
    (token(aud=7), {}, "bad_token"),
    (_without("aud"), {}, "bad_token"),
    (token(nbf=NOW + 61), {}, "not_yet_valid"),
    (token(nbf="later"), {}, "bad_token"),
    (token(nbf=True), {}, "bad_token"),
])
def test_rejections(tok: bytes, kwargs: dict[str, Any], code: str) -> None:
    result = check(tok, **kwargs)
    assert isinstance(result, Rejection) and result.code == code, result


def test_hmac_token_is_a_bad_alg() -> None:
    import jwt as pyjwt

    tok = pyjwt.encode({"jti": "j1"}, "secret-secret-secret-secret-0123", algorithm="HS256", headers={"kid": "k1"})
    result = check(tok.encode())
    assert isinstance(result, Rejection) and result.code == "bad_alg"


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_both_ed25519_names_are_accepted(alg: str) -> None:
    result = check(token(alg=alg))
    assert isinstance(result, Command) and (result.jti, result.cmd) == ("j1", "ping")


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_both_names_are_accepted_with_a_key_marked_for_one_of_them(alg: str) -> None:
    """`loa keys init` writes trust sets whose keys say "alg": "EdDSA"; a client that signs with the newer name
    (RFC 9864) must still be obeyed, and one marked "Ed25519" must accept the older name."""
    for marked in ALGORITHMS:
        keys = load_trust({"keys": [KEY.as_dict(private=False) | {"alg": marked, "use": "sig"}]})
        result = check(token(alg=alg), keys=keys)
        assert isinstance(result, Command) and result.jti == "j1", (marked, result)


def test_a_trusted_key_marked_for_another_algorithm_is_refused() -> None:
    with pytest.raises(TrustError, match="alg"):
        load_trust({"keys": [KEY.as_dict(private=False) | {"alg": "ES256"}]})


def test_a_past_or_present_nbf_is_accepted_and_a_future_one_waits_for_a_synchronised_clock() -> None:
    assert isinstance(check(token(nbf=NOW)), Command)
    assert isinstance(check(token(nbf=NOW + 60)), Command)  # within the clock skew allowance
    assert isinstance(check(token(nbf=NOW - 30)), Command)
    # Like iat: a unit that does not know the time cannot tell a future nbf from its own lagging clock.
    assert isinstance(check(token(nbf=NOW + 600), synced=False), Command)


def test_group_topic_accepts_its_own_audience() -> None:
    assert isinstance(check(token(aud="grp:g1"), target=Target("grp", "g1")), Command)


def test_clock_skew_allowance_both_ways() -> None:
    assert isinstance(check(token(), now=NOW - 59), Command)
    assert isinstance(check(token(), now=NOW + 60 + 59), Command)


def test_unsynchronised_clock_accepts_a_fresh_command_from_the_future() -> None:
    """A unit booted without NTP (clock in the past) still obeys a fresh command; expiry uses the given floor."""
    assert isinstance(check(token(), now=NOW - 86400, synced=False), Command)
    result = check(token(), now=NOW + 3600, synced=False)
    assert isinstance(result, Rejection) and result.code == "expired"


@pytest.mark.parametrize("jwks, problem", [
    ({"keys": []}, "non-empty"),
    ({"keys": [KEY.as_dict(private=True)]}, "private"),
    ({"keys": [{"kty": "EC", "crv": "P-256", "kid": "a"}]}, "Ed25519"),
    ({"keys": [KEY.as_dict(private=False)] * 2}, "distinct"),
])
def test_trust_sets_that_must_not_be_trusted(jwks: dict[str, Any], problem: str) -> None:
    with pytest.raises(TrustError, match=problem):
        load_trust(jwks)


# ---- key scopes (agent.core.scopes): which commands each trusted key may sign ------------------------------------

ROOT = OKPKey.generate_key("Ed25519", parameters={"kid": "root"})
CONSOLE = OKPKey.generate_key("Ed25519", parameters={"kid": "console"})
GATEWAY = OKPKey.generate_key("Ed25519", parameters={"kid": "gw"})


def scoped(key: OKPKey, scope: str | None, **members: Any) -> dict[str, Any]:
    return key.as_dict(private=False) | ({"loa_scope": scope} if scope else {}) | members


SCOPED = load_trust({"keys": [scoped(ROOT, "root"), scoped(CONSOLE, "console"),
                              scoped(GATEWAY, "gateway", loa_groups=["g1"], loa_levels=["normal", "priority"])]})
NEW_TRUST = {"keys": [scoped(ROOT, "root"), scoped(OTHER, "console")]}


def signed(key: OKPKey, cmd: str, args: dict[str, Any], *, keys: Any = SCOPED, target: Target = DEV,
           aud: str = "dev:d1") -> Command | Rejection:
    tok = token(kid=str(key.kid), key=key, cmd=cmd, args=args, aud=aud)
    return verify(tok, target=target, retained=False, now_s=NOW, clock_synced=True, seen={}, keys=keys, policy=POLICY)


def code(result: Command | Rejection) -> str:
    return result.code if isinstance(result, Rejection) else "ok"


@pytest.mark.parametrize("key, cmd, args, expected", [
    (CONSOLE, "config", {"trust": NEW_TRUST}, "not_allowed"),  # a stolen console key cannot lock the province out
    (CONSOLE, "config", {"issuers": ["mallory"]}, "not_allowed"),
    (CONSOLE, "config", {"heartbeat_s": 30}, "ok"),
    (CONSOLE, "update", {"url": "https://x/r.tar", "sha256": "0" * 64}, "ok"),
    (CONSOLE, "relay", {"zone": 1, "on": True}, "ok"),
    (ROOT, "config", {"trust": NEW_TRUST}, "ok"),
    (ROOT, "config", {"issuers": ["province", "district"]}, "ok"),
    (ROOT, "config", {"trust": {"keys": [scoped(OTHER, "console")]}}, "bad_args"),  # never without a root again
    (ROOT, "play", {"tts": "x"}, "not_allowed"),  # the offline key signs trust changes only
    (GATEWAY, "update", {"url": "https://x/r.tar", "sha256": "0" * 64}, "not_allowed"),
    (GATEWAY, "config", {"heartbeat_s": 30}, "not_allowed"),
    (GATEWAY, "config", {"trust": NEW_TRUST}, "not_allowed"),
    (GATEWAY, "relay", {"zone": 1, "on": True}, "not_allowed"),
    (GATEWAY, "play", {"tts": "x"}, "ok"),
    (GATEWAY, "play", {"tts": "x", "priority": "priority"}, "ok"),
    (GATEWAY, "play", {"tts": "x", "priority": "emergency"}, "not_allowed"),  # levels the province granted
    (GATEWAY, "ping", {}, "ok"),
])
def test_each_key_signs_only_what_its_scope_covers(key: OKPKey, cmd: str, args: dict[str, Any], expected: str) -> None:
    assert code(signed(key, cmd, args)) == expected


def test_a_gateway_key_reaches_only_the_groups_it_was_granted() -> None:
    assert code(signed(GATEWAY, "ping", {}, target=Target("grp", "g1"), aud="grp:g1")) == "ok"
    other = Policy(device_id="d1", groups=frozenset({"g1", "g2"}), issuers=frozenset({"province"}))
    tok = token(kid="gw", key=GATEWAY, aud="grp:g2")
    result = verify(tok, target=Target("grp", "g2"), retained=False, now_s=NOW, clock_synced=True, seen={},
                    keys=SCOPED, policy=other)
    assert code(result) == "not_allowed"


def test_loa_cmds_narrows_a_role() -> None:
    keys = load_trust({"keys": [scoped(CONSOLE, "console", loa_cmds=["ping", "logs"])]})
    assert code(signed(CONSOLE, "ping", {}, keys=keys)) == "ok"
    assert code(signed(CONSOLE, "volume", {"volume_pct": 50}, keys=keys)) == "not_allowed"


def test_an_unscoped_key_is_a_console_key_that_may_adopt_a_root_once() -> None:
    """A trust set from before scopes: its key does what it did, except change who is trusted, but it may install
    a set that brings a root key (once: afterwards only that root changes trust)."""
    legacy = load_trust({"keys": [CONSOLE.as_dict(private=False)]})
    assert code(signed(CONSOLE, "update", {"url": "https://x/r.tar", "sha256": "0" * 64}, keys=legacy)) == "ok"
    assert code(signed(CONSOLE, "config", {"issuers": ["mallory"]}, keys=legacy)) == "not_allowed"
    assert code(signed(CONSOLE, "config", {"trust": {"keys": [scoped(OTHER, "console")]}}, keys=legacy)) == "bad_args"
    adopted = {"keys": [CONSOLE.as_dict(private=False), scoped(ROOT, "root")]}
    assert code(signed(CONSOLE, "config", {"trust": adopted}, keys=legacy)) == "ok"
    assert code(signed(CONSOLE, "config", {"trust": NEW_TRUST}, keys=load_trust(adopted))) == "not_allowed"


@pytest.mark.parametrize("members, problem", [
    ({"loa_scope": "admin"}, "not one of"),
    ({"loa_scope": "gateway", "loa_cmds": "play"}, "list of names"),
    ({"loa_scope": "gateway", "loa_levels": ["urgent"]}, "may only name"),
])
def test_a_trust_set_with_a_scope_the_unit_cannot_read_is_refused(members: dict[str, Any], problem: str) -> None:
    with pytest.raises(TrustError, match=problem):
        load_trust({"keys": [CONSOLE.as_dict(private=False) | members]})


@pytest.mark.parametrize("extra", [{"x-extra": 1}, {"crit": ["b64"], "b64": False}, {"typ": 5}])
def test_a_header_member_loa_does_not_support_is_a_bad_token_once_the_key_is_known(extra: dict[str, Any]) -> None:
    """The same code, at the same step, as when joserfc judged the header: after the algorithm and the key id."""
    import base64
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    body = {"iss": "province", "aud": "dev:d1", "iat": NOW, "exp": NOW + 60, "jti": "j9", "cmd": "ping", "args": {}}
    signing_input = f"{b64(json.dumps({'alg': 'EdDSA', 'kid': 'k1', **extra}).encode())}.{b64(json.dumps(body).encode())}"
    private = KEY.get_op_key("sign")
    assert isinstance(private, Ed25519PrivateKey)
    raw = f"{signing_input}.{b64(private.sign(signing_input.encode()))}".encode()
    result = check(raw)
    assert isinstance(result, Rejection) and (result.code, result.jti) == ("bad_token", "j9"), result
    retained = verify(raw, target=DEV, retained=True, now_s=NOW, clock_synced=True, seen={}, keys=TRUST, policy=POLICY)
    assert isinstance(retained, Rejection) and retained.code == "retained"

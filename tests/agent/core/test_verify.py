"""Verification policy as a table: one token per rule, a fake clock, no broker."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import KeySet, OKPKey

from agent.core.topics import Target
from agent.core.verify import ALGORITHMS, Command, Policy, Rejection, TrustError, load_trust, verify

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
          seen: dict[str, int] | None = None, keys: KeySet = TRUST) -> Command | Rejection:
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

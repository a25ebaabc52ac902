"""A shard's trust set shares one cache of Ed25519 checks among its units: the same token is checked once, and a
forged one is still refused (sim/trust.py on agent.core.ed25519_jws's TrustSet)."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import OKPKey

from agent.core.verify import Command, Rejection, TrustSet, verify
from sim.trust import CachedVerifyKey, shared_trust
from tests.agent.core.test_verify import DEV, KEY, NOW, OTHER, POLICY, token


def check(raw: bytes, keys: TrustSet) -> Command | Rejection:
    return verify(raw, target=DEV, retained=False, now_s=NOW, clock_synced=True, seen={}, keys=keys, policy=POLICY)


def jwks(*keys: OKPKey) -> dict[str, Any]:
    return {"keys": [dict(k.as_dict(private=False)) for k in keys]}


def test_units_of_a_shard_share_signature_checks_and_forgeries_stay_refused() -> None:
    keys = shared_trust(jwks(KEY))
    cached = keys.get("k1")
    assert cached is not None and isinstance(cached.public, CachedVerifyKey)
    cache = cached.public._cache
    genuine, forged = token(jti="s1"), token(jti="s2", key=OTHER)
    assert isinstance(check(genuine, keys), Command) and isinstance(check(genuine, keys), Command)
    assert len(cache) == 1
    for _ in range(2):
        result = check(forged, keys)
        assert isinstance(result, Rejection) and result.code == "bad_signature"
    assert len(cache) == 2 and sorted(cache.values()) == [False, True]


def test_without_the_cache_the_units_keys_are_the_plain_ones() -> None:
    keys = shared_trust(jwks(KEY), cached=False)
    key = keys.get("k1")
    assert key is not None and not isinstance(key.public, CachedVerifyKey)
    assert isinstance(check(token(jti="s3"), keys), Command)

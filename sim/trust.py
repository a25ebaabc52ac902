"""The simulated units' trust set, with one shared cache of Ed25519 signature checks per shard.

Thousands of units verify the very same command bytes (one publish reaches a province); each real unit does that
on its own CPU in about a millisecond, while a shard would do it 2,500 times in a row on one core. The check is a
pure function of (message, signature, key), so a shard does it once per distinct token and every unit gets the
same answer. Everything else in verification (parsing, algorithm, key id, audience, time window, replay, schema)
still runs per unit in the real core. `cached=False` turns it off.

Must not import paho or the agent's runtime.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent.core.verify import TrustSet, load_trust


class CachedVerifyKey(Ed25519PublicKey):
    """An Ed25519 public key that remembers the outcome of each (signature, message) it checked."""

    def __init__(self, key: Ed25519PublicKey, cache: dict[tuple[bytes, bytes], bool]) -> None:
        self._key, self._cache = key, cache

    def verify(self, signature: Any, data: Any) -> None:
        key = (bytes(signature), bytes(data))
        ok = self._cache.get(key)
        if ok is None:
            ok = self._cache[key] = _check(self._key, key[0], key[1])
        if not ok:
            from cryptography.exceptions import InvalidSignature

            raise InvalidSignature()

    def public_bytes(self, encoding: serialization.Encoding, format: serialization.PublicFormat) -> bytes:
        return self._key.public_bytes(encoding, format)

    def public_bytes_raw(self) -> bytes:
        return self._key.public_bytes_raw()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CachedVerifyKey) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self.public_bytes_raw())

    def __copy__(self) -> CachedVerifyKey:
        return self

    def __deepcopy__(self, _memo: dict[int, Any]) -> CachedVerifyKey:
        return self


def _check(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(signature, data)
        return True
    except InvalidSignature:
        return False


def shared_trust(jwks: dict[str, Any], cached: bool = True) -> TrustSet:
    """The units' TrustSet (checked like a unit's trust.jwks); with `cached`, signature checks are shared."""
    keys = load_trust(jwks)
    if not cached:
        return keys
    cache: dict[tuple[bytes, bytes], bool] = {}
    return TrustSet(tuple(replace(k, public=CachedVerifyKey(k.public, cache)) for k in keys.keys))

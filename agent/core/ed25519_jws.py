"""Compact JWS (RFC 7515) signed with Ed25519 (RFC 8037, RFC 9864): the parsing, the trusted key set and the one
signature check a unit makes, on cryptography's Ed25519 primitive alone. A JOSE library would load its whole key
registry (RSA, EC, x509, PEM: several MiB of an idle unit) for a job that needs none of it.

As strict as joserfc, whose tokens and keys it reads (tests compare the two): exactly three segments; base64url
without padding and with canonical final bits; a header that is a JSON object naming `alg`, with only RFC 7515's
registered members, each of its type. Stricter in one way: `crit` and `b64` are refused (Loa understands no
extension, and `b64: false` would change what the signature covers).
Pure: must not import adapters or do I/O.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALGORITHMS = ("EdDSA", "Ed25519")  # RFC 8037's name and RFC 9864's fully specified one: both mean Ed25519
_STRING_HEADERS = frozenset({"alg", "kid", "typ", "cty", "x5t", "x5t#S256"})
_URL_HEADERS = frozenset({"jku", "x5u"})
_KEY_OPS = ("sign", "verify", "encrypt", "decrypt", "wrapKey", "unwrapKey", "deriveKey", "deriveBits")
_CANONICAL_ENDINGS = {2: b"AQgw", 1: b"AEIMQUYcgkosw048"}  # the last character when 2 or 1 pad chars are left out


class JwsError(ValueError):
    """Not a compact JWS this module reads (the message says which part)."""


@dataclass(frozen=True, slots=True)
class Compact:
    """A parsed token: the protected header, the payload bytes and what the signature covers."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One public Ed25519 key and its JWK members (kid, loa_scope…) as the trust set gave them, `alg` left out.
    `for_signatures` is False when its `use` or `key_ops` rule verification out (its tokens are then bad_token)."""

    kid: str
    member: Mapping[str, Any]
    public: Ed25519PublicKey
    for_signatures: bool = True


class TrustSet:
    """The keys a unit trusts, by kid (load them with agent.core.verify.load_trust, which checks each one)."""

    def __init__(self, keys: tuple[TrustedKey, ...]) -> None:
        self.keys = keys
        self._by_kid = {k.kid: k for k in keys}

    def get(self, kid: Any) -> TrustedKey | None:
        return self._by_kid.get(kid) if isinstance(kid, str) else None

    def members(self) -> Iterator[Mapping[str, Any]]:
        return (k.member for k in self.keys)


def b64url_decode(segment: bytes) -> bytes:
    if b"=" in segment or b"+" in segment or b"/" in segment:
        raise JwsError("base64url must be unpadded and use - and _")
    pad = -len(segment) % 4
    if pad == 3 or (pad and segment[-1:] not in [bytes([c]) for c in _CANONICAL_ENDINGS[pad]]):
        raise JwsError("base64url segment has a wrong length or non-canonical final bits")
    try:
        return base64.b64decode(segment + b"=" * pad, b"-_", validate=True)
    except ValueError as exc:  # binascii.Error
        raise JwsError("not base64url") from exc


def parse(token: bytes) -> Compact:
    """The token's parts; JwsError (or a ValueError from JSON) when it is not a compact JWS. The header's other
    members are judged by `supported_header`."""
    parts = token.split(b".")
    if len(parts) != 3:
        raise JwsError("a compact JWS has three segments")
    header = json.loads(b64url_decode(parts[0]))
    if not isinstance(header, dict) or "alg" not in header:
        raise JwsError("the header is not a JSON object naming alg")
    return Compact(header, b64url_decode(parts[1]), parts[0] + b"." + parts[1], b64url_decode(parts[2]))


def supported_header(header: Mapping[str, Any]) -> bool:
    """Only RFC 7515's registered members, each of its type (checked once the key is known, as joserfc did)."""
    return all(_header_member_ok(name, value) for name, value in header.items())


def _header_member_ok(name: str, value: Any) -> bool:
    if name in _STRING_HEADERS:
        return isinstance(value, str)
    if name in _URL_HEADERS:
        return isinstance(value, str) and value.startswith(("http://", "https://"))
    if name == "x5c":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return name == "jwk" and isinstance(value, dict)


def verifies(compact: Compact, key: TrustedKey) -> bool:
    """True when the signature is the named key's over the header and payload (the caller checked alg)."""
    try:
        key.public.verify(compact.signature, compact.signing_input)
    except InvalidSignature:
        return False
    return True


def read_key(jwk: Mapping[str, Any]) -> TrustedKey:
    """A public OKP Ed25519 JWK (already checked for kty, crv, kid and no private part) as a TrustedKey."""
    x = jwk.get("x")
    if not isinstance(x, str):
        raise JwsError("an Ed25519 public key needs 'x' as a string")
    raw = b64url_decode(x.encode())
    if len(raw) != 32:
        raise JwsError("an Ed25519 public key 'x' is 32 bytes of base64url")
    if not all(_key_member_ok(name, value) for name, value in jwk.items()):
        raise JwsError("a key member RFC 7517 registers (use, key_ops, x5u, x5c, x5t) has the wrong value")
    member = {name: value for name, value in jwk.items() if name != "alg"}
    ops = jwk.get("key_ops")
    usable = jwk.get("use") in (None, "sig") and (ops is None or "verify" in ops)
    return TrustedKey(str(jwk["kid"]), member, Ed25519PublicKey.from_public_bytes(raw), usable)


def _key_member_ok(name: str, value: Any) -> bool:
    if name == "use":
        return value in ("sig", "enc")
    if name == "key_ops":
        return all(v in _KEY_OPS for v in value) if isinstance(value, list) else value in _KEY_OPS
    if name in ("x5u", "x5c", "x5t", "x5t#S256"):
        return _header_member_ok(name, value)  # the same types as in a JWS header
    return True  # kty, crv, x, kid and alg are checked by load_trust; loa_* by scopes; others are free

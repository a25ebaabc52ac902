"""agent.core.ed25519_jws accepts exactly the Ed25519 compact tokens joserfc accepts: a genuine token and every
one-character change, truncation and hostile header of it get the same verdict from both; keys read the same way.
"""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

from agent.core.ed25519_jws import ALGORITHMS, JwsError, TrustSet, parse, read_key, supported_header, verifies

KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "k1"})
PUBLIC: dict[str, Any] = dict(KEY.as_dict(private=False))
MINE = TrustSet((read_key(PUBLIC),))
THEIRS = KeySet.import_key_set({"keys": [PUBLIC]})
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(header: dict[str, Any], payload: bytes = b'{"cmd":"ping"}', key: OKPKey = KEY) -> bytes:
    """A token signed over any header (joserfc would refuse to sign the hostile ones)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload)}".encode()
    private = key.get_op_key("sign")
    assert isinstance(private, Ed25519PrivateKey)
    return signing_input + b"." + b64(private.sign(signing_input)).encode()


def mine(token: bytes) -> bool:
    try:
        compact = parse(token)
    except (JwsError, ValueError):
        return False
    key = MINE.get(compact.header.get("kid"))
    alg_ok = compact.header.get("alg") in ALGORITHMS
    usable = key is not None and key.for_signatures and supported_header(compact.header)
    return alg_ok and usable and key is not None and verifies(compact, key)


def theirs(token: bytes) -> bool:
    """What the core did with joserfc: the key named by a string kid (never a guess), then joserfc's checks."""
    try:
        kid = jws.extract_compact(token).headers().get("kid")
        key = THEIRS.get_by_kid(kid) if isinstance(kid, str) else None
        if key is None:
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            jws.deserialize_compact(token, key, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError, UnicodeDecodeError):
        return False
    return True


GOOD = signed({"alg": "EdDSA", "kid": "k1"})


def one_character_changes(token: bytes) -> list[bytes]:
    text = token.decode()
    out = []
    for i in range(len(text)):
        for c in ("=", "+", "/", ".", " ", "A", "B", "g", "w", "_"):
            if c != text[i]:
                out.append((text[:i] + c + text[i + 1:]).encode())
    return out + [token[:n] for n in range(len(token))] + [token + b"=", token + b"A", token + b".", b"." + token]


def test_both_accept_the_genuine_token_and_agree_on_every_change_of_it() -> None:
    assert mine(GOOD) and theirs(GOOD)
    changes = one_character_changes(GOOD)
    disagreements = [t for t in changes if mine(t) != theirs(t)]
    assert len(changes) > 1000 and not disagreements, disagreements[:5]


@pytest.mark.parametrize("header", [
    {"alg": "Ed25519", "kid": "k1"},
    {"alg": "EdDSA", "kid": "k1", "typ": "JWT"},
    {"alg": "EdDSA", "kid": "k1", "typ": 5},
    {"alg": "EdDSA", "kid": 1},
    {"alg": "EdDSA", "kid": "k2"},
    {"alg": "EdDSA"},
    {"kid": "k1"},
    {"alg": "none", "kid": "k1"},
    {"alg": "HS256", "kid": "k1"},
    {"alg": "EdDSA", "kid": "k1", "crit": ["exp"], "exp": 1},
    {"alg": "EdDSA", "kid": "k1", "x-extra": [1, 2]},
    {"alg": "EdDSA", "kid": "k1", "jku": "file:///etc/keys"},
    {"alg": "EdDSA", "kid": "k1", "jku": "https://evil.example/keys"},
    {"alg": "EdDSA", "kid": "k1", "jwk": "not an object"},
    {"alg": "EdDSA", "kid": "k1", "x5c": ["a", 1]},
    {"alg": "EdDSA", "kid": "k1", "x5t#S256": "abc"},
    {"alg": ["EdDSA"], "kid": "k1"},
])
def test_hostile_headers_get_the_same_verdict(header: dict[str, Any]) -> None:
    token = signed(header)
    assert mine(token) == theirs(token), header


def test_b64_and_crit_are_refused_even_where_joserfc_took_them() -> None:
    """joserfc accepts `crit: ["b64"], b64: false` here and checks the signature as if b64 were true; Loa refuses
    any extension it does not understand (RFC 7515 §4.1.11), so what is signed is never in doubt."""
    token = signed({"alg": "EdDSA", "kid": "k1", "crit": ["b64"], "b64": False})
    assert theirs(token) and not mine(token)
    assert not mine(signed({"alg": "EdDSA", "kid": "k1", "b64": True}))


@pytest.mark.parametrize("payload", [b"", b"not json", b"[1]", '{"t":"Lũ"}'.encode(), b"\xff\xfe"])
def test_any_payload_bytes_verify_the_same(payload: bytes) -> None:
    token = signed({"alg": "EdDSA", "kid": "k1"}, payload)
    assert mine(token) == theirs(token) is True
    assert parse(token).payload == payload


def test_a_signature_by_another_key_with_the_same_kid_is_refused_by_both() -> None:
    other = OKPKey.generate_key("Ed25519", parameters={"kid": "k1"})
    token = signed({"alg": "EdDSA", "kid": "k1"}, key=other)
    assert not mine(token) and not theirs(token)


# ids, not the values: the key is made anew in each process, and every pytest-xdist worker must collect the same ids
@pytest.mark.parametrize("x", [PUBLIC["x"][:-1], PUBLIC["x"] + "A", PUBLIC["x"][:-1] + "B", PUBLIC["x"] + "=", 7, None],
                         ids=["cut", "longer", "last-changed", "padded", "int", "none"])
def test_a_key_joserfc_cannot_read_is_refused(x: Any) -> None:
    jwk = {**PUBLIC, "x": x}
    with pytest.raises((JoseError, ValueError, TypeError)):
        KeySet.import_key_set({"keys": [jwk]})
    with pytest.raises(JwsError):
        read_key(jwk)


@pytest.mark.parametrize("members", [
    {"use": "sig"}, {"use": "enc"}, {"use": 5}, {"use": None}, {"use": "other"},
    {"key_ops": ["verify"]}, {"key_ops": ["sign", "verify"]}, {"key_ops": ["encrypt"]}, {"key_ops": []},
    {"key_ops": "verify"}, {"key_ops": "sign"}, {"key_ops": ["frob"]}, {"key_ops": 3},
    {"x5c": "a"}, {"x5c": ["a"]}, {"x5u": "file:///k"}, {"x5u": "https://k.example/k"}, {"x5t": 1}, {"ext": 1},
])
def test_key_members_are_read_as_joserfc_read_them(members: dict[str, Any]) -> None:
    """Refused when loaded, or loaded and then usable (or not) to verify: the same for both."""
    jwk = {**PUBLIC, **members}
    try:
        theirs_key: Any = KeySet.import_key_set({"keys": [jwk]}).get_by_kid("k1")
    except (JoseError, ValueError, TypeError):
        theirs_key = None
    try:
        mine_key = read_key(jwk)
    except JwsError:
        assert theirs_key is None, members
        return
    assert theirs_key is not None, members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            jws.deserialize_compact(GOOD, theirs_key, algorithms=list(ALGORITHMS))
            theirs_verify = True
        except JoseError:
            theirs_verify = False
    assert mine_key.for_signatures == theirs_verify, members


def test_a_key_keeps_its_members_but_not_alg() -> None:
    key = read_key({**PUBLIC, "alg": "EdDSA", "loa_scope": "root"})
    assert key.kid == "k1" and key.member["loa_scope"] == "root" and "alg" not in key.member
    assert MINE.get("k1") is not None and MINE.get(1) is None and MINE.get("nope") is None
    assert B64URL  # the alphabet the one-character changes draw from is all of base64url's

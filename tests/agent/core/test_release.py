"""Release metadata as tables: versions, the signature by a trusted release key, the metadata's shape, anti-rollback,
expiry and the payload's hash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc.jwk import OKPKey

from agent.core import release
from agent.core.verify import load_trust
from tools.release import sign_release

KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "rel-1"})
OTHER = OKPKey.generate_key("Ed25519", parameters={"kid": "rel-2"})
TRUST = load_trust({"keys": [KEY.as_dict(private=False)]})
SHA = "ab" * 32
T = 1_800_000_000


def claims(**over: Any) -> dict[str, Any]:
    return release.claims_for("0.2.0", T, T + 86400, SHA, 1000) | over


def token(body: dict[str, Any] | None = None, key: OKPKey = KEY) -> bytes:
    return sign_release(key, body if body is not None else claims()).encode()


@pytest.mark.parametrize("text, parsed", [
    ("1", (1,)), ("0.2.0", (0, 2)), ("1.0", (1,)), ("1.0.0.0", (1,)), ("10.20.30", (10, 20, 30)),
    ("", None), ("v1.0", None), ("1.0.0.0.0", None), ("01.2", None), ("1..2", None), ("1.2-rc1", None),
    ("١.٢", None), (None, None), (3, None), ("1234567.0", None),
])
def test_versions_are_one_to_four_dotted_numbers(text: Any, parsed: tuple[int, ...] | None) -> None:
    assert release.parse_version(text) == parsed


@pytest.mark.parametrize("version, floor, is_newer", [
    ("0.2.0", "0.1.0", True), ("0.1.0", "0.1.0", False), ("0.1", "0.1.0", False), ("0.0.9", "0.1.0", False),
    ("1.0", "0.99.99", True), ("0.10", "0.9", True), ("junk", "0.1", False), ("0.1", "junk", True),
])
def test_newer_compares_numbers_not_text(version: str, floor: str, is_newer: bool) -> None:
    assert release.newer(version, floor) is is_newer


def test_a_release_signed_by_a_trusted_key_reads_back_its_metadata() -> None:
    meta = release.read_release(token(), TRUST)
    assert isinstance(meta, release.ReleaseMeta)
    assert (meta.version, meta.created_s, meta.expires_s, meta.payload_sha256, meta.kid) == ("0.2.0", T, T + 86400,
                                                                                            SHA, "rel-1")


def forged_alg() -> bytes:
    import jwt as pyjwt

    return pyjwt.encode(claims(), "a-guessable-shared-secret-0123456789", algorithm="HS256",
                        headers={"kid": "rel-1"}).encode()


def same_kid_other_key() -> bytes:
    return token(key=OKPKey.generate_key("Ed25519", parameters={"kid": "rel-1"}))


@pytest.mark.parametrize("make, code", [
    (lambda: token(key=OTHER), "release_unknown_key"),
    (same_kid_other_key, "release_bad_signature"),
    (forged_alg, "release_bad_signature"),
    (lambda: b"not a token", "release_corrupt"),
    (lambda: b"\xff\xfe.\x00.\x01", "release_corrupt"),
    (lambda: b"x" * 20000, "release_corrupt"),
    (lambda: token({"version": "0.2.0"}), "release_bad_metadata"),
    (lambda: token(claims(version="latest")), "release_bad_metadata"),
    (lambda: token(claims(typ="loa-command")), "release_bad_metadata"),
    (lambda: token(claims(extra=1)), "release_bad_metadata"),
    (lambda: token(claims(expires=T)), "release_bad_metadata"),
    (lambda: token(claims(payload={"name": "payload.tar.gz", "sha256": "AB" * 32, "bytes": 1})),
     "release_bad_metadata"),
])
def test_every_refusal_names_its_code(make: Any, code: str) -> None:
    problem = release.read_release(make(), TRUST)
    assert isinstance(problem, release.Problem) and problem.code == code, problem
    assert problem.msg and "\n" not in problem.msg


def test_a_payload_that_is_not_a_json_object_is_bad_metadata() -> None:
    import warnings

    from joserfc import jws

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = jws.serialize_compact({"alg": "EdDSA", "kid": "rel-1"}, json.dumps([1, 2]), KEY, algorithms=["EdDSA"])
    problem = release.read_release(raw.encode(), TRUST)
    assert isinstance(problem, release.Problem) and problem.code == "release_bad_metadata"


META = release.ReleaseMeta("0.2.0", T, T + 100, SHA, 1000, "rel-1")


@pytest.mark.parametrize("now_s, floor, code", [
    (T, "0.1.0", None), (T + 100, "0.1.9", None),
    (T, "0.2.0", "release_old"), (T, "0.2", "release_old"), (T, "0.3.0", "release_old"),
    (T + 101, "0.1.0", "release_expired"),
])
def test_anti_rollback_then_expiry(now_s: int, floor: str, code: str | None) -> None:
    problem = release.check_release(META, now_s=now_s, floor=floor)
    assert (problem.code if problem else None) == code


@pytest.mark.parametrize("sha, size, ok", [(SHA, 1000, True), ("cd" * 32, 1000, False), (SHA, 999, False)])
def test_the_payload_must_be_the_signed_one(sha: str, size: int, ok: bool) -> None:
    assert (release.check_payload(META, sha, size) is None) is ok


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_both_ed25519_names_verify_with_a_release_key_marked_for_one_of_them(alg: str) -> None:
    """`loa release keygen` marks its key "alg": "EdDSA"; a release signed with the newer name (RFC 9864) by the same
    key is the same signature algorithm and must install."""
    import warnings

    from joserfc import jws

    marked = load_trust({"keys": [KEY.as_dict(private=False) | {"alg": "EdDSA", "use": "sig"}]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signed = jws.serialize_compact({"alg": alg, "kid": "rel-1"}, json.dumps(claims()), KEY, algorithms=[alg])
    meta = release.read_release(signed.encode(), marked)
    assert isinstance(meta, release.ReleaseMeta) and meta.version == "0.2.0", meta

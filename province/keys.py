"""Command-signing keys: an Ed25519 signing JWK (private, 0600, never copied) and the JWK Set units trust.

A rotation takes two signed `config` commands, so units follow without a visit. Step 1 (`rotate`), signed with
the OLD key, makes units trust old + new; once every unit has acked it, step 2 (`finish_rotation`), signed with
the NEW key, makes them trust the new key only, and the new key becomes DIR/signing.jwk. A unit that missed step 1
rejects step 2 (unknown key id): send it step 1 again, then step 2.

Signing uses joserfc. Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import json
import os
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from agent.errors import ConfigError
from province.files import write_private, write_public

SIGNING = "signing.jwk"
TRUST = "trust.jwks"
NEXT = "signing.next.jwk"
RETIRED = "retired"
DEFAULT_ISSUER = "province"
ROTATION_AUDIENCE = "grp:province"


def init(directory: Path, *, force: bool = False) -> OKPKey:
    """Make a new key pair in DIR; refuses to overwrite an existing signing key unless forced."""
    if (directory / SIGNING).exists() and not force:
        raise ConfigError(f"{directory / SIGNING} already exists; pass --force only after every unit trusts a new key")
    key = _new_key()
    write_private(directory / SIGNING, json.dumps(key.as_dict(private=True), indent=2))
    write_public(directory / TRUST, json.dumps(_trust_set(key), indent=2))
    return key


def _new_key() -> OKPKey:
    return OKPKey.generate_key("Ed25519", parameters={"use": "sig", "alg": "EdDSA"}, auto_kid=True)


def _trust_set(*keys: OKPKey) -> dict[str, Any]:
    return {"keys": [k.as_dict(private=False) for k in keys]}


def load_signing(path: Path) -> OKPKey:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        key = OKPKey.import_key(data)
    except FileNotFoundError:
        raise ConfigError(f"signing key not found: {path} (make one with `loa keys init DIR`)") from None
    except (ValueError, JoseError) as exc:
        raise ConfigError(f"{path} is not an Ed25519 private JWK ({exc})") from None
    if not key.is_private or not key.kid:
        raise ConfigError(f"{path} must be a private Ed25519 JWK with a kid")
    return key


def sign_command(key: OKPKey, audience: str, cmd: str, args: dict[str, Any], *, issuer: str = DEFAULT_ISSUER,
                 lifetime_s: int = 300, now_s: int | None = None, jti: str | None = None) -> tuple[str, str]:
    """A compact JWS command; returns (token, jti)."""
    now = int(time.time()) if now_s is None else now_s
    jti = jti or uuid.uuid4().hex
    claims = {"iss": issuer, "aud": audience, "iat": now, "exp": now + lifetime_s, "jti": jti, "cmd": cmd, "args": args}
    header = {"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc prefers the newer name "Ed25519"; "EdDSA" is what most JWT libraries read
        return jwt.encode(header, claims, key, algorithms=["EdDSA"]), jti


@dataclass(frozen=True)
class RotationStep:
    """One signed `config` command of a rotation, also saved as DIR/rotate-N.jwt (for a server that publishes
    ready-made tokens) and DIR/rotate-N.args.json (for `loa send config --args`, to re-sign for late units)."""

    step: int
    token: str
    jti: str
    trust: dict[str, Any]
    token_file: Path
    args_file: Path


def rotate(directory: Path, *, audience: str = ROTATION_AUDIENCE, lifetime_s: int = 3600) -> RotationStep:
    """Step 1: a new key (DIR/signing.next.jwk, 0600) and a config command, signed with the old key, that makes
    units trust old + new; DIR/trust.jwks becomes old + new too, for units provisioned meanwhile. DIR/signing.jwk
    stays the old key until `finish_rotation`."""
    old = load_signing(directory / SIGNING)
    if (directory / NEXT).exists():
        raise ConfigError(f"a rotation is under way ({directory / NEXT}); finish it with `loa keys rotate --finish`")
    new = _new_key()
    write_private(directory / NEXT, json.dumps(new.as_dict(private=True), indent=2))
    step = _step(directory, 1, old, _trust_set(old, new), audience, lifetime_s)
    write_public(directory / TRUST, json.dumps(step.trust, indent=2))
    return step


def finish_rotation(directory: Path, *, audience: str = ROTATION_AUDIENCE, lifetime_s: int = 3600) -> RotationStep:
    """Step 2: a config command, signed with the new key, that makes units trust the new key only. The new key
    becomes DIR/signing.jwk and DIR/trust.jwks; the old private key moves to DIR/retired/ (delete it once every
    unit has acked step 2)."""
    old = load_signing(directory / SIGNING)
    if not (directory / NEXT).exists():
        raise ConfigError(f"no rotation under way in {directory} (start one with `loa keys rotate {directory}`)")
    new = load_signing(directory / NEXT)
    step = _step(directory, 2, new, _trust_set(new), audience, lifetime_s)
    (directory / RETIRED).mkdir(mode=0o700, exist_ok=True)
    os.replace(directory / SIGNING, directory / RETIRED / f"{old.kid}.jwk")
    os.replace(directory / NEXT, directory / SIGNING)
    write_public(directory / TRUST, json.dumps(step.trust, indent=2))
    return step


def _step(directory: Path, n: int, key: OKPKey, trust: dict[str, Any], audience: str, lifetime_s: int) -> RotationStep:
    token, jti = sign_command(key, audience, "config", {"trust": trust}, lifetime_s=lifetime_s)
    token_file, args_file = directory / f"rotate-{n}.jwt", directory / f"rotate-{n}.args.json"
    write_public(token_file, token + "\n")
    write_public(args_file, json.dumps({"trust": trust}))
    return RotationStep(n, token, jti, trust, token_file, args_file)

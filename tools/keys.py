"""Command-signing keys: an Ed25519 signing JWK (private, 0600, never copied) and the JWK Set units trust.

Signing uses joserfc. Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import json
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from agent.errors import ConfigError
from tools.files import write_private, write_public

SIGNING = "signing.jwk"
TRUST = "trust.jwks"
DEFAULT_ISSUER = "province"


def init(directory: Path, *, force: bool = False) -> OKPKey:
    """Make a new key pair in DIR; refuses to overwrite an existing signing key unless forced."""
    if (directory / SIGNING).exists() and not force:
        raise ConfigError(f"{directory / SIGNING} already exists; pass --force only after every unit trusts a new key")
    key = OKPKey.generate_key("Ed25519", parameters={"use": "sig", "alg": "EdDSA"}, auto_kid=True)
    write_private(directory / SIGNING, json.dumps(key.as_dict(private=True), indent=2))
    write_public(directory / TRUST, json.dumps({"keys": [key.as_dict(private=False)]}, indent=2))
    return key


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

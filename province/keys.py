"""Command-signing keys: the console's Ed25519 signing JWK (private, 0600, never copied), the offline root key
(DIR/root/root.jwk, 0600: it belongs on offline media, not on the console) and the JWK Set units trust, where each
key carries its scope (`loa_scope`, see agent.core.scopes and docs/protocol.md §7.5).

Only the root key may change what units trust. A rotation of the console key takes two `config` commands, both
signed with the root key, so units follow without a visit: step 1 (`rotate`) makes units trust old + new; once
every unit has acked it, step 2 (`finish_rotation`) makes them trust the new key only, and the new key becomes
DIR/signing.jwk. A unit that missed step 1 still accepts step 2 (the root signs both). `add_gateway` makes a
gateway's scoped key and the root-signed command that adds it. A key folder from before scopes gains its root with
`adopt_root`: one config command, signed with the console key, that units accept once.

Signing uses joserfc. Must not import the agent's adapters or runtime.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from agent.core import scopes
from agent.errors import ConfigError
from province.files import write_private, write_public

SIGNING = "signing.jwk"
ROOT = Path("root") / "root.jwk"
TRUST = "trust.jwks"
NEXT = "signing.next.jwk"
RETIRED = "retired"
GATEWAYS = "gateway"
DEFAULT_ISSUER = "province"
ROTATION_AUDIENCE = "grp:province"


def init(directory: Path, *, force: bool = False) -> OKPKey:
    """Make the console key pair and the root key pair in DIR; refuses to overwrite existing keys unless forced."""
    for existing in (directory / SIGNING, directory / ROOT):
        if existing.exists() and not force:
            raise ConfigError(f"{existing} already exists and units may trust it: to change the signing key, "
                              f"`loa keys rotate {directory}`; for new keys, choose another folder")
    key, root = _new_key(), _new_key()
    write_private(directory / SIGNING, json.dumps(key.as_dict(private=True), indent=2))
    _write_root(directory, root)
    write_public(directory / TRUST, json.dumps(_trust_set(root, key), indent=2))
    return key


def _new_key() -> OKPKey:
    return OKPKey.generate_key("Ed25519", parameters={"use": "sig", "alg": "EdDSA"}, auto_kid=True)


def _write_root(directory: Path, root: OKPKey) -> None:
    (directory / ROOT).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(directory / ROOT, json.dumps(root.as_dict(private=True), indent=2))


def _trust_set(root: OKPKey, *console: OKPKey, kept: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The root key with the root scope, the console keys with the console scope, then the keys `kept` as they are."""
    return {"keys": [_scoped(root, scopes.ROOT), *(_scoped(k, scopes.CONSOLE) for k in console), *(kept or [])]}


def _gateways(directory: Path) -> list[dict[str, Any]]:
    """The gateway keys of DIR/trust.jwks: a rotation of the console key keeps them."""
    trust = json.loads((directory / TRUST).read_text(encoding="utf-8"))
    return [k for k in trust.get("keys", []) if k.get(scopes.SCOPE) == scopes.GATEWAY]


def _scoped(key: OKPKey, scope: str) -> dict[str, Any]:
    return {**key.as_dict(private=False), scopes.SCOPE: scope}


def load_root(path: Path) -> OKPKey:
    """The offline root key, from wherever it is kept (DIR/root/root.jwk until it is moved to offline media)."""
    try:
        return load_signing(path)
    except ConfigError:
        raise ConfigError(f"the root key is needed to change what units trust: {path} is missing or unreadable "
                          f"(plug in the offline copy and pass --root PATH)") from None


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


def rotate(directory: Path, *, root: Path | None = None, audience: str = ROTATION_AUDIENCE,
           lifetime_s: int = 3600) -> RotationStep:
    """Step 1: a new key (DIR/signing.next.jwk, 0600) and a config command, signed with the root key, that makes
    units trust root + old + new; DIR/trust.jwks becomes that too, for units provisioned meanwhile. DIR/signing.jwk
    stays the old key until `finish_rotation`."""
    old, root_key = load_signing(directory / SIGNING), load_root(root or directory / ROOT)
    if (directory / NEXT).exists():
        raise ConfigError(f"a rotation is under way ({directory / NEXT}); finish it with `loa keys rotate --finish`")
    new = _new_key()
    write_private(directory / NEXT, json.dumps(new.as_dict(private=True), indent=2))
    step = _step(directory, 1, root_key, _trust_set(root_key, old, new, kept=_gateways(directory)), audience, lifetime_s)
    write_public(directory / TRUST, json.dumps(step.trust, indent=2))
    return step


def finish_rotation(directory: Path, *, root: Path | None = None, audience: str = ROTATION_AUDIENCE,
                    lifetime_s: int = 3600) -> RotationStep:
    """Step 2: a config command, signed with the root key, that makes units trust root + the new key only. The new
    key becomes DIR/signing.jwk and DIR/trust.jwks; the old private key moves to DIR/retired/ (delete it once every
    unit has acked step 2)."""
    old, root_key = load_signing(directory / SIGNING), load_root(root or directory / ROOT)
    if not (directory / NEXT).exists():
        raise ConfigError(f"no rotation under way in {directory} (start one with `loa keys rotate {directory}`)")
    new = load_signing(directory / NEXT)
    step = _step(directory, 2, root_key, _trust_set(root_key, new, kept=_gateways(directory)), audience, lifetime_s)
    (directory / RETIRED).mkdir(mode=0o700, exist_ok=True)
    os.replace(directory / SIGNING, directory / RETIRED / f"{old.kid}.jwk")
    os.replace(directory / NEXT, directory / SIGNING)
    write_public(directory / TRUST, json.dumps(step.trust, indent=2))
    return step


def adopt_root(directory: Path, *, audience: str = ROTATION_AUDIENCE, lifetime_s: int = 3600) -> RotationStep:
    """For a key folder made before scopes (a console key, no root): a root key (DIR/root/root.jwk, 0600) and one
    config command, signed with the console key, that makes units trust root + console. Units whose trust set has
    no root accept it once (agent.core.scopes); from then on only the root key changes what they trust."""
    console = load_signing(directory / SIGNING)
    if (directory / ROOT).exists():
        raise ConfigError(f"{directory / ROOT} already exists: this key folder has its root key")
    root = _new_key()
    _write_root(directory, root)
    step = _step(directory, 0, console, _trust_set(root, console), audience, lifetime_s, name="adopt-root")
    write_public(directory / TRUST, json.dumps(step.trust, indent=2))
    return step


def add_gateway(directory: Path, name: str, *, groups: tuple[str, ...] = (), levels: tuple[str, ...] = (),
                root: Path | None = None, audience: str = ROTATION_AUDIENCE, lifetime_s: int = 3600) -> RotationStep:
    """A gateway's own signing key (DIR/gateway/NAME.jwk, 0600: it goes to the gateway's host) and a config command,
    signed with the root key, that makes units trust it too, limited to `groups` and `levels` when given."""
    root_key = load_root(root or directory / ROOT)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", name):
        raise ConfigError(f"gateway name {name!r}: use lower-case letters, digits and '-'")
    path = directory / GATEWAYS / f"{name}.jwk"
    if path.exists():
        raise ConfigError(f"{path} already exists")
    key = _new_key()
    public = _scoped(key, scopes.GATEWAY) | ({scopes.GROUPS: list(groups)} if groups else {}) | (
        {scopes.LEVELS: list(levels)} if levels else {})
    if problem := scopes.member_problem(public):
        raise ConfigError(f"gateway {name}: {problem}")
    trust = json.loads((directory / TRUST).read_text(encoding="utf-8"))
    path.parent.mkdir(mode=0o700, exist_ok=True)
    write_private(path, json.dumps(key.as_dict(private=True), indent=2))
    step = _step(directory, 0, root_key, {"keys": [*trust["keys"], public]}, audience, lifetime_s, name=f"gateway-{name}")
    write_public(directory / TRUST, json.dumps(step.trust, indent=2))
    return step


def _step(directory: Path, n: int, key: OKPKey, trust: dict[str, Any], audience: str, lifetime_s: int,
          name: str = "rotate-{n}") -> RotationStep:
    token, jti = sign_command(key, audience, "config", {"trust": trust}, lifetime_s=lifetime_s)
    stem = name.format(n=n)
    token_file, args_file = directory / f"{stem}.jwt", directory / f"{stem}.args.json"
    write_public(token_file, token + "\n")
    write_public(args_file, json.dumps({"trust": trust}))
    return RotationStep(n, token, jti, trust, token_file, args_file)

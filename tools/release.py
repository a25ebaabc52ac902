"""Release keys and signed release bundles for the `update` command.

The release key is OFFLINE and distinct from the command key: a stolen command key can make units download a
bundle, but only the release key makes a unit install it. `keygen` refuses a folder that holds a command key.
A bundle (agent.adapters.system.release_bundle) is the `agent` package as payload.tar.gz plus release.jwt, the metadata
(version, created, expires, the payload's SHA-256; agent/schemas/release.json) signed with Ed25519.

Signing uses joserfc. Must not import the agent's runtime or adapters other than the bundle format.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.jwk import OKPKey

import agent
from agent.adapters.system.release_bundle import pack_payload, read_bundle, write_bundle
from agent.core import release
from agent.core.verify import load_trust
from agent.errors import ConfigError
from province.files import write_private, write_public
from province.keys import SIGNING, load_signing

RELEASE_KEY = "release.jwk"
RELEASE_TRUST = "release-trust.jwks"
DAY_S = 86400
_VERSION_LINE = re.compile(r'^__version__\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)


def keygen(directory: Path) -> OKPKey:
    """DIR/release.jwk (private, 0600) and DIR/release-trust.jwks (for units' [update] trust)."""
    if (directory / RELEASE_KEY).exists():
        raise ConfigError(f"{directory / RELEASE_KEY} already exists; units trust it, so it is never overwritten")
    if (directory / SIGNING).exists():
        raise ConfigError(f"{directory} holds a command key ({SIGNING}); keep the release key in its own, offline place")
    key = OKPKey.generate_key("Ed25519", parameters={"use": "sig", "alg": "EdDSA"}, auto_kid=True)
    write_private(directory / RELEASE_KEY, json.dumps(key.as_dict(private=True), indent=2))
    write_public(directory / RELEASE_TRUST, json.dumps({"keys": [key.as_dict(private=False)]}, indent=2))
    return key


def sign_release(key: OKPKey, claims: dict[str, Any]) -> str:
    header = {"alg": "EdDSA", "kid": key.kid, "typ": "loa-release+jwt"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc prefers the newer name "Ed25519"; "EdDSA" is what most libraries read
        return jws.serialize_compact(header, json.dumps(claims, separators=(",", ":")), key, algorithms=["EdDSA"])


@dataclass(frozen=True)
class Built:
    path: Path
    sha256: str
    version: str
    size: int
    expires_s: int


def source_version(source: Path) -> str:
    match = _VERSION_LINE.search((source / "__init__.py").read_text(encoding="utf-8"))
    if not match:
        raise ConfigError(f"{source}/__init__.py has no __version__; pass --version")
    return match.group(1)


def build(key_path: Path, *, version: str | None = None, source: Path | None = None, out: Path | None = None,
          expires_days: float = 90, notes: str = "", now_s: int | None = None) -> Built:
    """Pack the package folder, sign its metadata, write the bundle; the sha256 goes into the `update` command."""
    key = load_signing(key_path)
    src = Path(source or Path(agent.__file__).parent)
    if not (src / "__main__.py").is_file():
        raise ConfigError(f"--source {src}: not the agent package (no __main__.py)")
    version = version or source_version(src)
    if release.parse_version(version) is None:
        raise ConfigError(f"--version {version!r}: use 1 to 4 dotted numbers, e.g. 0.2.0")
    created = int(time.time()) if now_s is None else now_s
    expires = created + int(expires_days * DAY_S)
    payload = pack_payload(src, created)
    claims = release.claims_for(version, created, expires, hashlib.sha256(payload).hexdigest(), len(payload), notes)
    path = out or Path(f"loa-agent-{version}.bundle")
    write_bundle(path, sign_release(key, claims), payload, created)
    data = path.read_bytes()
    return Built(path, hashlib.sha256(data).hexdigest(), version, len(data), expires)


def inspect(bundle: Path, trust: Path | None = None) -> dict[str, Any]:
    """What a unit would see: the metadata, and (with a trust set) whether it verifies."""
    info = read_bundle(bundle)
    keys = load_trust(json.loads(trust.read_text(encoding="utf-8"))) if trust else None
    if keys is None:
        claims = json.loads(jws.extract_compact(info.token).payload)
        return {"verified": False, **claims}
    meta = release.read_release(info.token, keys)
    if isinstance(meta, release.Problem):
        return {"verified": False, "code": meta.code, "msg": meta.msg}
    problem = release.check_payload(meta, info.payload_sha256, info.payload_bytes)
    return {"verified": problem is None, **meta.as_dict(), **({"msg": problem.msg} if problem else {})}

"""Release metadata: the signed statement (a compact JWS, Ed25519, by the OFFLINE release key) that names a release's
version, its validity window and the SHA-256 of its payload; versions and the checks a unit makes before install.

Pure: the time, the anti-rollback floor and the trusted keys are given; crypto is agent.core.ed25519_jws.
Must not import adapters, the runtime or any I/O module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agent.core.ed25519_jws import ALGORITHMS, Compact, JwsError, TrustSet, parse, supported_header, verifies
from agent.core.schemas import validator

TOKEN_MEMBER = "release.jwt"  # the bundle's two members (see agent.adapters.system.release_bundle)
PAYLOAD_MEMBER = "payload.tar.gz"
TYP = "loa-release"
MAX_TOKEN_BYTES = 16384
_VERSION = re.compile(r"^(0|[1-9][0-9]{0,5})(\.(0|[1-9][0-9]{0,5})){0,3}$")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a release is refused: a machine code and one sentence for people."""

    code: str
    msg: str


@dataclass(frozen=True, slots=True)
class ReleaseMeta:
    version: str
    created_s: int
    expires_s: int
    payload_sha256: str
    payload_bytes: int
    kid: str
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "created": self.created_s, "expires": self.expires_s,
                "payload_sha256": self.payload_sha256, "payload_bytes": self.payload_bytes, "kid": self.kid}


def parse_version(text: Any) -> tuple[int, ...] | None:
    """'1.2.3' -> (1, 2, 3), trailing zeros dropped so that 1.2 == 1.2.0; None when not 1-4 dotted numbers."""
    if not isinstance(text, str) or not _VERSION.match(text):
        return None
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def newer(version: str, than: str) -> bool:
    """Whether `version` is strictly newer; an unreadable `than` counts as no floor at all."""
    mine, floor = parse_version(version), parse_version(than)
    if mine is None:
        return False
    return floor is None or mine > floor


def read_release(token: bytes, keys: TrustSet) -> ReleaseMeta | Problem:
    """Signature first (by a trusted release key), then the metadata's shape; the first failure names the code."""
    if len(token) > MAX_TOKEN_BYTES:
        return Problem("release_corrupt", f"release metadata is {len(token)} bytes, the limit is {MAX_TOKEN_BYTES}")
    try:
        compact = parse(token)
        header, claims = compact.header, json.loads(compact.payload)
    except (JwsError, ValueError, UnicodeDecodeError) as exc:
        return Problem("release_corrupt", f"release metadata is not a signed JSON document ({exc.__class__.__name__})")
    return _check_signature(compact, header, keys) or _meta(claims, str(header.get("kid")))


def _check_signature(compact: Compact, header: dict[str, Any], keys: TrustSet) -> Problem | None:
    if header.get("alg") not in ALGORITHMS:
        return Problem("release_bad_signature", f"release signed with {header.get('alg')!r}; only Ed25519 is allowed")
    kid = header.get("kid")
    key = keys.get(kid)
    if key is None:
        return Problem("release_unknown_key", f"release signed by key {kid!r}, which is not a trusted release key")
    if not supported_header(header) or not key.for_signatures:
        return Problem("release_corrupt", "the release signature cannot be checked (an unsupported header member or "
                                          "a key not for signatures)")
    if not verifies(compact, key):
        return Problem("release_bad_signature", f"the release signature does not verify with key {kid!r}")
    return None


def _meta(claims: Any, kid: str) -> ReleaseMeta | Problem:
    error = next(iter(validator("release").iter_errors(claims)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "metadata"
        return Problem("release_bad_metadata", f"release metadata {where}: {error.message}"[:300])
    if claims["expires"] <= claims["created"]:
        return Problem("release_bad_metadata", "release metadata: expires must be after created")
    payload = claims["payload"]
    return ReleaseMeta(version=claims["version"], created_s=claims["created"], expires_s=claims["expires"],
                       payload_sha256=payload["sha256"], payload_bytes=payload["bytes"], kid=kid,
                       notes=claims.get("notes", ""))


def check_release(meta: ReleaseMeta, *, now_s: int, floor: str) -> Problem | None:
    """Anti-rollback and expiry. `floor` is the newest version this unit ran and kept (or runs now)."""
    if not newer(meta.version, floor):
        return Problem("release_old", f"release {meta.version} is not newer than {floor} (anti-rollback)")
    if meta.expires_s < now_s:
        return Problem("release_expired", f"release {meta.version} expired {now_s - meta.expires_s} s ago")
    return None


def check_payload(meta: ReleaseMeta, sha256: str, size: int) -> Problem | None:
    """The payload in the bundle must be the very one the signed metadata names."""
    if sha256 != meta.payload_sha256 or size != meta.payload_bytes:
        return Problem("release_corrupt", f"the payload of release {meta.version} does not match its signed SHA-256")
    return None


def claims_for(version: str, created_s: int, expires_s: int, payload_sha256: str, payload_bytes: int,
               notes: str = "") -> dict[str, Any]:
    """The metadata a release builder signs (tools/release.py); `read_release` is its inverse."""
    body: dict[str, Any] = {"typ": TYP, "version": version, "created": created_s, "expires": expires_s,
                            "payload": {"name": PAYLOAD_MEMBER, "sha256": payload_sha256, "bytes": payload_bytes}}
    return body | ({"notes": notes} if notes else {})

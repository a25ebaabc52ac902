"""The release bundle file: an uncompressed tar of two members, `release.jwt` (metadata signed by the offline release
key) and `payload.tar.gz` (the `agent` package). Reads a bundle with limits (it is outside input until its signature
checks), unpacks the payload by checking and writing each member itself (folders and regular files under
`agent/`, plain modes; Debian 12's Python has no tarfile extraction filters), and writes bundles for `loa release build`.

Only this file imports tarfile. Must not import the core's decisions (only the member names), paho, vlc or sqlite3.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from agent.core.release import MAX_TOKEN_BYTES, PAYLOAD_MEMBER, TOKEN_MEMBER
from agent.errors import LoaError

PACKAGE = "agent"
MAX_PAYLOAD_BYTES = 256 * 1024 * 1024
MAX_FILES = 5000
_SKIP = ("__pycache__", ".pyc", ".pyo", ".mypy_cache", ".pytest_cache")


class BundleError(LoaError, ValueError):
    """A release bundle that cannot be read or unpacked as one (damaged, truncated, or not a bundle at all)."""

    code = "release_corrupt"


@dataclass(frozen=True)
class BundleInfo:
    token: bytes
    payload_sha256: str
    payload_bytes: int


def read_bundle(path: Path) -> BundleInfo:
    """The signed metadata and the payload's SHA-256 and size; nothing is unpacked."""
    try:
        with tarfile.open(path, "r:") as tar:
            token_member, payload_member = _members(tar)
            token = _read(tar, token_member)
            sha, size = _hash(tar, payload_member)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleError(f"{path.name} is not a readable release bundle ({exc.__class__.__name__}: {exc})") from None
    return BundleInfo(token, sha, size)


def _members(tar: tarfile.TarFile) -> tuple[tarfile.TarInfo, tarfile.TarInfo]:
    members: dict[str, tarfile.TarInfo] = {}
    for member in tar:  # stops after three: a bundle has two members, whatever its size
        members[member.name] = member
        if len(members) > 2:
            break
    if set(members) != {TOKEN_MEMBER, PAYLOAD_MEMBER} or not all(m.isfile() for m in members.values()):
        raise BundleError(f"a release bundle holds exactly {TOKEN_MEMBER} and {PAYLOAD_MEMBER}, not {sorted(members)}")
    token, payload = members[TOKEN_MEMBER], members[PAYLOAD_MEMBER]
    if token.size > MAX_TOKEN_BYTES or payload.size > MAX_PAYLOAD_BYTES:
        raise BundleError("a release bundle member is larger than allowed")
    return token, payload


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    f = tar.extractfile(member)
    assert f is not None  # a regular file, checked by _members
    return f.read(MAX_TOKEN_BYTES + 1)


def _hash(tar: tarfile.TarFile, member: tarfile.TarInfo) -> tuple[str, int]:
    f = tar.extractfile(member)
    assert f is not None
    digest, size = hashlib.sha256(), 0
    while block := f.read(1 << 20):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def unpack_payload(bundle: Path, dest: Path, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> int:
    """Unpack the payload (only `agent/...` regular files and folders) into `dest`; returns the number of files.
    A damaged payload is a BundleError; a full disk stays an OSError (the caller reports it as an install failure)."""
    try:
        with tarfile.open(bundle, "r:") as outer:
            _, payload_member = _members(outer)
            payload = outer.extractfile(payload_member)
            assert payload is not None
            return _unpack(payload, dest, max_bytes)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise BundleError(f"the release payload cannot be unpacked ({exc.__class__.__name__}: {exc})") from None


def _unpack(payload: IO[bytes], dest: Path, max_bytes: int) -> int:
    """Written member by member: `_check_payload` allows only folders and regular files under the package, and
    tarfile's extraction filters (`filter="data"`) are missing from the Python that Debian 12 ships (3.11.2)."""
    with tarfile.open(fileobj=payload, mode="r:gz") as tar:
        members = tar.getmembers()
        _check_payload(members, max_bytes)
        for m in members:
            target = dest / m.name
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(m)
            assert source is not None  # a regular file, checked above
            with open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            target.chmod(0o755 if m.mode & 0o100 else 0o644)  # no set-id bits, nobody else may write
    return sum(1 for m in members if m.isfile())


def _check_payload(members: list[tarfile.TarInfo], max_bytes: int) -> None:
    if len(members) > MAX_FILES:
        raise BundleError(f"the release payload has {len(members)} entries, more than {MAX_FILES}")
    if sum(m.size for m in members) > max_bytes:
        raise BundleError(f"the release payload unpacks to more than {max_bytes} bytes")
    for m in members:
        inside = m.name == PACKAGE or m.name.startswith(PACKAGE + "/")
        if not inside or not (m.isfile() or m.isdir()) or ".." in m.name.split("/"):
            raise BundleError(f"the release payload may hold only files under {PACKAGE}/, not {m.name!r}")
    if not any(m.name == f"{PACKAGE}/__main__.py" for m in members):
        raise BundleError(f"the release payload has no {PACKAGE}/__main__.py to start")


# ---- writing (for `loa release build`) ---------------------------------------------------------------------------


def pack_payload(package_dir: Path, mtime: int) -> bytes:
    """A gzipped tar of the package folder as `agent/...`, without caches; same input, same bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=9) as tar:
        for path in _package_files(package_dir):
            info = tar.gettarinfo(str(path), arcname=f"{PACKAGE}/{path.relative_to(package_dir).as_posix()}")
            _normalise(info, mtime)
            with path.open("rb") as f:
                tar.addfile(info, f)
    return buf.getvalue()


def _package_files(package_dir: Path) -> Iterator[Path]:
    for path in sorted(package_dir.rglob("*")):
        if path.is_file() and not path.is_symlink() and not any(s in path.as_posix() for s in _SKIP):
            yield path


def _normalise(info: tarfile.TarInfo, mtime: int) -> None:
    info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
    info.mode = 0o644


def write_bundle(out: Path, token: str, payload: bytes, mtime: int) -> None:
    """The bundle file: release.jwt first (so a reader finds the metadata without reading the payload)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with tarfile.open(tmp, "w:", format=tarfile.PAX_FORMAT) as tar:
        for name, data in ((TOKEN_MEMBER, token.encode()), (PAYLOAD_MEMBER, payload)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            _normalise(info, mtime)
            tar.addfile(info, io.BytesIO(data))
    tmp.replace(out)

"""The bundle file against real tar files: a round trip, and every damaged or hostile bundle refused before a file
lands outside its slot."""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
from pathlib import Path
from typing import Literal

import pytest

from agent.adapters.system.release_bundle import BundleError, pack_payload, read_bundle, unpack_payload, write_bundle
from agent.core.release import PAYLOAD_MEMBER, TOKEN_MEMBER


def package(root: Path) -> Path:
    pkg = root / "src" / "agent"
    (pkg / "core").mkdir(parents=True)
    (pkg / "__init__.py").write_text('__version__ = "9.9"\n')
    (pkg / "__main__.py").write_text("print('hi')\n")
    (pkg / "core" / "x.py").write_text("X = 'Xin chào'\n", encoding="utf-8")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "junk.pyc").write_bytes(b"\0")
    return pkg


def test_a_bundle_round_trips_and_leaves_caches_out(tmp_path: Path) -> None:
    payload = pack_payload(package(tmp_path), 1_800_000_000)
    assert payload == pack_payload(package(tmp_path / "again"), 1_800_000_000)  # same input, same bytes
    write_bundle(tmp_path / "b.bundle", "TOKEN", payload, 1_800_000_000)
    info = read_bundle(tmp_path / "b.bundle")
    assert (info.token, info.payload_sha256, info.payload_bytes) == (b"TOKEN", hashlib.sha256(payload).hexdigest(),
                                                                     len(payload))
    assert unpack_payload(tmp_path / "b.bundle", tmp_path / "out") == 3
    assert (tmp_path / "out" / "agent" / "core" / "x.py").read_text(encoding="utf-8") == "X = 'Xin chào'\n"
    assert not list((tmp_path / "out").rglob("*.pyc"))


def tar_bytes(entries: list[tuple[tarfile.TarInfo, bytes]], mode: Literal["w:gz", "w:"] = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for info, data in entries:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buf.getvalue()


def file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


MAIN = (file("agent/__main__.py"), b"")


@pytest.mark.parametrize("entries", [
    [MAIN, (file("../evil.py"), b"x")],
    [MAIN, (file("/etc/evil"), b"x")],
    [MAIN, (file("agent/../../evil"), b"x")],
    [MAIN, (file("tools/cli.py"), b"x")],
    [MAIN, (link("agent/passwd", "/etc/passwd"), b"")],
    [MAIN, (link("agent/hard", "/etc/passwd", tarfile.LNKTYPE), b"")],
    [(file("agent/__init__.py"), b"")],  # nothing to start
])
def test_a_hostile_payload_is_refused_and_writes_nothing_outside(tmp_path: Path, entries: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    bundle = tmp_path / "b.bundle"
    write_bundle(bundle, "T", tar_bytes(entries), 0)
    with pytest.raises(BundleError) as refused:
        unpack_payload(bundle, tmp_path / "out")
    assert refused.value.code == "release_corrupt"
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "evil").exists()


def with_mode(info: tarfile.TarInfo, mode: int) -> tarfile.TarInfo:
    info.mode = mode
    return info


def test_unpacked_files_get_plain_modes(tmp_path: Path) -> None:
    """No set-id bit and nothing writable by others, whatever the payload says (as tarfile's "data" filter would)."""
    bundle = tmp_path / "b.bundle"
    entries = [MAIN, (with_mode(file("agent/tool"), 0o6777), b"#!/bin/sh\n"), (with_mode(file("agent/data"), 0o666), b"x")]
    write_bundle(bundle, "T", tar_bytes(entries), 0)
    assert unpack_payload(bundle, tmp_path / "out") == 3
    assert (tmp_path / "out/agent/tool").stat().st_mode & 0o7777 == 0o755
    assert (tmp_path / "out/agent/data").stat().st_mode & 0o7777 == 0o644


def test_a_payload_that_unpacks_too_big_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "b.bundle"
    write_bundle(bundle, "T", tar_bytes([MAIN, (file("agent/big.bin"), b"\0" * 100_000)]), 0)
    with pytest.raises(BundleError, match="more than"):
        unpack_payload(bundle, tmp_path / "out", max_bytes=50_000)


def outer(tmp_path: Path, entries: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    path = tmp_path / "b.bundle"
    path.write_bytes(tar_bytes(entries, mode="w:"))
    return path


def raw(tmp_path: Path, data: bytes) -> Path:
    (tmp_path / "b.bundle").write_bytes(data)
    return tmp_path / "b.bundle"


@pytest.mark.parametrize("make", [
    lambda p: raw(p, b""),
    lambda p: raw(p, b"\x89PNG not a tar at all" * 30),
    lambda p: outer(p, [(file(TOKEN_MEMBER), b"t")]),
    lambda p: outer(p, [(file(TOKEN_MEMBER), b"t"), (file(PAYLOAD_MEMBER), b"p"), (file("extra"), b"e")]),
    lambda p: outer(p, [(file(TOKEN_MEMBER), b"t"), (link(PAYLOAD_MEMBER, "/etc/passwd"), b"")]),
    lambda p: outer(p, [(file(TOKEN_MEMBER), b"t" * 20000), (file(PAYLOAD_MEMBER), b"p")]),
])
def test_a_damaged_bundle_is_release_corrupt(tmp_path: Path, make) -> None:
    with pytest.raises(BundleError) as refused:
        read_bundle(make(tmp_path))
    assert refused.value.code == "release_corrupt" and "\n" not in str(refused.value)


def test_a_truncated_bundle_is_release_corrupt(tmp_path: Path) -> None:
    bundle = tmp_path / "b.bundle"
    pkg = package(tmp_path)
    (pkg / "noise.bin").write_bytes(random.Random(1).randbytes(60_000))  # gzip cannot shrink it
    write_bundle(bundle, "T", pack_payload(pkg, 0), 0)
    bundle.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    with pytest.raises(BundleError):
        read_bundle(bundle)
    with pytest.raises(BundleError):
        unpack_payload(bundle, tmp_path / "out")


def test_a_payload_that_is_not_gzip_is_release_corrupt(tmp_path: Path) -> None:
    bundle = tmp_path / "b.bundle"
    write_bundle(bundle, "T", b"definitely not gzip", 0)
    with pytest.raises(BundleError):
        unpack_payload(bundle, tmp_path / "out")

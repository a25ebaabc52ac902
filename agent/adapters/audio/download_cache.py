"""The AudioCache port: audio files downloaded with urllib, verified by SHA-256, kept by content hash.

Only this file does HTTP downloads for audio. Must not import the core, vlc or sqlite3 (metadata is sidecar
files, so every step is one atomic filesystem operation).

Layout under the cache root (crash-safe: a file is only ever served from objects/ and re-verified first):
  objects/<sha256>   verified content; written only by fsync + atomic rename. Its mtime is the last use
                     (a logical clock that never goes back, even if the wall clock does at boot).
  partial/<sha256>.part  an interrupted download, resumed with an HTTP Range request; never served.
  locks/<2 hex>      flock, striped by the hash's first byte: one download per hash across threads and
                     processes (lock files are never deleted, which keeps flock race-free).
  pins/<sha256>      exists = pinned (emergency audio): never evicted. A pin may precede the download.
The quota counts objects/ only; while a download runs, the cache may briefly hold quota + that file.
urllib is enough here (Range, timeouts, TLS verification) and keeps the Pi image free of extra packages.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPException, HTTPResponse
from pathlib import Path
from typing import BinaryIO

from agent.adapters.storage.durable_files import file_sha256, fsync_dir
from agent.errors import DownloadError, HashMismatch, LoaError, QuotaExceeded, StoreError

_log = logging.getLogger(__name__)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-")


class _Interrupted(Exception):
    """The link dropped mid-file: worth another try with a Range request."""


@dataclass(frozen=True)
class CacheUsage:
    bytes_used: int
    files: int
    pinned: int


def check_sha256(sha256: str) -> str:
    """The hash in canonical form (lowercase hex); a malformed one is a caller bug."""
    sha = sha256.lower()
    if not _SHA256.match(sha):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    """An exclusive lock that holds across threads and processes (each open() is its own lock owner)."""
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


class DownloadCache:
    """AudioCache port. `fetch()` blocks: the runtime calls it from a worker thread."""

    def __init__(self, root: Path, *, quota_bytes: int, timeout_s: float = 20.0, max_attempts: int = 5,
                 retry_pause_s: float = 1.0, chunk_bytes: int = 64 * 1024) -> None:
        self.root, self.quota_bytes = Path(root), quota_bytes
        self._timeout_s, self._max_attempts = timeout_s, max_attempts
        self._retry_pause_s, self._chunk_bytes = retry_pause_s, chunk_bytes
        self._objects, self._partial, self._pins, self._locks = (
            self.root / d for d in ("objects", "partial", "pins", "locks"))
        try:
            for d in (self._objects, self._partial, self._pins, self._locks):
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the audio cache in {self.root}: {exc}") from exc
        self._tidy()

    # --- the port ------------------------------------------------------------------------------

    def fetch(self, url: str, sha256: str, *, pin: bool = False) -> Path:
        sha = check_sha256(sha256)
        if pin:
            self.pin(sha)
        with _flock(self._locks / sha[:2]):
            found = self.path_for(sha)
            if found is not None:
                return found
            return self._download_verified(url, sha)

    def path_for(self, sha256: str) -> Path | None:
        sha = check_sha256(sha256)
        path = self._objects / sha
        try:
            if not path.exists():
                return None
            if file_sha256(path) != sha:  # bit rot, a bad SD card, a hand-edited file
                _log.warning("cached audio %s is corrupt; deleted", sha)
                path.unlink(missing_ok=True)
                return None
            self._touch(path)
        except OSError:
            return None  # evicted or removed under us
        return path

    def pin(self, sha256: str) -> None:
        marker = self._pins / check_sha256(sha256)
        if not marker.exists():
            marker.touch()
            fsync_dir(self._pins)

    def unpin(self, sha256: str) -> None:
        (self._pins / check_sha256(sha256)).unlink(missing_ok=True)

    def is_pinned(self, sha256: str) -> bool:
        return (self._pins / check_sha256(sha256)).exists()

    def usage(self) -> CacheUsage:
        files = self._object_files()
        pinned = sum(1 for p in files if self.is_pinned(p.name))
        return CacheUsage(sum(p.stat().st_size for p in files), len(files), pinned)

    # --- downloading ---------------------------------------------------------------------------

    def _download_verified(self, url: str, sha: str) -> Path:
        """Download (resuming a partial file), verify, and commit; a stale partial gets one fresh retry."""
        part = self._partial / f"{sha}.part"
        had_partial = part.exists() and part.stat().st_size > 0
        try:
            self._download(url, part)
        except QuotaExceeded:
            part.unlink(missing_ok=True)
            raise
        if file_sha256(part) != sha:
            part.unlink(missing_ok=True)
            if not had_partial:
                raise HashMismatch(f"{url} does not match SHA-256 {sha}; nothing kept")
            return self._download_verified(url, sha)
        return self._commit(part, sha)

    def _download(self, url: str, part: Path) -> None:
        if not url.lower().startswith(("http://", "https://")):
            raise DownloadError(f"only http and https downloads are allowed, not {url!r}")
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._download_once(url, part)
                return
            except _Interrupted as exc:
                _log.info("download of %s interrupted (%s), attempt %d", url, exc, attempt)
                if attempt < self._max_attempts:
                    time.sleep(self._retry_pause_s)
        raise DownloadError(f"download of {url} kept failing after {self._max_attempts} attempts")

    def _download_once(self, url: str, part: Path) -> None:
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=self._timeout_s) as resp:
                self._receive(resp, part, offset)
        except urllib.error.HTTPError as exc:
            self._on_http_error(exc, url)
        except LoaError:
            raise  # ours (quota, disk, bad Content-Range) are OSErrors too, but not worth a retry
        except (OSError, HTTPException) as exc:  # URLError, timeouts, resets, IncompleteRead
            raise _Interrupted(str(exc)) from exc

    def _on_http_error(self, exc: urllib.error.HTTPError, url: str) -> None:
        if exc.code == 416:  # the partial file is already whole (or bogus): verification decides
            return
        if exc.code >= 500:
            raise _Interrupted(f"HTTP {exc.code}") from exc
        raise DownloadError(f"HTTP {exc.code} {exc.reason} for {url}") from exc

    def _receive(self, resp: HTTPResponse, part: Path, offset: int) -> None:
        offset = self._resume_offset(resp, offset)
        expected = self._expected_size(resp, offset)
        with part.open("r+b" if offset else "wb") as f:
            f.seek(offset)
            f.truncate()
            written = offset + self._copy(resp, f, offset)
            f.flush()
            os.fsync(f.fileno())
        if expected is not None and written < expected:
            raise _Interrupted(f"got {written} of {expected} bytes")

    @staticmethod
    def _resume_offset(resp: HTTPResponse, offset: int) -> int:
        """Where this response starts: a server that ignores Range sends the whole file (200)."""
        if resp.status != 206:
            return 0
        match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != offset:
            raise DownloadError(f"server answered Range {offset}- with {resp.headers.get('Content-Range')!r}")
        return offset

    def _expected_size(self, resp: HTTPResponse, offset: int) -> int | None:
        length = resp.headers.get("Content-Length")
        expected = offset + int(length) if length is not None else None
        if expected is not None and expected > self.quota_bytes:
            raise QuotaExceeded(f"{expected} bytes will never fit the {self.quota_bytes}-byte audio cache")
        return expected

    def _copy(self, resp: HTTPResponse, f: BinaryIO, offset: int) -> int:
        written = 0
        while block := resp.read(self._chunk_bytes):
            try:
                written += f.write(block)
            except OSError as exc:
                raise StoreError(f"cannot write the audio cache: {exc}") from exc
            if offset + written > self.quota_bytes:
                raise QuotaExceeded(f"download exceeds the {self.quota_bytes}-byte audio cache")
        return written

    # --- committing and evicting ---------------------------------------------------------------

    def _commit(self, part: Path, sha: str) -> Path:
        """Make room, then rename into objects/ (atomic) and fsync the directory."""
        with _flock(self._locks / "commit"):
            try:
                self._make_room(part.stat().st_size)
            except QuotaExceeded:
                part.unlink(missing_ok=True)
                raise
            target = self._objects / sha
            os.replace(part, target)
            fsync_dir(self._objects)
            self._touch(target)
        return target

    def _make_room(self, size: int) -> None:
        """Evict least recently used, unpinned objects until `size` more bytes fit the quota."""
        files = sorted(self._object_files(), key=lambda p: p.stat().st_mtime_ns)
        used = sum(p.stat().st_size for p in files)
        for victim in (p for p in files if not self.is_pinned(p.name)):
            if used + size <= self.quota_bytes:
                break
            used -= victim.stat().st_size
            victim.unlink(missing_ok=True)
            _log.info("evicted cached audio %s", victim.name)
        if used + size > self.quota_bytes:
            raise QuotaExceeded(f"no room for {size} bytes: the rest of the audio cache is pinned")

    def _touch(self, path: Path) -> None:
        """Mark a use: mtime = max(now, newest + 1 ns), so LRU order survives a wall clock that jumps back."""
        newest = max((p.stat().st_mtime_ns for p in self._object_files()), default=0)
        stamp = max(time.time_ns(), newest + 1)
        os.utime(path, ns=(stamp, stamp))

    def _object_files(self) -> list[Path]:
        return [p for p in self._objects.iterdir() if _SHA256.match(p.name)]

    def _tidy(self) -> None:
        """At start: drop strays in objects/ and partials whose object is already whole."""
        for path in self._objects.iterdir():
            if not _SHA256.match(path.name):
                path.unlink(missing_ok=True)
        for part in self._partial.glob("*.part"):
            if (self._objects / part.stem).exists():
                part.unlink(missing_ok=True)

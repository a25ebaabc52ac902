"""The AudioCache port: audio files downloaded over http/https, verified by SHA-256, kept by content hash.

Downloads go through agent.adapters.audio.checked_http: the unit's source policy judges the URL and every redirect
hop, and each download has one overall deadline. Must not import vlc or sqlite3, nor any of the core but its pure
source policy (metadata is sidecar files, so every step is one atomic filesystem operation).

Layout under the cache root (crash-safe: a file is only ever served from objects/ and re-verified first):
  objects/<sha256>   verified content; written only by fsync + atomic rename. Its mtime is the last use
                     (a logical clock that never goes back, even if the wall clock does at boot).
  partial/<sha256>.part  an interrupted download, resumed with an HTTP Range request; never served.
  locks/<sha256>     flock: one download per hash across threads and processes, never one hash behind another's
                     slow download (an emergency's audio must not wait). A lock file is deleted only by the
                     holder of its lock, and a taker checks it still holds the file on disk (see _flock).
  pins/<sha256>      exists = pinned (emergency audio): not evicted while the pin is fresh (its mtime, refreshed by
                     every pin, is younger than pin_days) and pinned bytes stay within pinned_share of the quota;
                     beyond that the oldest pins lapse, so pins can never push new audio out. A pin may precede
                     the download; `unpin` removes it.
The quota counts objects/ only; while a download runs, the cache may briefly hold quota + that file.
The standard library is enough here (Range, timeouts, TLS verification) and keeps the Pi image free of extra packages.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import BinaryIO

from agent.adapters.audio.checked_http import Deadline, Opened, open_checked
from agent.adapters.storage.durable_files import file_sha256, fsync_dir
from agent.core.sources import ANY_HOST, SourcePolicy
from agent.errors import DownloadError, HashMismatch, LoaError, QuotaExceeded, StoreError

_log = logging.getLogger(__name__)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-")
CLOCK_FLOOR_NS = 1_735_689_600 * 10**9  # 2025-01-01: a wall clock before it has not been set since boot


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
    """An exclusive lock that holds across threads and processes (each open() is its own lock owner). A holder may
    delete the file; a taker then holds a lock on a deleted file, sees it, and takes the new one instead."""
    while True:
        with path.open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                same = os.stat(path).st_ino == os.fstat(f.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                yield
                return


class DownloadCache:
    """AudioCache port. `fetch()` blocks: the runtime calls it from a worker thread. `deadline_s` bounds one whole
    fetch, retries included (audio passes `sources.download_deadline_s`; the default suits a release bundle on 4G)."""

    def __init__(self, root: Path, *, quota_bytes: int, timeout_s: float = 20.0, max_attempts: int = 5,
                 retry_pause_s: float = 1.0, chunk_bytes: int = 64 * 1024, deadline_s: float = 3600.0,
                 policy: SourcePolicy = ANY_HOST, pin_days: float = 30.0, pinned_share: float = 0.5) -> None:
        self.root, self.quota_bytes = Path(root), quota_bytes
        self._timeout_s, self._max_attempts = timeout_s, max_attempts
        self._deadline_s, self._policy = deadline_s, policy
        self._pin_ns, self._pinned_share = int(pin_days * 86400e9), pinned_share
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
        deadline = Deadline.after(self._deadline_s, f"the download of {url}")  # waiting for the lock counts too
        lock = self._locks / sha
        with _flock(lock):
            try:
                return self.path_for(sha) or self._download_verified(url, sha, deadline)
            finally:
                lock.unlink(missing_ok=True)  # while held: one lock file per download in progress, not per hash ever

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
        """Pin, or refresh a pin's age: it lapses pin_days after the last pin."""
        marker = self._pins / check_sha256(sha256)
        fresh = not marker.exists()
        marker.touch()
        if fresh:
            fsync_dir(self._pins)

    def unpin(self, sha256: str) -> None:
        (self._pins / check_sha256(sha256)).unlink(missing_ok=True)

    def is_pinned(self, sha256: str) -> bool:
        """A pin that exists and has not lapsed (pin_days after it was last pinned). A unit has no battery-backed
        clock: while the clock, or the pin's stamp, is before CLOCK_FLOOR_NS, the pin's age is unknown and it holds."""
        try:
            pinned_ns = (self._pins / check_sha256(sha256)).stat().st_mtime_ns
        except FileNotFoundError:
            return False
        now = time.time_ns()
        if now < CLOCK_FLOOR_NS or pinned_ns < CLOCK_FLOOR_NS:
            return True
        return now - pinned_ns < self._pin_ns

    def usage(self) -> CacheUsage:
        files = self._object_files()
        pinned = sum(1 for p in files if self.is_pinned(p.name))
        return CacheUsage(sum(p.stat().st_size for p in files), len(files), pinned)

    # --- downloading ---------------------------------------------------------------------------

    def _download_verified(self, url: str, sha: str, deadline: Deadline) -> Path:
        """Download (resuming a partial file), verify, and commit; a stale partial gets one fresh retry."""
        part = self._partial / f"{sha}.part"
        had_partial = part.exists() and part.stat().st_size > 0
        try:
            self._download(url, part, deadline)
        except QuotaExceeded:
            part.unlink(missing_ok=True)
            raise
        if file_sha256(part) != sha:
            part.unlink(missing_ok=True)
            if not had_partial:
                raise HashMismatch(f"{url} does not match SHA-256 {sha}; nothing kept")
            return self._download_verified(url, sha, deadline)
        return self._commit(part, sha)

    def _download(self, url: str, part: Path, deadline: Deadline) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._download_once(url, part, deadline)
                return
            except _Interrupted as exc:
                _log.info("download of %s interrupted (%s), attempt %d", url, exc, attempt)
                if attempt < self._max_attempts:
                    time.sleep(min(self._retry_pause_s, deadline.timeout(self._retry_pause_s)))
        raise DownloadError(f"download of {url} kept failing after {self._max_attempts} attempts")

    def _download_once(self, url: str, part: Path, deadline: Deadline) -> None:
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            opened = open_checked(url, self._policy, stream=False, deadline=deadline, per_read_s=self._timeout_s,
                                  headers=headers)
            try:
                if self._status_ok(opened):
                    self._receive(opened, part, offset, deadline)
            finally:
                opened.close()
        except LoaError:
            raise  # ours (policy, deadline, quota, disk, bad Content-Range) are OSErrors too, but not worth a retry
        except (OSError, HTTPException) as exc:  # refused connections, timeouts, resets, IncompleteRead
            raise _Interrupted(str(exc)) from exc

    @staticmethod
    def _status_ok(opened: Opened) -> bool:
        status = opened.response.status
        if status == 416:  # the partial file is already whole (or bogus): verification decides
            return False
        if status >= 500:
            raise _Interrupted(f"HTTP {status}")
        if status >= 300:
            raise DownloadError(f"HTTP {status} {opened.response.reason} for {opened.url}")
        return True

    def _receive(self, opened: Opened, part: Path, offset: int, deadline: Deadline) -> None:
        offset = self._resume_offset(opened, offset)
        expected = self._expected_size(opened, offset)
        with part.open("r+b" if offset else "wb") as f:
            f.seek(offset)
            f.truncate()
            written = offset + self._copy(opened, f, offset, deadline)
            f.flush()
            os.fsync(f.fileno())
        if expected is not None and written < expected:
            raise _Interrupted(f"got {written} of {expected} bytes")

    @staticmethod
    def _resume_offset(opened: Opened, offset: int) -> int:
        """Where this response starts: a server that ignores Range sends the whole file (200)."""
        resp = opened.response
        if resp.status != 206:
            return 0
        match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != offset:
            raise DownloadError(f"server answered Range {offset}- with {resp.headers.get('Content-Range')!r}")
        return offset

    def _expected_size(self, opened: Opened, offset: int) -> int | None:
        length = opened.response.headers.get("Content-Length")
        expected = offset + int(length) if length is not None else None
        if expected is not None and expected > self.quota_bytes:
            raise QuotaExceeded(f"{expected} bytes will never fit the {self.quota_bytes}-byte audio cache")
        return expected

    def _copy(self, opened: Opened, f: BinaryIO, offset: int, deadline: Deadline) -> int:
        written = 0
        while block := opened.read(self._chunk_bytes, deadline, self._timeout_s):
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
        kept = self._pins_kept(files)
        for victim in (p for p in files if p.name not in kept):
            if used + size <= self.quota_bytes:
                break
            used -= victim.stat().st_size
            victim.unlink(missing_ok=True)
            _log.info("evicted cached audio %s", victim.name)
        if used + size > self.quota_bytes:
            raise QuotaExceeded(f"no room for {size} bytes: the rest of the audio cache is pinned")

    def _pins_kept(self, files: list[Path]) -> set[str]:
        """The pinned objects that stay: fresh pins, newest first, within pinned_share of the quota. The others
        lapse (their markers go), so pinned audio can never leave too little room for new audio."""
        pins = sorted((p for p in self._pins.iterdir() if _SHA256.match(p.name)),
                      key=lambda p: p.stat().st_mtime_ns, reverse=True)
        sizes = {p.name: p.stat().st_size for p in files}
        kept, pinned_bytes = set(), 0
        for marker in pins:
            name = marker.name
            if self.is_pinned(name) and pinned_bytes + sizes.get(name, 0) <= self.quota_bytes * self._pinned_share:
                kept.add(name)
                pinned_bytes += sizes.get(name, 0)
            elif name in sizes or not self.is_pinned(name):  # a lapsed pin, or pinned audio beyond the share
                marker.unlink(missing_ok=True)
                _log.info("pin on cached audio %s lapsed", name)
        return kept

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
        for lock in self._locks.iterdir():
            self._drop_lock(lock)

    @staticmethod
    def _drop_lock(lock: Path) -> None:
        """Delete a lock file nobody holds (see _flock: a waiter on the deleted file takes a new one)."""
        with contextlib.suppress(OSError), lock.open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lock.unlink()

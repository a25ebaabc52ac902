"""DownloadCache against a real HTTP server on 127.0.0.1: verification, resume, kill -9, LRU with pins."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.adapters.audio.download_cache import DownloadCache
from agent.core.sources import SourcePolicy
from agent.errors import DownloadError, DownloadTimeout, HashMismatch, QuotaExceeded, RedirectRefused, SourceRefused
from agent.ports import AudioCache
from tests.agent.adapters.audio.audio_http_server import AudioHttpServer

REPO = Path(__file__).resolve().parents[4]
FETCH_IN_CHILD = (
    "import sys; from pathlib import Path; from agent.adapters.audio.download_cache import DownloadCache; "
    "DownloadCache(Path(sys.argv[1]), quota_bytes=10**7).fetch(sys.argv[2], sys.argv[3])"
)


def blob(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_at(root: Path, quota_bytes: int = 10_000_000, **options: Any) -> DownloadCache:
    return DownloadCache(root, quota_bytes=quota_bytes, timeout_s=5.0, retry_pause_s=0.01, **options)


def serve(server: AudioHttpServer, name: str, data: bytes) -> str:
    server.routes.files[name] = data
    return server.url(f"/files/{name}")


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for d in ("objects", "partial") for p in (root / d).iterdir())


def test_fetch_downloads_verifies_and_serves(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(1, 50_000)
    cache: AudioCache = cache_at(tmp_path)  # the adapter satisfies the port (checked by mypy)
    path = cache.fetch(serve(http_server, "a.mp3", data), sha(data))
    assert path.read_bytes() == data
    assert cache.path_for(sha(data)) == path
    assert cache.fetch("http://127.0.0.1:9/unused", sha(data)) == path  # cached: no download at all


def test_hash_mismatch_raises_and_keeps_nothing(http_server: AudioHttpServer, tmp_path: Path) -> None:
    cache, wanted = cache_at(tmp_path), sha(b"what the signed command named")
    with pytest.raises(HashMismatch) as caught:
        cache.fetch(serve(http_server, "evil.mp3", blob(2, 20_000)), wanted)
    assert caught.value.code == "hash_mismatch"
    assert leftovers(tmp_path) == []
    assert not list(tmp_path.rglob(f"{wanted}*"))  # no trace at all of the refused hash
    assert cache.path_for(wanted) is None


def test_cut_connection_resumes_with_a_range_request(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(3, 200_000)
    url = serve(http_server, "big.mp3", data)
    http_server.routes.cuts["big.mp3"] = [70_000, 50_000]  # two drops, then the rest
    path = cache_at(tmp_path).fetch(url, sha(data))
    assert path.read_bytes() == data
    assert [r for _, r in http_server.routes.seen] == [None, "bytes=70000-", "bytes=120000-"]


def test_server_ignoring_range_restarts_from_zero(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(4, 100_000)
    url = serve(http_server, "a.mp3", data)
    http_server.routes.cuts["a.mp3"] = [30_000]
    http_server.routes.ignore_range = True
    assert cache_at(tmp_path).fetch(url, sha(data)).read_bytes() == data


def test_download_killed_with_sigkill_is_never_served_and_resumes(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(5, 300_000)
    url = serve(http_server, "slow.mp3", data)
    http_server.routes.slow_bytes_per_s = 100_000
    child = subprocess.Popen([sys.executable, "-c", FETCH_IN_CHILD, str(tmp_path), url, sha(data)], cwd=REPO)
    part = tmp_path / "partial" / f"{sha(data)}.part"
    wait_until(lambda: part.exists() and part.stat().st_size > 50_000, timeout_s=10.0)
    child.send_signal(signal.SIGKILL)
    child.wait()
    cache = cache_at(tmp_path)
    assert cache.path_for(sha(data)) is None  # a partial file is never valid
    http_server.routes.slow_bytes_per_s = 0
    assert cache.fetch(url, sha(data)).read_bytes() == data
    offset = int(http_server.routes.seen[-1][1].removeprefix("bytes=").rstrip("-"))  # type: ignore[union-attr]  # a Range header was sent
    assert 50_000 < offset < len(data)


def wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_lru_eviction_keeps_the_quota_and_never_evicts_pinned(http_server: AudioHttpServer, tmp_path: Path) -> None:
    files = {name: blob(10 + i, 10_000) for i, name in enumerate("abcde")}
    urls = {name: serve(http_server, name, data) for name, data in files.items()}
    cache = cache_at(tmp_path, quota_bytes=30_000)
    cache.fetch(urls["a"], sha(files["a"]), pin=True)  # oldest, but pinned
    for name in "bc":
        cache.fetch(urls[name], sha(files[name]))
    cache.path_for(sha(files["b"]))  # b is now used more recently than c
    cache.fetch(urls["d"], sha(files["d"]))
    assert [cache.path_for(sha(files[n])) is not None for n in "abcd"] == [True, True, False, True]
    assert cache.usage().bytes_used <= 30_000


def test_quota_full_of_pinned_entries_refuses_and_keeps_them(http_server: AudioHttpServer, tmp_path: Path) -> None:
    files = {name: blob(20 + i, 10_000) for i, name in enumerate("abc")}
    cache = cache_at(tmp_path, quota_bytes=25_000, pinned_share=1.0)  # a unit that lets pins take the whole quota
    for name in "ab":
        cache.fetch(serve(http_server, name, files[name]), sha(files[name]), pin=True)
    with pytest.raises(QuotaExceeded):
        cache.fetch(serve(http_server, "c", files["c"]), sha(files["c"]))
    assert cache.usage().pinned == 2 and cache.usage().files == 2
    assert leftovers(tmp_path) == sorted(sha(files[n]) for n in "ab")


def test_pins_persist_and_may_precede_the_download(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(30, 1000)
    cache_at(tmp_path).pin(sha(data))
    reopened = cache_at(tmp_path)
    reopened.fetch(serve(http_server, "e", data), sha(data))
    assert reopened.is_pinned(sha(data))
    reopened.unpin(sha(data))
    assert not cache_at(tmp_path).is_pinned(sha(data))


def test_corrupt_cached_file_is_deleted_not_served(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(6, 40_000)
    cache = cache_at(tmp_path)
    path = cache.fetch(serve(http_server, "a.mp3", data), sha(data))
    with path.open("r+b") as f:  # one flipped byte, as a failing SD card does
        f.seek(1234)
        f.write(bytes([data[1234] ^ 0xFF]))
    assert cache.path_for(sha(data)) is None
    assert not path.exists()


def test_http_error_and_other_schemes_are_download_errors(http_server: AudioHttpServer, tmp_path: Path) -> None:
    cache, digest = cache_at(tmp_path), sha(b"x")
    with pytest.raises(DownloadError, match="HTTP 404"):
        cache.fetch(http_server.url("/files/missing"), digest)
    with pytest.raises(DownloadError, match="only http"):
        cache.fetch(f"file://{os.devnull}", digest)
    with pytest.raises(DownloadError, match="attempts"):
        cache_at(tmp_path).fetch("http://127.0.0.1:9/refused", digest)


# ---- the source policy, redirects, the overall deadline, pins that lapse ------------------------------------------


def test_redirects_to_other_schemes_are_refused_without_a_retry(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(40, 1000)
    for name, target in [("f", f"file://{tmp_path}/secret.mp3"), ("ftp", "ftp://127.0.0.1:9/a.mp3"),
                         ("gopher", "gopher://127.0.0.1/a")]:
        http_server.routes.redirects[name] = target
        with pytest.raises(RedirectRefused, match="redirected to a refused source") as caught:
            cache_at(tmp_path).fetch(http_server.url(f"/redirect/{name}"), sha(data))
        assert caught.value.code == "redirect_refused"
    assert [p for p, _ in http_server.routes.seen] == ["/redirect/f", "/redirect/ftp", "/redirect/gopher"]


def test_redirects_stay_within_the_allow_list(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(41, 5000)
    port = http_server.server_address[1]
    http_server.routes.files["a.mp3"] = data
    http_server.routes.redirects["same"] = "/files/a.mp3"  # a relative hop on an allowed host is fine
    http_server.routes.redirects["away"] = f"http://localhost:{port}/files/a.mp3"  # the same server, another name
    policy = SourcePolicy(allowed_hosts=("127.0.0.1",))
    assert cache_at(tmp_path, policy=policy).fetch(http_server.url("/redirect/same"), sha(data)).read_bytes() == data
    with pytest.raises(RedirectRefused, match="localhost is not in"):
        cache_at(tmp_path / "b", policy=policy).fetch(http_server.url("/redirect/away"), sha(data))
    with pytest.raises(SourceRefused, match="allowed_hosts"):
        cache_at(tmp_path / "c", policy=policy).fetch(f"http://localhost:{port}/files/a.mp3", sha(data))


def test_a_trickling_download_fails_at_its_deadline(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(42, 100_000)
    http_server.routes.slow_bytes_per_s = 100  # ten bytes every 0.1 s: never a read timeout, never done
    started = time.monotonic()
    with pytest.raises(DownloadTimeout, match="deadline") as caught:
        cache_at(tmp_path, deadline_s=1.5).fetch(serve(http_server, "slow", data), sha(data))
    assert caught.value.code == "download_timeout"
    assert 1.4 < time.monotonic() - started < 2.5


def test_pins_beyond_their_share_lapse_so_new_audio_always_fits(http_server: AudioHttpServer, tmp_path: Path) -> None:
    files = {name: blob(50 + i, 10_000) for i, name in enumerate("abcd")}
    cache = cache_at(tmp_path, quota_bytes=30_000)  # pins may hold half: 15,000 bytes
    for name in "ab":
        cache.fetch(serve(http_server, name, files[name]), sha(files[name]), pin=True)
    for name in "cd":
        cache.fetch(serve(http_server, name, files[name]), sha(files[name]))
    assert [cache.path_for(sha(files[n])) is not None for n in "abcd"] == [False, True, True, True]
    assert cache.is_pinned(sha(files["b"])) and not cache.is_pinned(sha(files["a"]))


def test_pins_expire(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(60, 1000)
    cache = cache_at(tmp_path, pin_days=0.5 / 86400)  # half a second
    cache.fetch(serve(http_server, "p", data), sha(data), pin=True)
    assert cache.is_pinned(sha(data))
    time.sleep(0.6)
    assert not cache.is_pinned(sha(data))
    cache.pin(sha(data))  # pinned again (another emergency plays it): fresh again
    assert cache.is_pinned(sha(data))


def test_a_pin_stamped_by_an_unset_clock_holds(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(61, 1000)
    cache = cache_at(tmp_path, pin_days=1.0)
    cache.pin(sha(data))
    os.utime(tmp_path / "pins" / sha(data), (86400, 86400))  # pinned at boot, before the clock was set (1970)
    assert cache.is_pinned(sha(data))
    os.utime(tmp_path / "pins" / sha(data), (time.time() - 2 * 86400,) * 2)  # a real stamp two days old
    assert not cache.is_pinned(sha(data))


def test_a_vietnamese_file_name_downloads(http_server: AudioHttpServer, tmp_path: Path) -> None:
    data = blob(62, 2000)
    http_server.routes.files["b%E1%BA%A3n-tin.mp3"] = data  # the server sees the name quoted, as on the wire
    url = http_server.url("/files/bản-tin.mp3")
    assert cache_at(tmp_path).fetch(url, sha(data)).read_bytes() == data
    assert cache_at(tmp_path / "q").fetch(http_server.url("/files/b%E1%BA%A3n-tin.mp3"), sha(data)).read_bytes() == data

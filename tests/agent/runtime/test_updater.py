"""The update worker with real slots and a stand-in cache: each step answers with the event the core expects,
failures keep their machine code, and a restart is asked for only after the marker is on disk."""

from __future__ import annotations

import queue
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.adapters.system.release_bundle import pack_payload, read_bundle, write_bundle
from agent.adapters.system.release_slots import ReleaseSlots
from agent.core.effects import FetchRelease, InstallRelease, RollBack, StartTrial
from agent.core.events import Event, ReleaseFetched, ReleaseInstalled, ReleaseStepFailed
from agent.errors import HashMismatch
from agent.runtime.updater import Updater
from tests.agent.adapters.system.test_release_bundle import package


class Cache:
    def __init__(self, path: Path | None) -> None:
        self.path = path

    def fetch(self, url: str, sha256: str, *, pin: bool = False) -> Path:
        if self.path is None:
            raise HashMismatch(f"{url} does not match SHA-256 {sha256}; nothing kept")
        return self.path


def worker(tmp_path: Path, cache: Cache) -> tuple[Updater, queue.Queue[Event | str]]:
    out: queue.Queue[Event | str] = queue.Queue()
    deliver: Callable[[Callable[[int], Event]], None] = lambda make: out.put(make(1))
    slots = ReleaseSlots(tmp_path / "releases")
    return Updater(slots, cache, read_bundle, deliver, lambda: out.put("restart"), max_bytes=10**7), out


def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "b.bundle"
    write_bundle(path, "TOKEN", pack_payload(package(tmp_path), 0), 0)
    return path


def test_fetch_then_install_answer_with_events_and_the_bundle_is_dropped(tmp_path: Path) -> None:
    path = bundle(tmp_path)
    updater, out = worker(tmp_path, Cache(path))
    updater.handle(FetchRelease("u1", "http://x/b", "ab" * 32))
    fetched: Any = out.get(timeout=5)
    assert isinstance(fetched, ReleaseFetched) and fetched.token == b"TOKEN" and fetched.update_id == "u1"
    updater.handle(InstallRelease("u1", "a", {"version": "0.2.0"}))
    assert out.get(timeout=5) == ReleaseInstalled(1, "u1", "a")
    assert not path.exists() and (tmp_path / "releases" / "a" / "release.json").is_file()


def test_a_failed_download_keeps_its_code(tmp_path: Path) -> None:
    updater, out = worker(tmp_path, Cache(None))
    updater.handle(FetchRelease("u1", "http://x/b", "ab" * 32))
    failed: Any = out.get(timeout=5)
    assert isinstance(failed, ReleaseStepFailed) and (failed.update_id, failed.code) == ("u1", "hash_mismatch")


def test_a_restart_comes_after_the_marker_is_written(tmp_path: Path) -> None:
    updater, out = worker(tmp_path, Cache(None))
    marker = {"jti": "u1", "version": "0.2.0", "slot": "a", "previous": "base", "state": "pending"}
    updater.handle(StartTrial(marker))
    assert out.get(timeout=5) == "restart"
    assert ReleaseSlots(tmp_path / "releases").read_trial() == marker
    updater.handle(RollBack({"jti": "u1", "code": "update_check_failed"}))
    assert out.get(timeout=5) == "restart"
    assert (ReleaseSlots(tmp_path / "releases").read_outcome() or {}).get("code") == "update_check_failed"

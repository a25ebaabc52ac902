"""Carries out the update effects off the loop thread, one at a time and in order: downloads a bundle into the
verified cache and reads it, unpacks it into a slot, writes or removes the trial and outcome markers, and stops the
agent when a restart is due (agent.app.launcher, or systemd running it, starts it again in the right slot). Answers go
back to the loop as events.

Must not import paho, vlc, sqlite3 or tarfile; it talks to the cache and the slots through the objects it is given.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import assert_never

from agent.core.effects import (
    ClearOutcome,
    FetchRelease,
    InstallRelease,
    KeepRelease,
    RollBack,
    StartTrial,
    UpdateEffect,
)
from agent.core.events import Event, ReleaseFetched, ReleaseInstalled, ReleaseStepFailed
from agent.errors import LoaError
from agent.ports import BundleCache, BundleReader, ReleaseSlots

log = logging.getLogger("loa.agent")
Deliver = Callable[[Callable[[int], Event]], None]  # hands an event factory (given the time) to the loop


class Updater:
    def __init__(self, slots: ReleaseSlots, cache: BundleCache, read_bundle: BundleReader, deliver: Deliver,
                 restart: Callable[[], None], *, max_bytes: int) -> None:
        self.slots, self.cache, self.read_bundle, self.deliver, self.restart = slots, cache, read_bundle, deliver, restart
        self.max_bytes = max_bytes
        self._bundles: dict[str, Path] = {}
        self._jobs: queue.Queue[UpdateEffect | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="update", daemon=True)
        self._thread.start()

    def handle(self, effect: UpdateEffect) -> None:
        self._jobs.put(effect)

    def close(self) -> None:
        self._jobs.put(None)

    def _work(self) -> None:
        while (effect := self._jobs.get()) is not None:
            try:
                self._do(effect)
            except LoaError as exc:
                self._failed(effect, exc.code, str(exc))
            except OSError as exc:  # a full disk or a vanished folder: a clear failure, never a dead worker
                self._failed(effect, "install_failed", f"{exc.strerror or exc}")

    def _do(self, e: UpdateEffect) -> None:
        match e:
            case FetchRelease(update_id=uid, url=url, sha256=sha):
                self._fetch(uid, url, sha)
            case InstallRelease(update_id=uid, slot=slot, meta=meta):
                self._install(uid, slot, meta)
            case StartTrial(marker=marker):
                self.slots.write_trial(marker)
                self.restart()
            case KeepRelease():
                self.slots.clear_trial()
            case RollBack(outcome=outcome):
                self._roll_back(outcome)
            case ClearOutcome():
                self.slots.clear_outcome()
            case _:
                assert_never(e)

    def _fetch(self, uid: str, url: str, sha: str) -> None:
        path = self.cache.fetch(url, sha)
        try:
            info = self.read_bundle(path)
        except LoaError:
            path.unlink(missing_ok=True)
            raise
        self._bundles[uid] = path
        self.deliver(lambda now: ReleaseFetched(now, uid, info.token, info.payload_sha256, info.payload_bytes))

    def _install(self, uid: str, slot: str, meta: dict[str, object]) -> None:
        bundle = self._bundles.pop(uid)
        try:
            self.slots.install(slot, bundle, dict(meta), max_bytes=self.max_bytes)
        finally:
            bundle.unlink(missing_ok=True)  # unpacked or refused, the bundle is not needed again
        self.deliver(lambda now: ReleaseInstalled(now, uid, slot))

    def _roll_back(self, outcome: dict[str, object]) -> None:
        try:
            self.slots.write_outcome(outcome)
        finally:
            self.restart()  # with or without the outcome, the launcher rolls back a trial that did not end well

    def _failed(self, effect: UpdateEffect, code: str, msg: str) -> None:
        uid = _update_id(effect)
        log.error("update step %s failed: %s", type(effect).__name__, msg)
        if uid:
            self.deliver(lambda now: ReleaseStepFailed(now, uid, code, msg))


def _update_id(effect: UpdateEffect) -> str | None:
    match effect:
        case FetchRelease(update_id=uid) | InstallRelease(update_id=uid):
            return uid
        case StartTrial(marker=marker):
            jti = marker.get("jti")
            return jti if isinstance(jti, str) else None
        case KeepRelease() | RollBack() | ClearOutcome():
            return None  # these carry no update id: their failure is only logged
        case _:
            assert_never(effect)

"""Sender threads: a bounded number of calls to the HTTTN at once, each taking the next due outbox item; a failed
call waits a capped exponential backoff with full jitter (so a recovering HTTTN is not hit by every item at once).
Must not import the console."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from tools.gateway.north import LoginFailed, NoCredentials, North, Outcome, Result
from tools.gateway.outbox import Item, Outbox

Say = Callable[..., None]


def backoff_ms(attempts: int, base_s: float, cap_s: float) -> int:
    """Full jitter: uniform in [0, min(cap, base * 2^attempts)]."""
    return int(random.uniform(0, min(cap_s, base_s * 2 ** min(attempts, 30))) * 1000)


class Senders:
    def __init__(self, outbox: Outbox, north: North, say: Say, *, concurrency: int, backoff_base_s: float,
                 backoff_cap_s: float) -> None:
        self.outbox, self.north, self.say = outbox, north, say
        self.stop = threading.Event()
        self._backoff = (backoff_base_s, backoff_cap_s)
        self._reachable = True
        self._without_credentials: set[str] = set()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"htttn-{i}", daemon=True) for i in range(concurrency)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def close(self) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(self.north.profile.http.timeout_s + 5)

    def _run(self) -> None:
        while not self.stop.is_set():
            item = self.outbox.claim(_now_ms())
            if item is None:
                self.stop.wait(0.1)
                continue
            try:
                self._settle(item, self._send(item))
            except NoCredentials as exc:
                self._no_credentials(item, str(exc))

    def _send(self, item: Item) -> Result:
        try:
            return self.north.post(self.north.profile.path(item.kind), item.body, item.login)
        except NoCredentials:
            raise
        except LoginFailed as exc:
            return Result(Outcome.RETRY, str(exc))

    def _no_credentials(self, item: Item, reason: str) -> None:
        """Kept, not sent, and said once per unit (not once per ping)."""
        self.outbox.refused(item, _now_ms(), reason)
        with self._lock:
            first = item.login not in self._without_credentials
            self._without_credentials.add(item.login)
        if first:
            self.say("gateway_no_credentials", unit=item.login)

    def _settle(self, item: Item, result: Result) -> None:
        now = _now_ms()
        self._note_reachable(result.outcome is not Outcome.RETRY, result.reason)
        if result.outcome is Outcome.TAKEN:
            self.outbox.sent(item, now)
        elif result.outcome is Outcome.REFUSED:
            self.outbox.refused(item, now, result.reason)
            self.say("gateway_refused", kind=item.kind, reason=result.reason, body=_short(item.body))
        else:
            self.outbox.retry(item, now + backoff_ms(item.attempts, *self._backoff), result.reason)

    def _note_reachable(self, ok: bool, reason: str) -> None:
        """One staff line when the HTTTN stops answering and one when it is back, not one per call."""
        with self._lock:
            changed, self._reachable = ok != self._reachable, ok
        if changed:
            self.say("gateway_htttn_back" if ok else "gateway_htttn_down", url=self.north.base_url, reason=reason)


def _short(body: dict[str, Any]) -> str:
    text = str(body)
    return text if len(text) <= 160 else text[:157] + "..."


def _now_ms() -> int:
    return int(time.time() * 1000)

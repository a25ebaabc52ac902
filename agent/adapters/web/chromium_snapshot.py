"""The Camera port: renders the kiosk page in a one-shot headless Chromium and captures a small JPEG of it.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: fd 3 in, fd 4 out, messages
ended by NUL), so no debugging port is ever opened. The page is laid out at the board's own size and captured scaled
down, trying smaller sizes and qualities until the image fits the byte budget the core gives. One worker thread;
results go back to the loop as SnapshotTaken events. The only module that runs Chromium.
Must not import the core's decisions, the runtime, or any other adapter.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import select
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Self

from agent.core.events import Event, SnapshotTaken
from agent.errors import LoaError

Deliver = Callable[[Callable[[int], Event]], None]
# (width px, JPEG quality), best first: the first step whose JPEG fits the reply's size cap is sent (the sizes of
# text and emergency screens are in docs/eboard-and-status-page.md).
LADDER = ((640, 60), (640, 40), (640, 25), (480, 40), (480, 30), (400, 30), (320, 30), (240, 25))
FLAGS = ("--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
         "--remote-debugging-pipe")
READY_JS = "document.documentElement.dataset.ready === '1'"


class SnapshotError(LoaError, RuntimeError):
    code = "snapshot_failed"


@dataclass(frozen=True)
class Shot:
    data: bytes
    width: int
    height: int


class ChromiumCamera:
    def __init__(self, browser: str, url: str, size: tuple[int, int], deliver: Deliver, timeout_s: float = 20.0) -> None:
        self.browser, self.url, self.size, self.deliver, self.timeout_s = browser, url, size, deliver, timeout_s
        self._jobs: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="snapshot", daemon=True)
        self._thread.start()

    def take(self, request_id: str, max_bytes: int) -> None:
        self._jobs.put((request_id, max_bytes))

    def close(self) -> None:
        self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            rid, budget = job
            try:
                shot = self.capture(budget)
            except (LoaError, OSError) as exc:
                self.deliver(partial(_failed, rid, str(exc)))
            else:
                self.deliver(partial(_taken, rid, shot))

    def capture(self, max_bytes: int) -> Shot:
        """The best image of the page that fits in max_bytes (blocking; raises SnapshotError)."""
        with _Browser(self.browser, self.timeout_s) as b:
            session = b.open_page(self.url, self.size)
            for width, quality in LADDER:
                shot = b.screenshot(session, self.size, width, quality)
                if len(shot.data) <= max_bytes:
                    return shot
        raise SnapshotError(f"no image of the board fits in {max_bytes} bytes")


class _Browser:
    """One headless Chromium spoken to over its DevTools pipe."""

    def __init__(self, path: str, timeout_s: float) -> None:
        self.path, self.deadline = path, time.monotonic() + timeout_s
        self._id, self._buf, self.pid = 0, b"", 0

    def __enter__(self) -> Self:
        self._profile = tempfile.mkdtemp(prefix="loa-snapshot-")
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()
        argv = [self.path, *FLAGS, *(["--no-sandbox"] if os.geteuid() == 0 else []),
                f"--user-data-dir={self._profile}", "about:blank"]
        try:
            self.pid = os.posix_spawn(self.path, argv, dict(os.environ), file_actions=_child_fds(to_child, from_child))
        except OSError as exc:
            raise SnapshotError(f"cannot start {self.path}: {exc.strerror or exc}") from None
        finally:
            os.close(to_child)
            os.close(from_child)
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.call("Browser.close", {}, wait=False)
        except (SnapshotError, OSError):
            pass
        self._reap()
        for fd in (self._in, self._out):
            os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)

    def _reap(self) -> None:
        for _ in range(50):
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                return
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)

    def open_page(self, url: str, size: tuple[int, int]) -> str:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = str(self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"])
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False}, session)
        self.call("Page.navigate", {"url": url}, session)
        while not self.call("Runtime.evaluate", {"expression": READY_JS}, session)["result"].get("value"):
            if time.monotonic() > self.deadline:  # the kiosk page marks itself ready once it has drawn the board
                raise SnapshotError(f"the kiosk page at {url.split('/kiosk/')[0]} never became ready")
            time.sleep(0.1)
        return session

    def screenshot(self, session: str, size: tuple[int, int], width: int, quality: int) -> Shot:
        scale = min(1.0, width / size[0])
        clip = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": scale}
        result = self.call("Page.captureScreenshot", {"format": "jpeg", "quality": quality, "clip": clip}, session)
        return Shot(base64.b64decode(result["data"]), round(size[0] * scale), round(size[1] * scale))

    def call(self, method: str, params: dict[str, Any], session: str = "", wait: bool = True) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._out, json.dumps(msg).encode() + b"\0")
        return self._answer(self._id, method) if wait else {}

    def _answer(self, wanted: int, method: str) -> dict[str, Any]:
        while True:
            reply = json.loads(self._message(method))
            if reply.get("id") != wanted:
                continue  # an event, or the answer to a call nobody waits for
            if "error" in reply:
                raise SnapshotError(f"chromium: {method}: {reply['error'].get('message', reply['error'])}")
            return dict(reply.get("result", {}))

    def _message(self, method: str) -> bytes:
        while b"\0" not in self._buf:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise SnapshotError(f"chromium did not answer {method} in time")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise SnapshotError(f"chromium closed its pipe during {method}")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return raw


def _taken(request_id: str, shot: Shot, now: int) -> SnapshotTaken:
    return SnapshotTaken(now, request_id, "image/jpeg", shot.data, shot.width, shot.height)


def _failed(request_id: str, error: str, now: int) -> SnapshotTaken:
    return SnapshotTaken(now, request_id, error=error)


def _child_fds(to_child: int, from_child: int) -> list[tuple[Any, ...]]:
    """Chromium reads commands on fd 3 and writes answers on fd 4; its own output goes nowhere."""
    return [(os.POSIX_SPAWN_DUP2, to_child, 3), (os.POSIX_SPAWN_DUP2, from_child, 4),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]

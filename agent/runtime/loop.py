"""A small single-threaded event loop: a `selectors` poller, one timer heap, and a thread-safe post().

Every callback is guarded: an unexpected exception is logged with its traceback the first time its kind is seen,
handed to `on_error` (the agent makes it a fault in status), and the loop goes on: a bug in one callback must
never take the unit off the air. The agent runs one MQTT client on it; a simulator shard runs thousands.
Must not import paho or the core.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import queue
import selectors
import socket
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

Callback = Callable[[], None]
POSTED_SLICE_S = 0.02
log = logging.getLogger("loa.loop")


class ErrorKinds:
    """Unexpected exceptions by kind (type and the line that raised it): the first of a kind is logged with its
    traceback, the later ones only counted (a line at the 2nd, 4th, 8th... time), so a failing timer cannot flood
    the journal."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def note(self, where: str, exc: BaseException) -> str | None:
        """The kind when it is new (else None), after logging it."""
        frames = traceback.extract_tb(exc.__traceback__)
        at = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
        kind = f"{type(exc).__name__}{at}"
        count = self.counts[kind] = self.counts.get(kind, 0) + 1
        if count == 1:
            log.error("unexpected error in %s: %s (%s); going on", where, kind, exc, exc_info=exc)
            return f"{kind}: {exc}"
        if count & (count - 1) == 0:
            log.error("unexpected error %s again (%d times)", kind, count)
        return None


def _name(fn: Callback) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__


class TimerHandle:
    __slots__ = ("cancelled", "fn", "seq", "when")

    def __init__(self, when: float, seq: int, fn: Callback) -> None:
        self.when, self.seq, self.fn, self.cancelled = when, seq, fn, False

    def __lt__(self, other: TimerHandle) -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def cancel(self) -> None:
        self.cancelled = True


class Loop:
    """Callbacks run on the loop's thread only; other threads hand work over with post(). `on_error` hears of each
    new kind of unexpected exception in a callback, on the loop thread."""

    def __init__(self, on_error: Callable[[str], None] | None = None) -> None:
        self.on_error = on_error
        self.errors = ErrorKinds()
        self._selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, TimerHandle]] = []  # tuples: the heap compares in C
        self._seq = itertools.count()
        self._posted: queue.SimpleQueue[Callback] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._handlers: dict[int, list[Callback | None]] = {}
        self._selector.register(self._wake_r, selectors.EVENT_READ, self._wake_r.fileno())
        self._handlers[self._wake_r.fileno()] = [self._drain_wakeups, None]
        self._running = False
        self._owner: int | None = None  # the thread that runs the loop
        self._selecting = False
        self._end_of_turn: list[Callback] = []

    # ---- time and timers -----------------------------------------------------------------------------------

    @staticmethod
    def time() -> float:
        return time.monotonic()

    def call_at(self, when: float, fn: Callback) -> TimerHandle:
        handle = TimerHandle(when, next(self._seq), fn)
        heapq.heappush(self._timers, (when, handle.seq, handle))
        return handle

    def call_later(self, delay_s: float, fn: Callback) -> TimerHandle:
        return self.call_at(self.time() + max(0.0, delay_s), fn)

    def at_end_of_turn(self, fn: Callback) -> None:
        """Run fn once, on the loop thread, when this turn's sockets, posted work and timers are done (before the loop
        waits again): e.g. to send in one write what a turn's callbacks queued for one socket."""
        self._end_of_turn.append(fn)

    # ---- cross-thread hand-off -----------------------------------------------------------------------------

    def post(self, fn: Callback) -> None:
        """Run fn on the loop thread soon. Safe from any thread, including signal handlers."""
        self._posted.put(fn)
        if not self._selecting and threading.get_ident() == self._owner:
            return  # posted by a callback of this loop: it runs before the next wait, no wake-up byte needed
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # the loop is already awake (buffer full) or closing

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    # ---- sockets -------------------------------------------------------------------------------------------

    def add_reader(self, sock: Any, fn: Callback) -> None:
        self._set(sock, 0, fn)

    def add_writer(self, sock: Any, fn: Callback) -> None:
        self._set(sock, 1, fn)

    def remove_writer(self, sock: Any) -> None:
        self._set(sock, 1, None)

    def forget(self, fd: int) -> None:
        """Drop both handlers of a file descriptor number, read before its socket closed (a closed socket no longer
        knows its number, and the kernel may already give that number to a new socket)."""
        self._handlers.pop(fd, None)
        if fd in self._selector.get_map():
            self._selector.unregister(fd)  # the epoll side is already gone with the socket; that error is ignored

    def _set(self, sock: Any, slot: int, fn: Callback | None) -> None:
        fd = sock if isinstance(sock, int) else sock.fileno()
        if fd < 0:
            return
        pair = self._handlers.setdefault(fd, [None, None])
        pair[slot] = fn
        mask = (selectors.EVENT_READ if pair[0] else 0) | (selectors.EVENT_WRITE if pair[1] else 0)
        registered = fd in self._selector.get_map()
        if mask and registered:
            try:
                self._selector.modify(fd, mask, fd)
            except FileNotFoundError:  # the socket that had this number closed; a new one has it now
                self._selector.register(fd, mask, fd)  # (a failed modify already dropped the old entry)
        elif mask:
            self._selector.register(fd, mask, fd)
        else:
            if registered:
                self._selector.unregister(fd)
            del self._handlers[fd]

    # ---- running -------------------------------------------------------------------------------------------

    def run(self) -> None:
        self._running = True
        while self._running:
            self.run_once()

    def stop(self) -> None:
        self._running = False
        self.post(lambda: None)

    def run_once(self, max_wait_s: float = 1.0) -> None:
        self._owner = threading.get_ident()
        self._selecting = True  # set before the queue is checked: a signal handler's post() then always wakes us
        try:
            ready = self._selector.select(self._timeout(max_wait_s))
        finally:
            self._selecting = False
        for key, mask in ready:
            self._dispatch(key.data, mask)
        self._run_posted()
        self._run_due_timers()
        while self._end_of_turn:
            due, self._end_of_turn = self._end_of_turn, []
            for fn in due:
                try:
                    fn()
                except Exception as exc:  # noqa: BLE001 - logged by kind in _failed; the loop goes on
                    self._failed(fn, exc)

    def _timeout(self, max_wait_s: float) -> float:
        if not self._posted.empty():
            return 0.0
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return max_wait_s
        return min(max_wait_s, max(0.0, self._timers[0][0] - self.time()))

    def _dispatch(self, fd: int, mask: int) -> None:
        pair = self._handlers.get(fd)
        if pair and mask & selectors.EVENT_READ and pair[0]:
            try:
                pair[0]()
            except Exception as exc:  # noqa: BLE001 - logged by kind in _failed; the loop goes on
                self._failed(pair[0], exc)
        pair = self._handlers.get(fd)  # the read handler may have closed the socket
        if pair and mask & selectors.EVENT_WRITE and pair[1]:
            try:
                pair[1]()
            except Exception as exc:  # noqa: BLE001 - logged by kind in _failed; the loop goes on
                self._failed(pair[1], exc)

    def _run_posted(self) -> None:
        """In FIFO order, for at most POSTED_SLICE_S: a burst of posted work (thousands of simulated units) then
        lets due timers and the sockets have their turn before it goes on."""
        deadline = time.monotonic() + POSTED_SLICE_S
        while True:
            try:
                fn = self._posted.get_nowait()
            except queue.Empty:
                return
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - logged by kind in _failed; the loop goes on
                self._failed(fn, exc)
            if time.monotonic() > deadline:
                return

    def _run_due_timers(self) -> None:
        now = self.time()
        while self._timers and self._timers[0][0] <= now:
            handle = heapq.heappop(self._timers)[2]
            if not handle.cancelled:
                try:
                    handle.fn()
                except Exception as exc:  # noqa: BLE001 - logged by kind in _failed; the loop goes on
                    self._failed(handle.fn, exc)

    def _failed(self, fn: Callback, exc: Exception) -> None:
        kind = self.errors.note(_name(fn), exc)
        if kind is not None and self.on_error is not None:
            try:
                self.on_error(kind)
            except Exception as again:  # noqa: BLE001 - the reporter failed: logged, never raised out of the loop
                self.errors.note("on_error", again)

    def close(self) -> None:
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

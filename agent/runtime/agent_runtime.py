"""Runs one device core on the loop: turns callbacks into events, carries out the effects the core returns,
and keeps the durable outbox flowing (publish after the row is on disk, delete on PUBACK, bounded flush rate).

Must not import paho, sqlite3 or any hardware library: it talks to adapters through the ports below.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any, assert_never

from agent.core.device import Device
from agent.core.effects import (
    CancelTimer,
    ClearOutcome,
    Connect,
    Effect,
    FetchRelease,
    InstallRelease,
    KeepRelease,
    Log,
    ObserveTime,
    PlayAudio,
    Prepare,
    Publish,
    RaiseTimeFloor,
    Reboot,
    RememberCommand,
    RenewOnTime,
    RollBack,
    SaveSetting,
    SetRelay,
    SetVolume,
    StartTimer,
    StartTrial,
    StopAudio,
    Subscribe,
    TakeSnapshot,
)
from agent.core.events import (
    ClockSyncChanged,
    Event,
    Fault,
    HardwareFailed,
    LinkDown,
    LinkUp,
    MessageArrived,
    OutboxChanged,
    PlayerEvent,
    RelayObserved,
    SnapshotTaken,
    Started,
    TimerFired,
)
from agent.errors import LoaError, StoreError
from agent.ports import OnTimeLimited
from agent.runtime import pages_view
from agent.runtime.loop import Loop, TimerHandle
from agent.runtime.parts import EventFactory, Inbox, Parts
from agent.runtime.staff_log import StaffLines

log = logging.getLogger("loa.agent")
CLOCK_CHECK_S = 2.0
CLOCK_STEP_MS = 2000
REBOOT_EXIT = 194  # the agent's exit code that asks systemd to reboot the unit (agent/systemd/loa-agent.service)


class AgentRuntime:
    """`parts` are the adapters, made, started and stopped by whoever made them (the composition root, the simulator,
    a test); `inbox`, when given, is the one those parts were told to report to."""

    def __init__(self, device: Device, loop: Loop, parts: Parts, *, inbox: Inbox | None = None,
                 language: str = "vi", flush_rate_per_s: float = 20.0, clock_check_s: float = CLOCK_CHECK_S) -> None:
        self.device, self.loop, self.parts = device, loop, parts
        self.relays, self.store, self.clock = parts.relays, parts.store, parts.clock
        # decided once: a runtime-checkable Protocol's isinstance inspects the class on every call
        self._on_time_limited = parts.relays if isinstance(parts.relays, OnTimeLimited) else None
        self.link, self.player, self.preparer, self.updater = parts.link, parts.player, parts.preparer, parts.updater
        self.pages = parts.pages  # the status and kiosk pages read a view published after every event
        self.camera = parts.camera  # e-boards: snapshots of the board
        self.service = parts.service
        self.staff = StaffLines(loop, parts.staff_log, self.store_fault, language)  # journal now, the card in batches
        self._clock_check_s = clock_check_s  # how often the trusted time is asked whether it changed
        self.online = False
        self._timers: dict[str, TimerHandle] = {}
        self._event_now_ms = 0
        self._inflight: dict[int, int] = {}  # MQTT message id -> outbox row id
        self._flush_gap_s = 1.0 / flush_rate_per_s
        self._flush_timer: TimerHandle | None = None
        self._flush_sent_at = -1e9  # loop time of the last row sent (a kick waits out the gap since then)
        self._feeding = False
        self._follow_ups: deque[EventFactory] = deque()  # events to handle once the one in hand is done (deliver)
        self._internal_raised = False  # once: raising it must not loop on itself when the core is what fails
        self.exit_code = 0  # what the agent's process exits with once the loop stops (REBOOT_EXIT: reboot the unit)
        if inbox is not None:
            inbox.open_for(self)

    # ---- callbacks from adapters (already on the loop thread) -----------------------------------------------

    def start(self) -> None:
        """Ready at once, before the first connect: a unit plays its schedule and emergencies offline."""
        if self.service:
            self.service.ready("offline")
        self._verdict = self.clock.verdict()
        self._time_base_ms = self.clock.now_ms() - self._monotonic_ms()
        v = self._verdict
        self.feed(Started(self.clock.now_ms(), clock_synced=v.trusted, time_source=v.source, time_offset_ms=v.offset_ms))
        self.feed(OutboxChanged(self.clock.now_ms(), self.store.outbox_count()))
        self.loop.call_later(self._clock_check_s, self._check_clock)

    def link_up(self) -> None:
        self.online = True
        self._inflight.clear()
        self.feed(LinkUp(self.clock.now_ms()))
        self._kick_flush()
        if self.service:
            self.service.status("online")

    def link_down(self, reason: str) -> None:
        self.online = False
        self._inflight.clear()  # rows stay in the outbox and go again after the next connect: at least once
        self.feed(LinkDown(self.clock.now_ms(), reason))
        if self.service:
            self.service.status(f"offline: {' '.join(reason.split())}")  # one line: a newline ends the field

    def message(self, topic: str, payload: bytes, retained: bool) -> None:
        self.feed(MessageArrived(self.clock.now_ms(), topic, payload, retained))

    def puback(self, mid: int, refused: str = "") -> None:
        row_id = self._inflight.pop(mid, None)
        if row_id is None:
            return
        if refused:  # the broker's ACL says no: sending it again would be refused again, so it goes, and staff see why
            self.post_event(lambda now: Fault(now, "reports", True, refused))
        elif "reports" in self.device.state.faults:
            self.post_event(lambda now: Fault(now, "reports", False))
        # a row that cannot be deleted (full disk) is simply sent again later: at least once
        self._store_write(lambda: self.store.outbox_delete(row_id))
        self.feed(OutboxChanged(self.clock.now_ms(), self.store.outbox_count()))

    def _check_clock(self) -> None:
        self.check_clock()
        self.loop.call_later(self._clock_check_s, self._check_clock)

    def check_clock(self) -> None:
        """On the loop thread, also right after a time source spoke: tell the core when the trusted time changes
        (trusted or not, another source, or a step against the monotonic clock larger than CLOCK_STEP_MS)."""
        verdict, now = self.clock.verdict(), self.clock.now_ms()
        step = now - self._monotonic_ms() - self._time_base_ms
        old = self._verdict
        if verdict.trusted != old.trusted or verdict.source != old.source or abs(step) > CLOCK_STEP_MS:
            self._verdict, self._time_base_ms = verdict, self._time_base_ms + step
            self.feed(ClockSyncChanged(now, verdict.trusted, verdict.source, verdict.offset_ms, step))

    @staticmethod
    def _monotonic_ms() -> int:
        return time.monotonic_ns() // 1_000_000

    # ---- the core ------------------------------------------------------------------------------------------

    def feed(self, event: Event) -> None:
        self._feeding = True
        try:
            self._handle(event)
            while self._follow_ups:
                self._handle(self._follow_ups.popleft()(self.clock.now_ms()))
        finally:
            self._feeding = False

    def deliver(self, make: EventFactory) -> None:
        """On the loop thread only: the event is handled as soon as the one in hand is done, not behind everything
        else queued on the loop (the simulator's fakes, which share one loop with thousands of units)."""
        if self._feeding:
            self._follow_ups.append(make)
        else:
            self.feed(make(self.clock.now_ms()))

    def _handle(self, event: Event) -> None:
        self._event_now_ms = event.now_ms  # timers it asks for count from this, not from a later clock read
        try:
            effects = self.device.handle(event)
        except Exception as exc:  # noqa: BLE001 - a core bug must not take the unit off the air; logged by kind
            kind = self.loop.errors.note(f"the core, handling {type(event).__name__}", exc)
            if kind is not None:
                self.internal_fault(kind)
            return
        for effect in effects:
            self._carry_out(effect)
        if self.pages:
            self.pages.publish(pages_view.build(self.device, event.now_ms))

    def _carry_out(self, e: Effect) -> None:
        match e:
            case Publish(durable=True):
                self._queue_report(e)
            case Publish():
                if self.online and self.link:
                    self.link.publish(e.topic, e.payload, e.qos, e.retain)
            case Subscribe(topics=topics):
                if self.link:
                    self.link.subscribe(topics)
            case Connect():
                if self.link:
                    self.link.connect()
            case SetRelay(zone=zone, on=on):
                self._switch(zone, on)
            case RenewOnTime(zones=zones):
                self._renew_on_time(zones)
            case SetVolume(volume_pct=pct):
                if self.player:
                    self.player.set_volume(pct)
            case Prepare(play_id=play_id, source=source, pin=pin):
                if self.preparer:
                    self.preparer.submit(play_id, source, pin)
            case PlayAudio(play_id=play_id, media=media, volume_pct=pct):
                if self.player:
                    self._play(play_id, media, pct)
            case StopAudio(play_id=play_id):
                if self.player:
                    self._stop(play_id)
            case StartTimer(name=name, at_ms=at_ms):
                self._start_timer(name, at_ms)
            case CancelTimer(name=name):
                self._cancel_timer(name)
            case RememberCommand(jti=jti, exp_s=exp_s):
                self._store_write(lambda: self.store.remember_command(jti, exp_s, self._event_now_ms // 1000))
            case SaveSetting(key=key, value=value):
                self._store_write(lambda: self.store.save_setting(key, value))
            case Log(level=level, key=key, params=params):
                self.staff.line(self._event_now_ms, level, key, dict(params))
            case ObserveTime(source=source, true_ms=true_ms, error_ms=error_ms):
                self.clock.observe(source, true_ms, error_ms)
                self.loop.call_later(0, self.check_clock)
            case RaiseTimeFloor(floor_ms=floor_ms):
                self.clock.raise_floor(floor_ms)
            case FetchRelease() | InstallRelease() | StartTrial() | KeepRelease() | RollBack() | ClearOutcome():
                if self.updater:
                    self.updater.handle(e)
            case TakeSnapshot(request_id=rid, max_bytes=max_bytes):
                self._snapshot(rid, max_bytes)
            case Reboot():  # the loop stops, the parts stop in reverse (relays off, goodbye), then the process exits
                self.exit_code = REBOOT_EXIT
                self.loop.post(self.loop.stop)
            case _:
                assert_never(e)

    def _renew_on_time(self, zones: tuple[int, ...]) -> None:
        """Relays without a limit of their own need nothing; a renewal that fails is retried at the next period."""
        if self._on_time_limited is not None:
            try:
                self._on_time_limited.emergency_renew(zones)
            except LoaError as exc:
                log.error("%s", exc)

    def post_event(self, make: Any) -> None:
        """From any thread: build the event with the time it is handled at, on the loop thread."""
        self.loop.post(lambda: self.feed(make(self.clock.now_ms())))

    # ---- hardware: an adapter's error is the core's fault, never an exit ------------------------------------

    def _switch(self, zone: int, on: bool) -> None:
        try:
            self.relays.set(zone, on)
        except LoaError as exc:
            self._hardware_failed("relays", "set", exc, zone=zone)
            return
        self.post_event(lambda now: self._read_back(now, zone))

    def _read_back(self, now: int, zone: int) -> Event:
        try:
            on = self.relays.read(zone)
        except LoaError as exc:
            return HardwareFailed(now, "relays", "read", str(exc), zone=zone)
        self._recovered("relay_io")
        return RelayObserved(now, zone, on)

    def _play(self, play_id: str, media: str, volume_pct: int) -> None:
        """The player's own failures come later as events; this is the call itself raising (a dead output)."""
        assert self.player is not None
        try:
            self.player.play(play_id, media, volume_pct=volume_pct, on_event=self._player_event)
        except LoaError as exc:
            self._hardware_failed("player", "play", exc, play_id=play_id)
            return
        self._recovered("player")

    def _stop(self, play_id: str) -> None:
        assert self.player is not None
        try:
            self.player.stop(play_id)
        except LoaError as exc:
            self._hardware_failed("player", "stop", exc, play_id=play_id)
            return
        self._recovered("player")

    def _hardware_failed(self, part: str, op: str, exc: LoaError, *, zone: int = 0, play_id: str = "") -> None:
        """Handled right after the event in hand; the effects after this one still run (an emergency's audio too)."""
        self.deliver(lambda now: HardwareFailed(now, part, op, str(exc), zone=zone, play_id=play_id))

    def _recovered(self, name: str) -> None:
        if name in self.device.state.faults:
            self.post_event(lambda now: Fault(now, name, False))

    def internal_fault(self, detail: str) -> None:
        """A bug in the core or a loop callback: shown until the agent restarts; its traceback is in the journal."""
        if not self._internal_raised:
            self._internal_raised = True
            self.post_event(lambda now: Fault(now, "internal", True, detail))

    def _snapshot(self, request_id: str, max_bytes: int) -> None:
        if self.camera:
            self.camera.take(request_id, max_bytes)
        else:
            self.post_event(lambda now: SnapshotTaken(now, request_id, error="this unit has no board camera"))

    def _player_event(self, play_id: str, kind: str, detail: str) -> None:
        self.post_event(lambda now: PlayerEvent(now, play_id, kind, detail))

    def _store_write(self, write: Any) -> None:
        """A full or failing disk must not take the unit off the air: the core keeps the value in memory, and the
        fault shows in status and staff logs until a write succeeds."""
        try:
            write()
        except StoreError as exc:
            self.store_fault(str(exc))

    def store_fault(self, detail: str) -> None:  # in status and staff logs until a write succeeds
        self.post_event(lambda now: Fault(now, "store", True, detail))

    def _start_timer(self, name: str, at_ms: int) -> None:
        self._cancel_timer(name)
        delay_s = self.timer_delay_s(name, (at_ms - self._event_now_ms) / 1000)
        self._timers[name] = self.loop.call_later(delay_s, lambda: self._fire(name))

    def timer_delay_s(self, name: str, delay_s: float) -> float:
        """A hook for the fleet simulator (a random phase for each unit's first heartbeat); a unit keeps the delay."""
        return delay_s

    def _cancel_timer(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle:
            handle.cancel()

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        self.feed(TimerFired(self.clock.now_ms(), name))

    # ---- durable outbox ------------------------------------------------------------------------------------

    def _queue_report(self, e: Publish) -> None:
        try:
            self.store.outbox_add(e.topic, e.payload, e.qos, e.kind, self.clock.now_ms())
        except StoreError as exc:
            self.store_fault(str(exc))
            if self.online and self.link:  # better sent once without a safety net than not at all
                self.link.publish(e.topic, e.payload, e.qos, e.retain)
            return
        if "store" in self.device.state.faults:
            self.post_event(lambda now: Fault(now, "store", False))
        self._kick_flush()

    def _kick_flush(self) -> None:
        if self._flush_timer is None and self.online:
            delay = self._flush_sent_at + self._flush_gap_s - self.loop.time()  # the rate bound holds for live rows too
            if delay > 0:
                self._flush_timer = self.loop.call_later(delay, self._flush)
            else:  # a row may go now: at once, as it is made (not after a turn of a busy loop)
                self._flush()

    def _flush(self) -> None:
        """Send the oldest waiting rows at a bounded rate; the next round is scheduled while rows remain."""
        self._flush_timer = None
        if not (self.online and self.link):
            return
        rows = self.store.outbox_pending(2, set(self._inflight.values()))  # the one to send, and whether more wait
        if rows:
            mid = self.link.publish(rows[0].topic, rows[0].payload, rows[0].qos)
            if mid is not None:
                self._inflight[mid] = rows[0].id
            self._flush_sent_at = self.loop.time()
        if len(rows) > 1:
            self._flush_timer = self.loop.call_later(self._flush_gap_s, self._flush)

    # ---- shutdown ------------------------------------------------------------------------------------------

    def stop(self, offline_payload: bytes, status_topic: str) -> None:
        """A goodbye status (a clean disconnect does not fire the last will); the parts are stopped by their maker,
        audio and relays before this, the link after it."""
        self.staff.line(self.clock.now_ms(), "info", "agent_stopping", {})
        if self.online and self.link:
            self.link.publish(status_topic, offline_payload, 1, True)
        for handle in self._timers.values():
            handle.cancel()

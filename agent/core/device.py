"""The device core: one object per unit that turns events into effects. It keeps the link, verifies commands and
routes them to its desks (unit: agent.core.unit_desk; sound, board, update; time: agent.core.time_rule), and sends
acks, events, heartbeats and the coalesced status; the desks reach its outputs through the host doors below.

Pure: times come with the events, randomness is given. Must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from functools import partial
from typing import Any, assert_never

from agent.core import local, reports, unit_health
from agent.core.backoff import Backoff
from agent.core.device_state import BEACON_FLOOR_SAVE_S, HISTORY, STATUS_MIN_GAP_MS, DeviceSettings, DeviceState
from agent.core.eboard import ID_PREFIX as BOARD_ID
from agent.core.eboard import PREFIX as BOARD_TIMER
from agent.core.eboard import BoardDesk, play_and_show, stop_on_both
from agent.core.effects import (
    CancelTimer,
    Connect,
    Effect,
    Log,
    Publish,
    RaiseTimeFloor,
    RememberCommand,
    SaveSetting,
    SetRelay,
    StartTimer,
    Subscribe,
)
from agent.core.events import (
    ClockSyncChanged,
    Event,
    Fault,
    HardwareFailed,
    LevelObserved,
    LinkDown,
    LinkUp,
    LocalAction,
    MessageArrived,
    OutboxChanged,
    PlayerEvent,
    Prepared,
    PrepareFailed,
    RelayObserved,
    ReleaseFetched,
    ReleaseInstalled,
    ReleaseStepFailed,
    SnapshotTaken,
    Started,
    Telemetry,
    TimerFired,
    UnitReadings,
)
from agent.core.hardware_faults import PREFIX as HW_TIMER
from agent.core.hardware_faults import HardwareFaults
from agent.core.log_request import LogRequests
from agent.core.schemas import args_problem, known_commands
from agent.core.sound import PREFIX as SOUND_TIMER
from agent.core.sound import SoundDesk
from agent.core.status import body as status_body
from agent.core.status import time_body
from agent.core.time_rule import TimeDesk, verify_now_s
from agent.core.topics import Target
from agent.core.unit_desk import PREFIX as RELAY_TIMER
from agent.core.unit_desk import REBOOT_TIMER, UnitDesk
from agent.core.update import UpdateDesk
from agent.core.verify import Command, Rejection, TrustSet, verify

# The settings and state live in agent.core.device_state; importers of this module keep finding them here.
__all__ = ["HISTORY", "STATUS_MIN_GAP_MS", "Device", "DeviceSettings", "DeviceState", "offline_status"]


class Device:
    """Events in, effects out. `handle` is the only entry point."""

    def __init__(self, settings: DeviceSettings, keys: TrustSet, state: DeviceState, rng: random.Random) -> None:
        self.settings = settings
        self.keys = keys
        self.state = state
        self.state.relays = {z: False for z in settings.zones}
        self.backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s, rng, settings.reconnect_jitter)
        self._fx: list[Effect] = []
        self._now = 0
        self.unit = UnitDesk(self, state, lambda: self.sound.current if self.sound else None)
        self._commands: dict[str, Callable[[Command, int], None]] = self.unit.commands()
        self.sound: SoundDesk | None = None
        if settings.sound is not None:
            self.sound = SoundDesk(settings.sound, self, state.saved)
            self._commands |= {"play": self.sound.play, "stop": self.sound.stop, "store": self.sound.store,
                               "schedule": self.sound.set_schedule}
        self.board: BoardDesk | None = None
        if settings.board is not None:
            self.board = BoardDesk(settings.board, self, state.saved)
            self._commands |= {"display": self.board.display, "snapshot": self.board.snapshot,
                               "stop": partial(stop_on_both, self.sound, self.board)}
            if self.sound is not None:
                self._commands["play"] = partial(play_and_show, self.sound, self.board)
        self.updates = UpdateDesk(settings.update, self, state.saved, settings.version)
        self.hardware = HardwareFaults(self, state, rng, lambda: self.sound.current if self.sound else None)
        self._commands["update"] = self.updates.command
        self.time = TimeDesk(self)
        self.log_requests = LogRequests(self, settings.device_id)
        self._commands["time"] = self.time.beacon

    # ---- entry point ---------------------------------------------------------------------------------------

    def handle(self, event: Event) -> list[Effect]:
        if type(event) is OutboxChanged:  # one per PUBACK: the heartbeat counts it, and a release trial may wait for it
            self.state.outbox = event.pending
            if not self.updates.awaits_puback():
                return []
        self._fx = []
        self._now = event.now_ms
        match event:
            case Started():
                self._started(event)
            case LinkUp(now_ms=now):
                self._link_up(now)
            case LinkDown(now_ms=now, reason=reason):
                self._link_down(now, reason)
            case MessageArrived(now_ms=now, topic=topic, payload=payload, retained=retained):
                self._message(now, topic, payload, retained)
            case TimerFired(now_ms=now, name=name):
                self._timer(now, name)
            case ClockSyncChanged():
                self.time.changed(event)
            case RelayObserved(now_ms=now, zone=zone, on=on):
                self.unit.observed(now, zone, on)
            case Telemetry() | UnitReadings():
                unit_health.observe(self.state, event)
            case LevelObserved(dbfs=dbfs):
                if self.sound:
                    self.sound.level(dbfs)
            case Fault(name=name, active=active, detail=detail):
                self.hardware.fault(name, active, detail)
            case HardwareFailed():
                self.hardware.failed(event)
            case Prepared(play_id=pid) | PrepareFailed(play_id=pid) | PlayerEvent(play_id=pid):
                if self.board and pid.startswith(BOARD_ID):  # the board's downloads, and its page's player
                    self.board.media_event(event)
                else:
                    self._sound_event(event)
            case SnapshotTaken():
                if self.board:
                    self.board.snapshot_taken(event)
            case LocalAction():
                self._local(event)
            case OutboxChanged() | ReleaseFetched() | ReleaseInstalled() | ReleaseStepFailed():
                pass  # the outbox count is kept above; the update desk below takes these
            case _:
                assert_never(event)
        self.updates.observe(event)
        self._flush_status(event.now_ms)
        return self._fx

    # ---- lifecycle and link --------------------------------------------------------------------------------

    def _started(self, e: Started) -> None:
        now, synced, self.state.started_ms = e.now_ms, e.clock_synced, e.now_ms
        self.time.started(now, synced, e.time_source, e.time_offset_ms)
        self._fx.extend(SetRelay(z, False) for z in self.settings.zones)
        self._fx.append(Connect())
        self._schedule_heartbeat(now)
        self.event(now, "started", ver=self.settings.version, clock_synced=synced)
        if self.sound:
            self.sound.arm_schedule(now)
        if self.board:
            self.board.start(now)
        self.log("info", "agent_started", ver=self.settings.version, dev=self.settings.device_id)

    def _link_up(self, now: int) -> None:
        self.state.online = True
        self.backoff.reset()
        self._fx.append(Subscribe(self.settings.topics.unit_subscriptions(self.settings.device_id, self.settings.groups)))
        self.state.status_dirty = True
        self.state.status_sent_ms = -STATUS_MIN_GAP_MS  # the retained status goes out on every (re)connect at once
        self.log("info", "link_up")

    def _link_down(self, now: int, reason: str) -> None:
        was_online, self.state.online = self.state.online, False
        delay_ms = int(self.backoff.next_delay_s() * 1000)
        self._fx.append(StartTimer("reconnect", now + delay_ms))
        if was_online:
            self.log("warning", "link_down", reason=reason or "-", retry_s=round(delay_ms / 1000, 1))

    def fault(self, name: str, active: bool, detail: str) -> None:
        if active == (name in self.state.faults):
            return
        if active:
            self.state.faults[name] = detail
            self.log("error", f"{name}_error", reason=detail)
        else:
            del self.state.faults[name]
            self.log("info", f"{name}_recovered")
        self.state.status_dirty = True

    def _timer(self, now: int, name: str) -> None:
        if name == "reconnect":
            self._fx.append(Connect())
        elif name == "hb":
            self._heartbeat(now)
        elif name == REBOOT_TIMER:
            self.unit.reboot_due(now)
        elif name.startswith(RELAY_TIMER):
            self.unit.timer(now, name)
        elif name.startswith(SOUND_TIMER) and self.sound:
            self.sound.timer(now, name)
        elif name.startswith(BOARD_TIMER) and self.board:
            self.board.timer(now, name)
        elif name.startswith(HW_TIMER):
            self.hardware.timer(now, name)
        elif name == "status":  # _flush_status, which runs after every event, publishes it
            self.state.status_timer_ms = None

    def _schedule_heartbeat(self, now: int) -> None:
        self._fx.append(StartTimer("hb", now + self.settings.heartbeat_s * 1000))

    def _heartbeat(self, now: int) -> None:
        self._schedule_heartbeat(now)
        self._prune_seen(verify_now_s(self.state, now))
        if self.state.online:
            up_s = (now - self.state.started_ms) // 1000
            extra = {"time": time_body(self.state), **unit_health.beat(self.settings, self.state)} | (
                self.board.heartbeat() if self.board else {})
            body = reports.heartbeat(now, up_s, self.state.outbox, self.state.relays, self.state.modem.get("signal_dbm"),
                                     extra=extra)
            self._fx.append(Publish(self.topic("hb"), body, qos=0))

    # ---- commands ------------------------------------------------------------------------------------------

    def _message(self, now: int, topic: str, payload: bytes, retained: bool) -> None:
        target = self.settings.topics.target_of(topic)
        if target is None:  # a log request needs no signature (agent.core.log_request), anything else is dropped
            if self.settings.topics.log_request_target(topic) is not None:
                self.log_requests.arrived(now, payload, retained, self.state.log_lines, self.state.playlogs)
            return
        if not payload:
            return  # how MQTT clears a retained message (docs/protocol.md, section 8.1): no command, no answer
        result = self._verify(now, target, payload, retained)
        if isinstance(result, Rejection):
            self._reject(now, result)
            return
        self._accept_id(result)
        if result.cmd not in self._commands or result.cmd not in known_commands():
            self._reject(now, Rejection("unknown_command", f"command {result.cmd!r} is not known", result.jti, result.cmd))
            return
        problem = args_problem(result.cmd, result.args)
        if problem:
            self._reject(now, Rejection("bad_args", problem, result.jti, result.cmd))
            return
        self._commands[result.cmd](result, now)

    def _verify(self, now: int, target: Target, payload: bytes, retained: bool) -> Command | Rejection:
        now_s = verify_now_s(self.state, now)  # see docs/protocol.md, "Devices without a synchronised clock"
        return verify(
            payload, target=target, retained=retained, now_s=now_s, clock_synced=self.state.clock_synced,
            seen=self.state.seen, keys=self.keys, policy=self.settings.policy,
        )

    def _accept_id(self, command: Command) -> None:
        keep_until = command.exp + self.settings.policy.skew_s
        self.state.seen[command.jti] = keep_until
        beacon = command.cmd == "time"  # every few minutes: kind to the card, see docs/protocol.md 4.2
        if not beacon:
            self._fx.append(RememberCommand(command.jti, keep_until))
        # While synced, iat is at most now + skew (else not_yet_valid), so a fast signer cannot push the floor far.
        if command.iat > self.state.time_floor_s:
            self.state.time_floor_s = command.iat
            self._fx.append(RaiseTimeFloor(command.iat * 1000))
            if not beacon or command.iat >= self.state.time_floor_saved_s + BEACON_FLOOR_SAVE_S:
                self.state.time_floor_saved_s = command.iat
                self._fx.append(SaveSetting("time_floor_s", command.iat))

    def _reject(self, now: int, r: Rejection) -> None:
        self.state.rejected[r.code] = self.state.rejected.get(r.code, 0) + 1
        self.state.status_dirty = True
        self.reply(now, r.jti, r.cmd, "rejected", r.code, r.msg, kind="reject")
        self.log("warning", "command_rejected", cmd=r.cmd or "?", code=r.code, reason=r.msg)

    # ---- local actions -----------------------------------------------------------------------------------------

    def _local(self, e: LocalAction) -> None:
        """A technician's action from the status page (see agent.core.local for why it is trusted)."""
        c = local.command(e, self.settings.device_id)
        if c is None or c.cmd not in self._commands or args_problem(c.cmd, c.args):
            self.log("warning", "local_action_refused", action=e.action)
            return
        self.log("info", "local_action", action=e.action, jti=c.jti)
        self._commands[c.cmd](c, e.now_ms)

    # ---- sound -------------------------------------------------------------------------------------------------

    def _sound_event(self, event: Prepared | PrepareFailed | PlayerEvent) -> None:
        if self.sound is None:
            return
        match event:
            case Prepared(now_ms=now, play_id=play_id, media=media):
                self.sound.prepared(now, play_id, media)
            case PrepareFailed(now_ms=now, play_id=play_id, code=code, msg=msg):
                self.sound.prepare_failed(now, play_id, code, msg)
            case PlayerEvent(now_ms=now, play_id=play_id, kind=kind, detail=detail):
                self.sound.player(now, play_id, kind, detail)
            case _:
                assert_never(event)
        self.state.status_dirty = True

    # The desks' host (agent.ports.DeskHost and the desks' own Host): thin doors onto the device's own outputs.

    def emit(self, effect: Effect) -> None:
        self._fx.append(effect)

    def switch(self, zone: int, on: bool) -> None:
        self.unit.switch(zone, on)

    def ack(self, now: int, jti: str | None, cmd: str | None, state: str, code: str, msg: str) -> None:
        if state == "rejected":  # a valid command refused by a desk (quiet hours, bad zones): counted and logged too
            self._reject(now, Rejection(code, msg, jti, cmd))
            return
        self.reply(now, jti, cmd, state, code, msg)
        self.state.status_dirty = True

    def report(self, now: int, kind: str, body: dict[str, Any]) -> None:
        if kind == "playlog":
            self.state.playlogs.append({"ts": now, **body})
        payload = reports.encode({"dev": self.settings.device_id, **body})
        self._fx.append(Publish(self.topic(kind), payload, qos=1, durable=True, kind=kind))

    def timer(self, name: str, at_ms: int) -> None:
        self._fx.append(StartTimer(name, at_ms))

    def cancel(self, name: str) -> None:
        self._fx.append(CancelTimer(name))

    def save(self, key: str, value: Any) -> None:
        self._fx.append(SaveSetting(key, value))

    def volume_pct(self) -> int:
        return self.settings.volume_pct

    def max_volume_pct(self) -> int:
        return self.settings.max_volume_pct

    def volume_changed(self, volume_pct: int) -> None:
        if self.sound:
            self.sound.playout.follow_volume(volume_pct)

    def relay_on(self, zone: int) -> bool:
        return self.state.observed.get(zone, False)

    # ---- reports -------------------------------------------------------------------------------------------

    def status(self, now: int) -> dict[str, Any]:
        desks = ([self.sound.status()] if self.sound else []) + ([self.board.status()] if self.board else [])
        return status_body(self.settings, self.state, now, *desks)

    def _flush_status(self, now: int) -> None:
        st = self.state
        if not (st.status_dirty and st.online):
            return
        due = st.status_sent_ms + STATUS_MIN_GAP_MS
        if st.status_sent_ms <= now < due:  # before the last one: the time stepped back, the gap means nothing
            if st.status_timer_ms != due:
                st.status_timer_ms = due
                self._fx.append(StartTimer("status", due))
            return
        st.status_dirty, st.status_sent_ms = False, now
        self._fx.append(Publish(self.topic("status"), reports.encode(self.status(now)), qos=1, retain=True))

    def reply(self, now: int, jti: str | None, cmd: str | None, state: str, code: str, msg: str, kind: str = "ack") -> None:
        body = reports.ack(self.settings.device_id, jti, cmd, state, code, msg, now)
        self._fx.append(Publish(self.topic("ack"), body, qos=1, durable=True, kind=kind))

    def event(self, now: int, name: str, **detail: Any) -> None:
        body = reports.event(self.settings.device_id, name, now, **detail)
        self._fx.append(Publish(self.topic("event"), body, qos=1, durable=True, kind="event"))

    def log(self, level: str, key: str, **params: Any) -> None:
        self.state.log_lines.append({"ts": self._now, "level": level, "key": key, "params": params})
        self._fx.append(Log(level, key, tuple(params.items())))

    def topic(self, kind: str) -> str:
        return self.settings.topics.report(self.settings.device_id, kind)

    def _prune_seen(self, now_s: int) -> None:
        for jti in [j for j, until in self.state.seen.items() if until < now_s]:
            del self.state.seen[jti]


def offline_status() -> bytes:
    """The retained last will: what the broker publishes when the link dies without a goodbye."""
    return json.dumps({"online": False}).encode()

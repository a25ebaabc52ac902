"""The sound desk of the core: accepts play/stop/store/schedule, asks the arbiter what plays, sequences amplifier
power (relay on -> warm-up -> audio -> tail -> relay off, zones staggered, a hard maximum on-time) and ends every
play with an ack and one play-log record.

Pure: it returns effects through its host (the Device). Must not import adapters or any I/O module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Protocol

from agent.core import arbiter, schedule
from agent.core.arbiter import EMERGENCY, SCHEDULED, Item
from agent.core.clocktime import in_window
from agent.core.effects import PlayAudio, Prepare, StopAudio
from agent.core.verify import Command
from agent.ports import SwitchingHost

PREFIX = "snd:"
SILENCE_DBFS = -50.0  # below this while the amplifier is on, nothing reached the horns


@dataclass(frozen=True)
class SoundSettings:
    zones: tuple[int, ...]
    tz: tzinfo
    quiet_window: tuple[int, int] | None = (22 * 60, 5 * 60)
    emergency_volume_pct: int = 100
    warmup_s: float = 1.0
    tail_s: float = 2.0
    stagger_s: float = 0.5
    max_on_s: int = 3600


class Host(SwitchingHost, Protocol):
    """What the sound desk needs from the device core, beyond any desk's needs."""

    def volume_pct(self) -> int: ...
    def max_volume_pct(self) -> int: ...
    def relay_on(self, zone: int) -> bool: ...


class Refusal(Exception):
    """A play that must be refused at once: (code, message)."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


class SoundDesk:
    def __init__(self, settings: SoundSettings, host: Host, saved: dict[str, Any]) -> None:
        self.s, self.host = settings, host
        self.queue: list[Item] = []
        self.current: Item | None = None
        self.playing = False  # the player was told to play `current` (warm-up is over)
        self.powered: set[int] = set()  # zones switched on for audio
        self.power_since_ms: int | None = None
        self.tail_due_ms: int | None = None  # counts from the end of audio; later events never stretch it
        self.refs: dict[str, dict[str, Any]] = dict(saved.get("refs", {}))
        self.programme: dict[str, Any] = dict(saved.get("schedule", {}))
        self.slots = schedule.parse_slots(self.programme.get("slots", []))
        self.armed: tuple[int, tuple[schedule.Slot, ...]] | None = None  # the next start and its slots
        self._seq = 0
        self._stores: dict[str, Command] = {}

    # ---- commands ------------------------------------------------------------------------------------------

    def play(self, c: Command, now: int) -> None:
        try:
            item = self._item(c, now)
            self._hold_for_quiet_hours(item, now)
        except Refusal as r:
            self.host.ack(now, c.jti, c.cmd, "rejected", r.code, r.msg)
            return
        self.host.ack(now, c.jti, c.cmd, "accepted", "ok", self._accepted_msg(item, now))
        self._enqueue(item, now)

    def _item(self, c: Command, now: int) -> Item:
        a = c.args
        level = arbiter.LEVELS[a.get("priority", "normal")]
        zones = tuple(a.get("zones") or self.s.zones)
        if set(zones) - set(self.s.zones):
            raise Refusal("bad_args", f"zones {sorted(set(zones) - set(self.s.zones))} are not wired on this unit")
        source = self._resolve(a["source"])
        volume = self.s.emergency_volume_pct if level == EMERGENCY else self._capped(a.get("volume_pct"))
        until = a.get("until")
        self._seq += 1
        return Item(play_id=c.jti, jti=c.jti, level=level, source=source, title=a.get("title", ""), zones=zones,
                    volume_pct=volume, seq=self._seq, repeat=a.get("repeat", 1),
                    not_before_ms=int(a.get("not_before", 0) * 1000), until_ms=int(until * 1000) if until else None,
                    replace=a.get("replace", False))

    def _resolve(self, source: dict[str, Any]) -> dict[str, Any]:
        if "ref" not in source:
            return source
        stored = self.refs.get(source["ref"])
        if stored is None:
            raise Refusal("bad_args", f"no stored bulletin with id {source['ref']!r} on this unit")
        return {"ref": source["ref"], "url": stored["url"], "sha256": stored["sha256"]}

    def _capped(self, wanted: int | None) -> int:
        return min(self.host.volume_pct() if wanted is None else wanted, self.host.max_volume_pct())

    def _hold_for_quiet_hours(self, item: Item, now: int) -> None:
        window = self.s.quiet_window
        if item.level == EMERGENCY or window is None:
            return
        start = max(now, item.not_before_ms)
        if not in_window(schedule.local_minute(start, self.s.tz), window):
            return
        opens = schedule.window_opens_ms(start, window, self.s.tz)
        if item.until_ms is None or item.until_ms <= opens:
            raise Refusal("quiet_hours", f"quiet hours {self._window_text()}: only emergencies may sound now")
        item.not_before_ms = opens

    def _window_text(self) -> str:
        w = self.s.quiet_window or (0, 0)
        return f"{w[0] // 60:02d}:{w[0] % 60:02d}-{w[1] // 60:02d}:{w[1] % 60:02d}"

    def _accepted_msg(self, item: Item, now: int) -> str:
        level = arbiter.LEVEL_NAMES[item.level]
        if item.not_before_ms > now:
            return f"{level} bulletin accepted, held until {item.not_before_ms // 1000} (quiet hours or not_before)"
        return f"{level} bulletin accepted"

    def stop(self, c: Command, now: int) -> None:
        targets = [i for i in self._all_items() if c.args.get("all") or i.jti == c.args.get("jti")]
        if not targets:
            self.host.ack(now, c.jti, c.cmd, "failed", "not_found", "nothing to stop: no such bulletin queued or playing")
            return
        self.host.ack(now, c.jti, c.cmd, "accepted", "ok", "stop accepted")
        for item in targets:
            self._end(item, now, "stopped", "stopped", "ok", f"stopped by command {c.jti}")
        self.host.ack(now, c.jti, c.cmd, "finished", "ok", f"stopped {len(targets)} bulletin(s)")
        self._advance(now)

    def holds(self, args: dict[str, Any]) -> bool:
        """Whether a `stop` with these args would end anything here (the device asks before routing a stop)."""
        return any(args.get("all") or i.jti == args.get("jti") for i in self._all_items())

    def store(self, c: Command, now: int) -> None:
        self.host.ack(now, c.jti, c.cmd, "accepted", "ok", "download started")
        self._stores[f"store:{c.jti}"] = c
        source = {"url": c.args["url"], "sha256": c.args["sha256"]}
        self.host.emit(Prepare(f"store:{c.jti}", source, pin=bool(c.args.get("pin", False))))

    def set_schedule(self, c: Command, now: int) -> None:
        version = int(c.args["version"])
        if version <= int(self.programme.get("version", 0)):
            self.host.ack(now, c.jti, c.cmd, "rejected", "bad_args",
                          f"schedule version {version} is not newer than {self.programme.get('version')}")
            return
        slots = schedule.parse_slots(c.args["slots"])
        problem = self._schedule_problem(slots)
        if problem:
            self.host.ack(now, c.jti, c.cmd, "rejected", problem[0], problem[1])
            return
        self.programme, self.slots = dict(c.args), slots
        self.host.save("schedule", self.programme)
        self.host.ack(now, c.jti, c.cmd, "accepted", "ok", f"schedule version {version} accepted")
        self.host.ack(now, c.jti, c.cmd, "finished", "ok", f"{len(slots)} slot(s) active")
        self.arm_schedule(now)

    def _schedule_problem(self, slots: tuple[schedule.Slot, ...]) -> tuple[str, str] | None:
        clash = schedule.quiet_conflict(slots, self.s.quiet_window)
        if clash:
            return ("quiet_hours", f"{clash.label()} falls in quiet hours {self._window_text()}")
        for slot in slots:
            if "ref" in slot.source and slot.source["ref"] not in self.refs:
                return ("bad_args", f"{slot.label()}: no stored bulletin with id {slot.source['ref']!r}")
            if slot.zones and set(slot.zones) - set(self.s.zones):
                return ("bad_args", f"{slot.label()}: zones not wired on this unit")
        return None

    # ---- the programme -------------------------------------------------------------------------------------

    def arm_schedule(self, now: int) -> None:
        self.armed = schedule.next_start(self.slots, now, self.s.tz)
        if self.armed is None:
            self.host.cancel(PREFIX + "slot")
        else:
            self.host.timer(PREFIX + "slot", self.armed[0])

    def _slot_due(self, now: int) -> None:
        if self.armed is None:
            return
        start, slots = self.armed
        for slot in slots:
            self._enqueue(self._slot_item(slot, start), now)
        self.arm_schedule(start)

    def _slot_item(self, slot: schedule.Slot, now: int) -> Item:
        self._seq += 1
        source = self._resolve(slot.source) if "ref" in slot.source and slot.source["ref"] in self.refs else slot.source
        until = now + slot.duration_s * 1000 if slot.duration_s else None
        return Item(play_id=f"slot-{self.programme.get('version')}-{slot.index}-{now // 1000}", jti=None,
                    level=SCHEDULED, source=source, title=slot.title or slot.label(), seq=self._seq,
                    zones=slot.zones or self.s.zones, volume_pct=self._capped(slot.volume_pct), until_ms=until)

    # ---- preparing sources ---------------------------------------------------------------------------------

    def _enqueue(self, item: Item, now: int) -> None:
        self.queue.append(item)
        if item.until_ms:
            self.host.timer(f"{PREFIX}until:{item.play_id}", item.until_ms)
        if item.not_before_ms > now:
            self.host.timer(f"{PREFIX}wake:{item.play_id}", item.not_before_ms)
        if item.is_stream:
            item.media = item.source["stream"]
        else:
            self.host.emit(Prepare(item.play_id, item.source, pin=item.level == EMERGENCY))
        self._advance(now)

    def prepared(self, now: int, play_id: str, media: str) -> None:
        if play_id in self._stores:
            self._stored(now, self._stores.pop(play_id))
            return
        item = self._find(play_id)
        if item is not None:
            item.media = media
            self._advance(now)

    def prepare_failed(self, now: int, play_id: str, code: str, msg: str) -> None:
        if play_id in self._stores:
            c = self._stores.pop(play_id)
            self.host.ack(now, c.jti, c.cmd, "failed", code, msg)
            return
        item = self._find(play_id)
        if item is not None:
            self._end(item, now, "failed", "failed", code, msg)
            self._advance(now)

    def _stored(self, now: int, c: Command) -> None:
        a = c.args
        self.refs[a["id"]] = {"url": a["url"], "sha256": a["sha256"], "title": a.get("title", ""),
                              "pin": bool(a.get("pin", False))}
        self.host.save("refs", self.refs)
        self.host.ack(now, c.jti, c.cmd, "finished", "ok", f"stored as {a['id']!r}")

    # ---- arbitration and power sequencing ------------------------------------------------------------------

    def _advance(self, now: int) -> None:
        quiet = self._quiet(now)
        if quiet:
            self._hold_or_drop_for_quiet_hours(now)
        allowed = [i for i in self.queue if i.level == EMERGENCY or not quiet]
        if self.current is None:
            candidate = arbiter.choose(allowed, now)
            if candidate is not None:
                self._start(candidate, now)
            else:
                self._schedule_tail(now)
        elif (cutter := arbiter.preemptor(allowed, self.current, now)) is not None:
            self._preempt(self.current, cutter, now)
            self._start(cutter, now)

    def _quiet(self, now: int) -> bool:
        window = self.s.quiet_window
        return window is not None and in_window(schedule.local_minute(now, self.s.tz), window)

    def _hold_or_drop_for_quiet_hours(self, now: int) -> None:
        """Waiting bulletins whose `until` reaches the end of quiet hours wait for it; the others end now."""
        assert self.s.quiet_window is not None
        opens = schedule.window_opens_ms(now, self.s.quiet_window, self.s.tz)
        for item in [i for i in self.queue if i.level != EMERGENCY]:
            if item.until_ms is None or item.until_ms <= opens:
                self._end(item, now, "expired", "expired", "quiet_hours", f"quiet hours {self._window_text()} began")
            else:
                self.host.timer(PREFIX + "quiet", opens)

    def _start(self, item: Item, now: int) -> None:
        self.queue.remove(item)
        self.current, self.playing = item, False
        self.host.cancel(PREFIX + "tail")
        self.tail_due_ms = None
        self.host.cancel(PREFIX + "go")  # a warm-up still pending for a cut item must not start this one twice
        for zone in sorted(self.powered - set(item.zones)):
            self._power(zone, False, now)
        new = [z for z in item.zones if z not in self.powered]
        for i, zone in enumerate(new):
            if i == 0:
                self._power(zone, True, now)
            else:
                self.host.timer(f"{PREFIX}zone:{zone}", now + int(i * self.s.stagger_s * 1000))
        if new:
            self.host.timer(PREFIX + "go", now + int(((len(new) - 1) * self.s.stagger_s + self.s.warmup_s) * 1000))
        else:
            self._go(now)

    def _power(self, zone: int, on: bool, now: int) -> None:
        (self.powered.add if on else self.powered.discard)(zone)
        self.host.switch(zone, on)
        if on and self.power_since_ms is None:
            self.power_since_ms = now
            self.host.timer(PREFIX + "max_on", now + self.s.max_on_s * 1000)
        if not self.powered:
            self.power_since_ms = None
            self.host.cancel(PREFIX + "max_on")

    def _go(self, now: int) -> None:
        item = self.current
        if item is None or item.media is None:
            return
        self.playing = True
        self.host.emit(PlayAudio(item.play_id, item.media, item.volume_pct))

    def _schedule_tail(self, now: int) -> None:
        if self.powered and self.tail_due_ms is None:
            self.tail_due_ms = now + int(self.s.tail_s * 1000)
            self.host.timer(PREFIX + "tail", self.tail_due_ms)

    def _tail(self, now: int) -> None:
        self.tail_due_ms = None
        if self.current is None:
            for zone in sorted(self.powered):
                self._power(zone, False, now)
            for zone in self.s.zones:
                self.host.cancel(f"{PREFIX}zone:{zone}")

    def _preempt(self, item: Item, by: Item, now: int) -> None:
        """The cut item goes back to the front of its level and plays again from the start (see docs), unless a
        replacing emergency supersedes it."""
        if arbiter.supersedes(item, by):
            self._end(item, now, "preempted", "preempted", "replaced", f"replaced by emergency {by.jti}")
            return
        self.host.emit(StopAudio(item.play_id))
        if item.started_ms is not None:
            self._record(item, now, "preempted")
            if item.jti:
                self.host.ack(now, item.jti, "play", "preempted", "requeued", "cut by a higher-level bulletin; re-queued")
        item.started_ms, item.plays_done, item.front = None, 0, True
        self.queue.append(item)
        self.current, self.playing = None, False

    # ---- player events and ends ----------------------------------------------------------------------------

    def player(self, now: int, play_id: str, kind: str, detail: str) -> None:
        item = self.current
        if item is None or item.play_id != play_id:
            return  # a late event from a play that was already stopped or preempted
        if kind == "started" and item.started_ms is None:
            item.started_ms = now
            item.relay_confirmed = all(self.host.relay_on(z) for z in item.zones)  # read back, not assumed
            if item.jti:
                self.host.ack(now, item.jti, "play", "started", "ok", "playing")
        elif kind == "finished":
            item.plays_done += 1
            if item.plays_done < item.repeat:
                self.host.emit(PlayAudio(item.play_id, item.media or "", item.volume_pct))
            else:
                self._end(item, now, "finished", "completed", "ok", "played to the end")
                self._advance(now)
        elif kind == "failed":
            self._end(item, now, "failed", "failed", detail or "audio_error", f"playback failed: {detail}")
            self._advance(now)

    def _end(self, item: Item, now: int, state: str, result: str, code: str, msg: str) -> None:
        if item is self.current:
            self.host.emit(StopAudio(item.play_id))
            self.current, self.playing = None, False
            self.host.cancel(PREFIX + "go")
        elif item in self.queue:
            self.queue.remove(item)
        self.host.cancel(f"{PREFIX}until:{item.play_id}")
        self.host.cancel(f"{PREFIX}wake:{item.play_id}")
        if item.jti:
            self.host.ack(now, item.jti, "play", state, code, msg)
        self._record(item, now, result)

    def level(self, dbfs: float | None) -> None:
        """Keep the loudest level measured while the current item plays: proof that sound reached the output."""
        item = self.current
        if item is not None and item.started_ms is not None and dbfs is not None:
            item.extra["level"] = max(dbfs, item.extra.get("level", -1000.0))

    def _record(self, item: Item, now: int, result: str) -> None:
        started = item.started_ms
        level = item.extra.pop("level", None)
        if started and item.relay_confirmed and level is not None and level < SILENCE_DBFS:
            self.host.report(now, "event", {"event": "no_audio", "ts": now, "detail": {
                "jti": item.jti, "play_id": item.play_id, "level_dbfs": round(level, 1)}})
            self.host.log("error", "no_audio", title=item.title or item.play_id, dbfs=round(level, 1))
        self.host.report(now, "playlog", {
            "jti": item.jti, "play_id": item.play_id, "title": item.title, "priority": arbiter.LEVEL_NAMES[item.level],
            "source_kind": item.source_kind, "started_ts": started, "ended_ts": now,
            "duration_s": round((now - started) / 1000, 2) if started else 0.0, "result": result,
            "relay_confirmed": item.relay_confirmed if started else False,
            "level_dbfs": None if level is None else round(level, 1),
        })

    # ---- timers --------------------------------------------------------------------------------------------

    def timer(self, now: int, name: str) -> None:
        kind, _, arg = name[len(PREFIX):].partition(":")
        if kind == "zone" and self.current is not None and int(arg) in self.current.zones:
            self._power(int(arg), True, now)
        elif kind == "go":
            self._go(now)
        elif kind == "tail":
            self._tail(now)
        elif kind == "max_on":
            self._max_on(now)
        elif kind == "until":
            self._expire(now, arg)
        elif kind in ("wake", "quiet"):
            self._advance(now)
        elif kind == "slot":
            self._slot_due(now)

    def _expire(self, now: int, play_id: str) -> None:
        item = self._find(play_id)
        if item is not None:
            slot_done = item.jti is None and item.started_ms is not None  # a programme slot that ran its length
            self._end(item, now, "finished" if slot_done else "expired", "completed" if slot_done else "expired",
                      "ok" if slot_done else "expired", "its time window ended")
            self._advance(now)

    def _max_on(self, now: int) -> None:
        """The hard limit: whatever plays is cut and every amplifier goes off."""
        if self.current is not None:
            self._end(self.current, now, "failed", "failed", "max_on_time",
                      f"amplifier on for {self.s.max_on_s} s, the unit's hard limit")
        for zone in sorted(self.powered):
            self._power(zone, False, now)
        self._advance(now)

    def _find(self, play_id: str) -> Item | None:
        return next((i for i in self._all_items() if i.play_id == play_id), None)

    def _all_items(self) -> list[Item]:
        return ([self.current] if self.current else []) + list(self.queue)

    def status(self) -> dict[str, Any]:
        cur = self.current
        return {
            "playing": None if cur is None else {"jti": cur.jti, "title": cur.title,
                                                  "priority": arbiter.LEVEL_NAMES[cur.level]},
            "queued": len(self.queue), "schedule_version": self.programme.get("version"),
        }

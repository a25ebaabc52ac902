"""The sound desk of the core: accepts play/stop/store/schedule, refuses what may not sound (quiet hours, zones not
wired, unknown stored bulletins), keeps the stored bulletins and the programme, has sources prepared, and feeds the
queue of its playout (agent.core.playout), which decides what plays and sequences amplifier power.

Pure: it returns effects through its host (the Device). Must not import adapters, runtime or any I/O module.
"""

from __future__ import annotations

from typing import Any, Protocol

from agent.core import alert, arbiter, schedule
from agent.core.arbiter import EMERGENCY, SCHEDULED, Item
from agent.core.clocktime import in_window
from agent.core.effects import Prepare
from agent.core.playout import PREFIX, Playout, SoundSettings, window_text
from agent.core.playout import Host as PlayoutHost
from agent.core.verify import Command

# The settings and timer prefix live in agent.core.playout; importers of this module keep finding them here.
__all__ = ["PREFIX", "Host", "Refusal", "SoundDesk", "SoundSettings"]


class Host(PlayoutHost, Protocol):
    """What the sound desk needs from the device core, beyond its playout's needs."""

    def volume_pct(self) -> int: ...
    def max_volume_pct(self) -> int: ...


class Refusal(Exception):
    """A play that must be refused at once: (code, message)."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


class SoundDesk:
    def __init__(self, settings: SoundSettings, host: Host, saved: dict[str, Any]) -> None:
        self.s, self.host = settings, host
        self.playout = Playout(settings, host)
        self.refs: dict[str, dict[str, Any]] = dict(saved.get("refs", {}))
        self.programme: dict[str, Any] = dict(saved.get("schedule", {}))
        self.slots = schedule.parse_slots(self.programme.get("slots", []))
        self.armed: tuple[int, tuple[schedule.Slot, ...]] | None = None  # the next start and its slots
        self.fired: set[tuple[int, int]] = set()  # (start, slot index) of recent slots: a catch-up never repeats one
        self._seq = 0
        self._stores: dict[str, Command] = {}

    @property
    def current(self) -> Item | None:
        return self.playout.current

    # ---- commands ------------------------------------------------------------------------------------------

    def play(self, c: Command, now: int) -> None:
        try:
            item = self._item(c, now)
            if self.playout.trusted:  # else quiet hours cannot be judged now: the playout judges them later
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
                    replace=a.get("replace", False), extra=self._bulletin(a.get("bulletin"), source))

    def _bulletin(self, given: dict[str, Any] | None, source: dict[str, Any]) -> dict[str, Any]:
        """The bulletin metadata its play log echoes: the command's own, else the one stored with its audio."""
        meta = given or self.refs.get(source.get("ref", ""), {}).get("bulletin")
        return {"bulletin": meta} if meta else {}

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
            raise Refusal("quiet_hours", f"quiet hours {window_text(self.s.quiet_window)}: only emergencies may sound now")
        item.not_before_ms = opens

    def _accepted_msg(self, item: Item, now: int) -> str:
        level = arbiter.LEVEL_NAMES[item.level]
        if not self.playout.trusted and item.level != EMERGENCY:
            return f"{level} bulletin accepted, held until the unit has a trusted time"
        if item.not_before_ms > now:
            return f"{level} bulletin accepted, held until {item.not_before_ms // 1000} (quiet hours or not_before)"
        return f"{level} bulletin accepted"

    def stop(self, c: Command, now: int) -> None:
        targets = [i for i in self.playout.items() if _matches(i, c.args)]
        if not targets:
            self.host.ack(now, c.jti, c.cmd, "failed", "not_found", "nothing to stop: no such bulletin queued or playing")
            return
        self.host.ack(now, c.jti, c.cmd, "accepted", "ok", "stop accepted")
        for item in targets:
            self.playout.end(item, now, "stopped", "stopped", "ok", f"stopped by command {c.jti}")
        stopped = len([i for i in targets if i.alert_of is None])
        self.host.ack(now, c.jti, c.cmd, "finished", "ok", f"stopped {stopped} bulletin(s)")
        self.playout.advance(now)

    def holds(self, args: dict[str, Any]) -> bool:
        """Whether a `stop` with these args would end anything here (the device asks before routing a stop)."""
        return any(_matches(i, args) for i in self.playout.items())

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
        try:
            slots = schedule.parse_slots(c.args["slots"])
        except ValueError as exc:
            self.host.ack(now, c.jti, c.cmd, "rejected", "bad_args", str(exc))
            return
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
            return ("quiet_hours", f"{clash.label()} falls in quiet hours {window_text(self.s.quiet_window)}")
        # a store sent just before the schedule may still be downloading: the order of the commands is the promise
        known = set(self.refs) | {c.args["id"] for c in self._stores.values()}
        for slot in slots:
            if "ref" in slot.source and slot.source["ref"] not in known:
                return ("bad_args", f"{slot.label()}: no stored bulletin with id {slot.source['ref']!r}")
            if slot.zones and set(slot.zones) - set(self.s.zones):
                return ("bad_args", f"{slot.label()}: zones not wired on this unit")
        return None

    # ---- the programme -------------------------------------------------------------------------------------

    def arm_schedule(self, now: int) -> None:
        self.armed = schedule.next_start(self.slots, now, self.s.tz) if self.playout.trusted else None
        if self.armed is None:
            self.host.cancel(PREFIX + "slot")
        else:
            self.host.timer(PREFIX + "slot", self.armed[0])

    def _slot_due(self, now: int) -> None:
        if self.armed is None or not self.playout.trusted:
            return
        start, slots = self.armed
        self._fire(start, slots, now)
        self.arm_schedule(start)

    def _fire(self, start: int, slots: tuple[schedule.Slot, ...], now: int) -> None:
        self.fired = {f for f in self.fired if f[0] > now - 2 * schedule.SLOT_GRACE_S * 1000}
        for slot in slots:
            if (start, slot.index) in self.fired or (slot.duration_s and start + slot.duration_s * 1000 <= now):
                continue  # played already, or its time is over: never played at the wrong time of day
            self.fired.add((start, slot.index))
            self._enqueue(self._slot_item(slot, start), now)

    # ---- the time rule (agent.core.time_rule) --------------------------------------------------------------

    def trust(self, trusted: bool) -> None:
        """Whether the unit's time is trusted: while it is not, the programme is not armed and only emergencies
        start; the time rule calls `retime` when a trusted time is found or steps."""
        self.playout.trusted = trusted
        if not trusted:
            self.arm_schedule(0)

    def retime(self, now: int) -> None:
        """The trusted time is new, or stepped: wall-time timers again from it, `until` judged by it, slots that
        started within SLOT_GRACE_S played (to their original end), the programme armed from now."""
        for item in self.playout.items():
            if item.until_ms:
                self.host.timer(f"{PREFIX}until:{item.play_id}", item.until_ms)
            if item.not_before_ms > now:
                self.host.timer(f"{PREFIX}wake:{item.play_id}", item.not_before_ms)
        for item in [i for i in self.playout.items() if i.until_ms is not None and i.until_ms <= now]:
            self.playout.timer(now, "until", item.play_id)
        for start, slots in schedule.late_starts(self.slots, now, self.s.tz):
            self._fire(start, slots, now)
        self.arm_schedule(now)
        self.playout.advance(now)

    def _slot_item(self, slot: schedule.Slot, now: int) -> Item:
        self._seq += 1
        source = self._resolve(slot.source) if "ref" in slot.source and slot.source["ref"] in self.refs else slot.source
        until = now + slot.duration_s * 1000 if slot.duration_s else None
        return Item(play_id=f"slot-{self.programme.get('version')}-{slot.index}-{now // 1000}", jti=None,
                    level=SCHEDULED, source=source, title=slot.title or slot.label(), seq=self._seq,
                    zones=slot.zones or self.s.zones, volume_pct=self._capped(slot.volume_pct), until_ms=until,
                    extra=self._bulletin(None, slot.source))

    # ---- preparing sources ---------------------------------------------------------------------------------

    def _enqueue(self, item: Item, now: int) -> None:
        self.playout.add(item)
        if item.until_ms:
            self.host.timer(f"{PREFIX}until:{item.play_id}", item.until_ms)
        if item.not_before_ms > now:
            self.host.timer(f"{PREFIX}wake:{item.play_id}", item.not_before_ms)
        if item.is_stream:
            item.media = item.source["stream"]
        else:
            self._alert(item, now)
            self.host.emit(Prepare(item.play_id, item.source, pin=item.level == EMERGENCY))
        self.playout.advance(now)

    def _alert(self, item: Item, now: int) -> None:
        """Queue the alert's parts; the title's speech is asked for before the bulletin's download, so it never waits
        behind it (the preparer works in order)."""
        pinned = bool(self.refs.get(item.source.get("ref", ""), {}).get("pin"))
        if not alert.wanted(item, self.s.alert_tone, now, pinned):
            return
        grace = alert.grace_ms(self.s.warmup_s, not set(item.zones) <= self.playout.powered)
        tone, title = alert.parts(item, self.s.alert_tone, now + grace, self._seq + 1)
        self._seq += 2
        self.playout.add(tone)
        self.playout.add(title)
        if grace:
            self.host.timer(f"{PREFIX}wake:{tone.play_id}", tone.not_before_ms)
        speech = alert.speech(item, self.s.alert_phrase, self.s.alert_lang)
        self.host.emit(Prepare(title.play_id, speech, pin=True))  # an emergency's, like the bulletin's own

    def prepared(self, now: int, play_id: str, media: str) -> None:
        if play_id in self._stores:
            self._stored(now, self._stores.pop(play_id))
            return
        item = self.playout.find(play_id)
        if item is not None:
            item.media = media
            self.playout.advance(now)

    def prepare_failed(self, now: int, play_id: str, code: str, msg: str) -> None:
        if play_id in self._stores:
            c = self._stores.pop(play_id)
            self.host.ack(now, c.jti, c.cmd, "failed", code, msg)
            return
        item = self.playout.find(play_id)
        if item is not None:
            self.playout.end(item, now, "failed", "failed", code, msg)
            self.playout.advance(now)

    def _stored(self, now: int, c: Command) -> None:
        a = c.args
        self.refs[a["id"]] = {"url": a["url"], "sha256": a["sha256"], "title": a.get("title", ""),
                              "pin": bool(a.get("pin", False)), **({"bulletin": a["bulletin"]} if "bulletin" in a else {})}
        self.host.save("refs", self.refs)
        self.host.ack(now, c.jti, c.cmd, "finished", "ok", f"stored as {a['id']!r}")

    # ---- timers and status ---------------------------------------------------------------------------------

    def timer(self, now: int, name: str) -> None:
        kind, _, arg = name[len(PREFIX):].partition(":")
        if kind == "slot":
            self._slot_due(now)
        else:
            self.playout.timer(now, kind, arg)

    def player(self, now: int, play_id: str, kind: str, detail: str) -> None:
        self.playout.player(now, play_id, kind, detail)

    def level(self, dbfs: float | None) -> None:
        self.playout.level(dbfs)

    def status(self) -> dict[str, Any]:
        cur = self.playout.current
        return {
            "playing": None if cur is None else {"jti": cur.jti, "title": cur.title,
                                                  "priority": arbiter.LEVEL_NAMES[cur.level]},
            "queued": len(self.playout.queue), "schedule_version": self.programme.get("version"),
        }


def _matches(item: Item, args: dict[str, Any]) -> bool:
    """What a `stop` ends: everything, the bulletin of one command, or every play of one stored bulletin (a
    programme slot has no jti, so a server cancelling a stored bulletin names it by its id)."""
    if args.get("all"):
        return True
    if "ref" in args:
        return bool(item.source.get("ref") == args["ref"])
    return item.jti == args.get("jti")
